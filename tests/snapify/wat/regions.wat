;; snapify fixture: an OFFLOAD function with a loop calling two call-free
;; helpers, one with a counted loop (covered by the caller's poll) and one
;; chasing pointers (polled), a DEST function reached only through the table,
;; a loop outside any region, two mutable globals and the support library's
;; state region export.
(module
  (type $ii (func (param i32) (result i32)))
  (memory (export "memory") 2)
  (table 3 funcref)
  (elem (i32.const 1) $ind_target $other)
  (global $sp (mut i32) (i32.const 1024))
  (global $g64 (mut i64) (i64.const 7))
  (global $fixed i32 (i32.const 5))
  (global $state (export "kafu_state_region") i32 (i32.const 4096))
  (func $work (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    (loop $l
      (local.set $acc (i32.add (local.get $acc) (call $helper (local.get $i))))
      (local.set $acc (i32.add (local.get $acc) (call $helper_chase (local.get $acc))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_s (local.get $i) (local.get $n))))
    (local.get $acc))
  (func $helper (param i32) (result i32)
    (local $k i32)
    (loop $m
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if $m (i32.lt_s (local.get $k) (local.get 0))))
    (local.get $k))
  (func $helper_chase (param $p i32) (result i32)
    (loop $c
      (local.set $p (i32.load (local.get $p)))
      (br_if $c (local.get $p)))
    (local.get $p))
  (func $ind_target (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
  (func $other (param i32) (result i32) (i32.add (local.get 0) (i32.const 2)))
  (func $uses_ptr (param i32) (result i32)
    (call_indirect (type $ii) (local.get 0) (i32.const 1)))
  (func $idle (param i32)
    (loop $z (br_if $z (i32.eqz (local.get 0)))))
  (func $both (param i32) (result i32) (i32.sub (local.get 0) (i32.const 1)))
  (func $_start (export "_start")
    (drop (call $work (i32.const 10)))
    (drop (call $uses_ptr (i32.const 3)))
    (call $idle (i32.const 1))
    (drop (call $both (global.get $fixed)))
    (global.set $sp (i32.const 2000))
    (global.set $g64 (i64.const 9))))
