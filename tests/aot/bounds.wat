;; Bounds checks by guard pages: an unexported memory, accesses far past the
;; end (offset near 4 GiB), and the edge moving with memory.grow.
(module
  (memory 1 3)
  (func (export "load_far") (param i32) (result i32) local.get 0 i32.load offset=0xfffffff0)
  (func (export "load8") (param i32) (result i32) local.get 0 i32.load8_u)
  (func (export "load64") (param i32) (result i64) local.get 0 i64.load)
  (func (export "store8") (param i32 i32) local.get 0 local.get 1 i32.store8)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
)
