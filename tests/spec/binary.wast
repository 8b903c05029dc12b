;; The binary decoder and module-level validation: malformed encodings and
;; invalid modules are refused (never crash), well-formed edge cases load.
(module binary "\00asm" "\01\00\00\00")
(module binary
  "\00asm" "\01\00\00\00"
  "\00\05\04name" ;; empty custom section named "name" (ignored)
  "\01\04\01\60\00\00" ;; type section: [] -> []
  "\00\04\03abc" ;; custom sections may appear between others
  "\03\02\01\00" ;; function section
  "\0a\04\01\02\00\0b" ;; code section
)
(assert_malformed (module binary "\00asm") "unexpected end")
(assert_malformed (module binary "\00asn\01\00\00\00") "magic header not detected")
(assert_malformed (module binary "\00asm\01\00\00\01") "unknown binary version")
(assert_malformed (module binary "\00asm\01\00\00\00\0d\00") "malformed section id")
(assert_malformed (module binary "\00asm\01\00\00\00\01\05\01\60\00\00") "section size mismatch")
(assert_malformed (module binary "\00asm\01\00\00\00\01\04\01\61\00\00") "malformed function type form")
(assert_malformed (module binary "\00asm\01\00\00\00\01\04\01\60\01\40") "malformed value type")
;; sections out of order: function (3) before type (1)
(assert_malformed (module binary "\00asm\01\00\00\00\03\01\00\01\01\00") "unexpected content after last section")
;; duplicate section
(assert_malformed (module binary "\00asm\01\00\00\00\01\01\00\01\01\00") "unexpected content after last section")
;; function section without code section
(assert_malformed (module binary "\00asm\01\00\00\00\01\04\01\60\00\00\03\02\01\00") "function and code section have inconsistent lengths")
;; LEB128 count using too many bytes
(assert_malformed (module binary "\00asm\01\00\00\00\01\08\80\80\80\80\80\00\60\00") "integer representation too long")
;; body without final end
(assert_malformed (module binary "\00asm\01\00\00\00\01\04\01\60\00\00\03\02\01\00\0a\04\01\02\00\01") "section size mismatch")
;; data count disagrees with the data section
(assert_malformed (module binary "\00asm\01\00\00\00\05\03\01\00\01\0c\01\02\0b\01\00") "data count and data section have inconsistent lengths")
;; invalid UTF-8 in an import name
(assert_malformed (module binary "\00asm\01\00\00\00\01\04\01\60\00\00\02\07\01\01\ff\01\66\00\00") "malformed UTF-8 encoding")
;; illegal opcode
(assert_malformed (module binary "\00asm\01\00\00\00\01\04\01\60\00\00\03\02\01\00\0a\05\01\03\00\ff\0b") "illegal opcode")
;; memory.grow reserved byte must be zero
(assert_malformed (module binary "\00asm\01\00\00\00\01\05\01\60\00\01\7f\03\02\01\00\05\03\01\00\01\0a\08\01\06\00\41\00\40\01\0b") "zero byte expected")
(assert_invalid (module (func $f (param i32)) (start $f)) "start function")
(assert_invalid (module (memory 1) (memory 1)) "multiple memories")
(assert_invalid (module (func (export "a")) (func (export "a"))) "duplicate export name")
(assert_invalid (module (export "m" (memory 0))) "unknown memory")
(assert_invalid (module (table 2 1 funcref)) "size minimum must not be greater than maximum")
(assert_invalid (module (global i32 (i64.const 0))) "type mismatch")
(assert_invalid (module (memory 1) (data (i64.const 0) "a")) "type mismatch")
(assert_invalid (module (func (data.drop 0))) "data count section required")
(assert_invalid (module (func (result i32) (local.get 1))) "unknown local")
(assert_invalid (module (func (i32.add (i32.const 1)) (drop))) "type mismatch")
(assert_invalid (module (func (result i32) (unreachable) (i64.const 1))) "type mismatch")
;; block type naming type index 5 of 1
(assert_invalid (module binary "\00asm\01\00\00\00\01\04\01\60\00\00\03\02\01\00\0a\07\01\05\00\02\05\0b\0b") "unknown type")
