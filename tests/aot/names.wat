;; Import and export names that need wasm2c's mangling and C escaping:
;; dots, dashes, spaces, 'Z', quotes, backslashes and non-ASCII bytes.
(module
  (import "my-mod.x" "Z_weird name" (func $weird (param i32) (result i32)))
  (import "\c3\a9t\c3\a9" "Zz" (func $accent (result i32)))
  (func (export "Z weird.ex/\c3\a9") (param i32) (result i32) local.get 0 call $weird)
  (func (export "q\22b\5cc") (result i32) call $accent)
)
