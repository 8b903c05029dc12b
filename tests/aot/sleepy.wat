;; Asyncify target for the AOT engine test: run(n) sums i*i for i < n and
;; calls host.sleep(i) on every step; the host unwinds and rewinds the stack
;; from inside that import (after: wasm-opt --asyncify).
(module
  (import "host" "sleep" (func $sleep (param i32)))
  (memory (export "memory") 1)
  (func (export "run") (param $n i32) (result i32)
    (local $i i32) (local $sum i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $sum (i32.add (local.get $sum) (i32.mul (local.get $i) (local.get $i))))
        (call $sleep (local.get $i))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $sum))
)
