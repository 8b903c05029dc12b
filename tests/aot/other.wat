;; A second module with an export of the same name as basic.wat's, to check
;; that two compiled modules coexist in one process.
(module
  (memory (export "memory") 1)
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.sub)
  (func (export "crash") unreachable)
)
