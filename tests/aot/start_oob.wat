;; A start function that reads out of bounds: instantiation traps.
(module
  (memory 1)
  (func $start i32.const 70000 i32.load drop)
  (start $start)
  (func (export "f"))
)
