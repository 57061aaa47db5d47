;; Integer dot products for quantised vector search (WebAssembly SIMD, relaxed dot product).
;; Rows are int8 in [-127, 127], `stride` bytes each (a multiple of 32, zero padded). A query is
;; `stride` bytes in [0, 127] (the caller offsets its signed levels), which keeps the relaxed
;; instruction deterministic on every platform: its only implementation-defined case is a second
;; operand with the top bit set, and its i16 pair sums (at most 2 * 127 * 127) cannot saturate.
;; Built into kernels.wasm.ts by scripts/build-wasm.ts; a test checks the two agree.
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; i32 dot of one int8 row at $p with the query at $q.
  (func $dot (param $q i32) (param $p i32) (param $stride i32) (result i32)
    (local $end i32) (local $acc v128)
    (local.set $end (i32.add (local.get $p) (local.get $stride)))
    (loop $col
      (local.set $acc (i32x4.relaxed_dot_i8x16_i7x16_add_s
        (v128.load (local.get $p)) (v128.load (local.get $q)) (local.get $acc)))
      (local.set $acc (i32x4.relaxed_dot_i8x16_i7x16_add_s
        (v128.load offset=16 (local.get $p)) (v128.load offset=16 (local.get $q)) (local.get $acc)))
      (local.set $p (i32.add (local.get $p) (i32.const 32)))
      (local.set $q (i32.add (local.get $q) (i32.const 32)))
      (br_if $col (i32.lt_u (local.get $p) (local.get $end))))
    (i32.add
      (i32.add (i32x4.extract_lane 0 (local.get $acc)) (i32x4.extract_lane 1 (local.get $acc)))
      (i32.add (i32x4.extract_lane 2 (local.get $acc)) (i32x4.extract_lane 3 (local.get $acc)))))

  ;; As $dot, for rows stored as 7-bit levels offset by 64 (bytes in [1, 127]): the row's offset
  ;; is removed before the product, so either operand may be a stored row or a query.
  (func $dotU7 (param $q i32) (param $p i32) (param $stride i32) (result i32)
    (local $end i32) (local $acc v128) (local $offset v128)
    (local.set $offset (i8x16.splat (i32.const 64)))
    (local.set $end (i32.add (local.get $p) (local.get $stride)))
    (loop $col
      (local.set $acc (i32x4.relaxed_dot_i8x16_i7x16_add_s
        (i8x16.sub (v128.load (local.get $p)) (local.get $offset)) (v128.load (local.get $q)) (local.get $acc)))
      (local.set $acc (i32x4.relaxed_dot_i8x16_i7x16_add_s
        (i8x16.sub (v128.load offset=16 (local.get $p)) (local.get $offset)) (v128.load offset=16 (local.get $q)) (local.get $acc)))
      (local.set $p (i32.add (local.get $p) (i32.const 32)))
      (local.set $q (i32.add (local.get $q) (i32.const 32)))
      (br_if $col (i32.lt_u (local.get $p) (local.get $end))))
    (i32.add
      (i32.add (i32x4.extract_lane 0 (local.get $acc)) (i32x4.extract_lane 1 (local.get $acc)))
      (i32.add (i32x4.extract_lane 2 (local.get $acc)) (i32x4.extract_lane 3 (local.get $acc)))))

  ;; out[j] = dotU7(query, row ids[j]); the query may itself be a stored row.
  (func (export "dotListU7") (param $q i32) (param $rows i32) (param $stride i32) (param $ids i32) (param $n i32) (param $out i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $row
        (br_if $done (i32.ge_u (local.get $out) (local.get $end)))
        (i32.store (local.get $out)
          (call $dotU7 (local.get $q)
            (i32.add (local.get $rows) (i32.mul (i32.load (local.get $ids)) (local.get $stride)))
            (local.get $stride)))
        (local.set $ids (i32.add (local.get $ids) (i32.const 4)))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (br $row))))

  ;; out[i] = dotU7(query, row i) for the $n consecutive rows starting at $rows.
  (func (export "dotRowsU7") (param $q i32) (param $rows i32) (param $n i32) (param $stride i32) (param $out i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $row
        (br_if $done (i32.ge_u (local.get $out) (local.get $end)))
        (i32.store (local.get $out) (call $dotU7 (local.get $q) (local.get $rows) (local.get $stride)))
        (local.set $rows (i32.add (local.get $rows) (local.get $stride)))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (br $row))))

  ;; out[i] = dot(query, row i) for the $n consecutive rows starting at $rows.
  (func (export "dotRows") (param $q i32) (param $rows i32) (param $n i32) (param $stride i32) (param $out i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $row
        (br_if $done (i32.ge_u (local.get $out) (local.get $end)))
        (i32.store (local.get $out) (call $dot (local.get $q) (local.get $rows) (local.get $stride)))
        (local.set $rows (i32.add (local.get $rows) (local.get $stride)))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (br $row))))

  ;; Dots of the int8 row at $p with the 4 queries at $q, $q + stride, ... into out[0..3]: the
  ;; row is loaded once for all four.
  (func $dot4 (param $q i32) (param $p i32) (param $stride i32) (param $out i32)
    (local $end i32) (local $x v128) (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $q1 i32) (local $q2 i32) (local $q3 i32)
    (local.set $q1 (i32.add (local.get $q) (local.get $stride)))
    (local.set $q2 (i32.add (local.get $q1) (local.get $stride)))
    (local.set $q3 (i32.add (local.get $q2) (local.get $stride)))
    (local.set $end (i32.add (local.get $p) (local.get $stride)))
    (loop $col
      (local.set $x (v128.load (local.get $p)))
      (local.set $a0 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $x) (v128.load (local.get $q)) (local.get $a0)))
      (local.set $a1 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $x) (v128.load (local.get $q1)) (local.get $a1)))
      (local.set $a2 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $x) (v128.load (local.get $q2)) (local.get $a2)))
      (local.set $a3 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $x) (v128.load (local.get $q3)) (local.get $a3)))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (local.set $q (i32.add (local.get $q) (i32.const 16)))
      (local.set $q1 (i32.add (local.get $q1) (i32.const 16)))
      (local.set $q2 (i32.add (local.get $q2) (i32.const 16)))
      (local.set $q3 (i32.add (local.get $q3) (i32.const 16)))
      (br_if $col (i32.lt_u (local.get $p) (local.get $end))))
    (i32.store offset=0 (local.get $out) (call $sum4 (local.get $a0)))
    (i32.store offset=4 (local.get $out) (call $sum4 (local.get $a1)))
    (i32.store offset=8 (local.get $out) (call $sum4 (local.get $a2)))
    (i32.store offset=12 (local.get $out) (call $sum4 (local.get $a3))))

  (func $sum4 (param $v v128) (result i32)
    (i32.add
      (i32.add (i32x4.extract_lane 0 (local.get $v)) (i32x4.extract_lane 1 (local.get $v)))
      (i32.add (i32x4.extract_lane 2 (local.get $v)) (i32x4.extract_lane 3 (local.get $v)))))

  ;; out[i * nq + j] = dot(query j, row i): each row is read from memory once for $nq queries
  ;; (queries packed at $qs, stride bytes apart), four queries at a time.
  (func (export "dotRowsMulti") (param $qs i32) (param $nq i32) (param $rows i32) (param $n i32) (param $stride i32) (param $out i32)
    (local $end i32) (local $j i32) (local $q i32)
    (local.set $end (i32.add (local.get $rows) (i32.mul (local.get $n) (local.get $stride))))
    (block $done
      (loop $row
        (br_if $done (i32.ge_u (local.get $rows) (local.get $end)))
        (local.set $q (local.get $qs))
        (local.set $j (local.get $nq))
        (block $fours
          (loop $four
            (br_if $fours (i32.lt_u (local.get $j) (i32.const 4)))
            (call $dot4 (local.get $q) (local.get $rows) (local.get $stride) (local.get $out))
            (local.set $out (i32.add (local.get $out) (i32.const 16)))
            (local.set $q (i32.add (local.get $q) (i32.shl (local.get $stride) (i32.const 2))))
            (local.set $j (i32.sub (local.get $j) (i32.const 4)))
            (br $four)))
        (block $ones
          (loop $one
            (br_if $ones (i32.eqz (local.get $j)))
            (i32.store (local.get $out) (call $dot (local.get $q) (local.get $rows) (local.get $stride)))
            (local.set $out (i32.add (local.get $out) (i32.const 4)))
            (local.set $q (i32.add (local.get $q) (local.get $stride)))
            (local.set $j (i32.sub (local.get $j) (i32.const 1)))
            (br $one)))
        (local.set $rows (i32.add (local.get $rows) (local.get $stride)))
        (br $row))))
)
