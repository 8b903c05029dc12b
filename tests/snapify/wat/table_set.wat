;; snapify fixture: a module that writes its table (must be refused).
(module
  (table 2 funcref)
  (func $f)
  (func $_start (export "_start")
    (table.set 0 (i32.const 0) (ref.func $f)))
  (elem declare func $f))
