;; snapify fixture: a reactor-style module without _start (must be refused).
(module
  (memory (export "memory") 1)
  (func $f (export "f") (result i32) (i32.const 1)))
