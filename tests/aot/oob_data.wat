;; A data segment past the end of memory: instantiation must trap cleanly.
(module
  (memory (export "memory") 1)
  (data (i32.const 65535) "ab")
  (func (export "f"))
)
