;; A start function that calls a host import, which reads memory through the
;; instance while instantiation is still under way.
(module
  (import "host" "peek" (func $peek (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 8) "\2a")
  (global $seen (mut i32) (i32.const 0))
  (func $start i32.const 8 call $peek global.set $seen)
  (start $start)
  (func (export "seen") (result i32) global.get $seen)
)
