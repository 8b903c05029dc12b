;; snapify fixture: which loops of a MAY_OFFLOAD function get polls. Only
;; $inner and $to_zero (nested, call-free, counted towards an invariant bound,
;; 0 for $to_zero) go without.
(module
  (memory (export "memory") 1)
  (func $kernel (param $n i32) (result i32)
    (local $i i32) (local $j i32) (local $acc i32) (local $p i32) (local $m i32) (local $k i32)
    (loop $outer
      (local.set $j (i32.const 0))
      (loop $inner
        (local.set $acc (i32.add (local.get $acc) (local.get $j)))
        (br_if $inner (i32.ne (local.tee $j (i32.add (local.get $j) (i32.const 1)))
                              (local.get $n))))
      (local.set $k (i32.sub (i32.const 0) (local.get $n)))
      (loop $to_zero
        (local.set $acc (i32.xor (local.get $acc) (local.get $k)))
        (br_if $to_zero (local.tee $k (i32.add (local.get $k) (i32.const 1)))))
      (local.set $p (local.get $i))
      (loop $chase
        (local.set $p (i32.load (local.get $p)))
        (br_if $chase (local.get $p)))
      (local.set $j (i32.const 0))
      (local.set $m (local.get $n))
      (loop $moving_bound
        (local.set $m (i32.sub (local.get $m) (i32.const 1)))
        (br_if $moving_bound (i32.lt_s (local.tee $j (i32.add (local.get $j) (i32.const 1)))
                                       (local.get $m))))
      (local.set $j (i32.const 0))
      (loop $with_call
        (local.set $acc (call $leaf (local.get $acc)))
        (br_if $with_call (i32.lt_s (local.tee $j (i32.add (local.get $j) (i32.const 1)))
                                    (local.get $n))))
      (br_if $outer (i32.lt_s (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                              (local.get $n))))
    (local.get $acc))
  (func $leaf (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  (func $_start (export "_start") (drop (call $kernel (i32.const 3)))))
