/* The interpreter's internal instruction set as X-macro tables: they generate
 * the internal opcode enum, the names, the dispatch table and (for numeric
 * instructions) the handlers themselves. Numeric and memory instructions keep
 * the name of the Wasm opcode they implement, so the compiler maps them with
 * a generated table.
 *
 * Code is a stream of 32-bit words: the opcode, then operands. Operands name
 * frame slots relative to the frame pointer (fp), branch targets are word
 * indices into the function's code. */
#ifndef KAFU_INTERP_OPS_H
#define KAFU_INTERP_OPS_H

/* Binary numeric: R[dst] := A op B.   X(NAME, operand member, result member, expression) */
#define KAFU_INTERP_BINOPS(X) \
  X(I32_EQ, u32, u32, A == B) \
  X(I32_NE, u32, u32, A != B) \
  X(I32_LT_S, i32, u32, A < B) \
  X(I32_LT_U, u32, u32, A < B) \
  X(I32_GT_S, i32, u32, A > B) \
  X(I32_GT_U, u32, u32, A > B) \
  X(I32_LE_S, i32, u32, A <= B) \
  X(I32_LE_U, u32, u32, A <= B) \
  X(I32_GE_S, i32, u32, A >= B) \
  X(I32_GE_U, u32, u32, A >= B) \
  X(I64_EQ, u64, u32, A == B) \
  X(I64_NE, u64, u32, A != B) \
  X(I64_LT_S, i64, u32, A < B) \
  X(I64_LT_U, u64, u32, A < B) \
  X(I64_GT_S, i64, u32, A > B) \
  X(I64_GT_U, u64, u32, A > B) \
  X(I64_LE_S, i64, u32, A <= B) \
  X(I64_LE_U, u64, u32, A <= B) \
  X(I64_GE_S, i64, u32, A >= B) \
  X(I64_GE_U, u64, u32, A >= B) \
  X(F32_EQ, f32, u32, A == B) \
  X(F32_NE, f32, u32, A != B) \
  X(F32_LT, f32, u32, A < B) \
  X(F32_GT, f32, u32, A > B) \
  X(F32_LE, f32, u32, A <= B) \
  X(F32_GE, f32, u32, A >= B) \
  X(F64_EQ, f64, u32, A == B) \
  X(F64_NE, f64, u32, A != B) \
  X(F64_LT, f64, u32, A < B) \
  X(F64_GT, f64, u32, A > B) \
  X(F64_LE, f64, u32, A <= B) \
  X(F64_GE, f64, u32, A >= B) \
  X(I32_ADD, u32, u32, A + B) \
  X(I32_SUB, u32, u32, A - B) \
  X(I32_MUL, u32, u32, A * B) \
  X(I32_AND, u32, u32, A & B) \
  X(I32_OR, u32, u32, A | B) \
  X(I32_XOR, u32, u32, A ^ B) \
  X(I32_SHL, u32, u32, A << (B & 31)) \
  X(I32_SHR_S, i32, i32, A >> (B & 31)) \
  X(I32_SHR_U, u32, u32, A >> (B & 31)) \
  X(I32_ROTL, u32, u32, rotl32(A, B)) \
  X(I32_ROTR, u32, u32, rotr32(A, B)) \
  X(I64_ADD, u64, u64, A + B) \
  X(I64_SUB, u64, u64, A - B) \
  X(I64_MUL, u64, u64, A * B) \
  X(I64_AND, u64, u64, A & B) \
  X(I64_OR, u64, u64, A | B) \
  X(I64_XOR, u64, u64, A ^ B) \
  X(I64_SHL, u64, u64, A << (B & 63)) \
  X(I64_SHR_S, i64, i64, A >> (B & 63)) \
  X(I64_SHR_U, u64, u64, A >> (B & 63)) \
  X(I64_ROTL, u64, u64, rotl64(A, B)) \
  X(I64_ROTR, u64, u64, rotr64(A, B)) \
  X(F32_ADD, f32, f32, A + B) \
  X(F32_SUB, f32, f32, A - B) \
  X(F32_MUL, f32, f32, A * B) \
  X(F32_DIV, f32, f32, A / B) \
  X(F32_MIN, f32, f32, fmin32(A, B)) \
  X(F32_MAX, f32, f32, fmax32(A, B)) \
  X(F32_COPYSIGN, u32, u32, (A & 0x7fffffffu) | (B & 0x80000000u)) \
  X(F64_ADD, f64, f64, A + B) \
  X(F64_SUB, f64, f64, A - B) \
  X(F64_MUL, f64, f64, A * B) \
  X(F64_DIV, f64, f64, A / B) \
  X(F64_MIN, f64, f64, fmin64(A, B)) \
  X(F64_MAX, f64, f64, fmax64(A, B)) \
  X(F64_COPYSIGN, u64, u64, (A & 0x7fffffffffffffffull) | (B & 0x8000000000000000ull))

/* Unary numeric: R[dst] := f(A).   X(NAME, operand member, result member, expression) */
#define KAFU_INTERP_UNOPS(X) \
  X(I32_EQZ, u32, u32, A == 0) \
  X(I64_EQZ, u64, u32, A == 0) \
  X(I32_CLZ, u32, u32, A ? (uint32_t)__builtin_clz(A) : 32) \
  X(I32_CTZ, u32, u32, A ? (uint32_t)__builtin_ctz(A) : 32) \
  X(I32_POPCNT, u32, u32, (uint32_t)__builtin_popcount(A)) \
  X(I64_CLZ, u64, u64, A ? (uint64_t)__builtin_clzll(A) : 64) \
  X(I64_CTZ, u64, u64, A ? (uint64_t)__builtin_ctzll(A) : 64) \
  X(I64_POPCNT, u64, u64, (uint64_t)__builtin_popcountll(A)) \
  X(F32_ABS, u32, u32, A & 0x7fffffffu) \
  X(F32_NEG, u32, u32, A ^ 0x80000000u) \
  X(F32_CEIL, f32, f32, ceilf(A)) \
  X(F32_FLOOR, f32, f32, floorf(A)) \
  X(F32_TRUNC, f32, f32, truncf(A)) \
  X(F32_NEAREST, f32, f32, nearbyintf(A)) \
  X(F32_SQRT, f32, f32, sqrtf(A)) \
  X(F64_ABS, u64, u64, A & 0x7fffffffffffffffull) \
  X(F64_NEG, u64, u64, A ^ 0x8000000000000000ull) \
  X(F64_CEIL, f64, f64, ceil(A)) \
  X(F64_FLOOR, f64, f64, floor(A)) \
  X(F64_TRUNC, f64, f64, trunc(A)) \
  X(F64_NEAREST, f64, f64, nearbyint(A)) \
  X(F64_SQRT, f64, f64, sqrt(A)) \
  X(I32_WRAP_I64, u64, u32, (uint32_t)A) \
  X(I64_EXTEND_I32_S, i32, i64, (int64_t)A) \
  X(I64_EXTEND_I32_U, u32, u64, (uint64_t)A) \
  X(F32_CONVERT_I32_S, i32, f32, (float)A) \
  X(F32_CONVERT_I32_U, u32, f32, (float)A) \
  X(F32_CONVERT_I64_S, i64, f32, (float)A) \
  X(F32_CONVERT_I64_U, u64, f32, (float)A) \
  X(F32_DEMOTE_F64, f64, f32, (float)A) \
  X(F64_CONVERT_I32_S, i32, f64, (double)A) \
  X(F64_CONVERT_I32_U, u32, f64, (double)A) \
  X(F64_CONVERT_I64_S, i64, f64, (double)A) \
  X(F64_CONVERT_I64_U, u64, f64, (double)A) \
  X(F64_PROMOTE_F32, f32, f64, (double)A) \
  X(I32_REINTERPRET_F32, u32, u32, A) \
  X(I64_REINTERPRET_F64, u64, u64, A) \
  X(F32_REINTERPRET_I32, u32, u32, A) \
  X(F64_REINTERPRET_I64, u64, u64, A) \
  X(I32_EXTEND8_S, u32, i32, (int32_t)(int8_t)A) \
  X(I32_EXTEND16_S, u32, i32, (int32_t)(int16_t)A) \
  X(I64_EXTEND8_S, u64, i64, (int64_t)(int8_t)A) \
  X(I64_EXTEND16_S, u64, i64, (int64_t)(int16_t)A) \
  X(I64_EXTEND32_S, u64, i64, (int64_t)(int32_t)A) \
  X(I32_TRUNC_SAT_F32_S, f32, i32, sat_i32_f32(A)) \
  X(I32_TRUNC_SAT_F32_U, f32, u32, sat_u32_f32(A)) \
  X(I32_TRUNC_SAT_F64_S, f64, i32, sat_i32_f64(A)) \
  X(I32_TRUNC_SAT_F64_U, f64, u32, sat_u32_f64(A)) \
  X(I64_TRUNC_SAT_F32_S, f32, i64, sat_i64_f32(A)) \
  X(I64_TRUNC_SAT_F32_U, f32, u64, sat_u64_f32(A)) \
  X(I64_TRUNC_SAT_F64_S, f64, i64, sat_i64_f64(A)) \
  X(I64_TRUNC_SAT_F64_U, f64, u64, sat_u64_f64(A))

/* Numeric instructions that can trap; handlers are written out in exec.c.
 * Binary ones take (dst, a, b), conversions (dst, a). */
#define KAFU_INTERP_TRAPBINOPS(X) \
  X(I32_DIV_S) X(I32_DIV_U) X(I32_REM_S) X(I32_REM_U) \
  X(I64_DIV_S) X(I64_DIV_U) X(I64_REM_S) X(I64_REM_U)

/* X(NAME, operand member, result member, lower bound exclusive, upper bound exclusive) */
#define KAFU_INTERP_TRUNCS(X) \
  X(I32_TRUNC_F32_S, f32, i32, -2147483904.0f, 2147483648.0f) \
  X(I32_TRUNC_F32_U, f32, u32, -1.0f, 4294967296.0f) \
  X(I32_TRUNC_F64_S, f64, i32, -2147483649.0, 2147483648.0) \
  X(I32_TRUNC_F64_U, f64, u32, -1.0, 4294967296.0) \
  X(I64_TRUNC_F32_S, f32, i64, -9223373136366403584.0f, 9223372036854775808.0f) \
  X(I64_TRUNC_F32_U, f32, u64, -1.0f, 18446744073709551616.0f) \
  X(I64_TRUNC_F64_S, f64, i64, -9223372036854777856.0, 9223372036854775808.0) \
  X(I64_TRUNC_F64_U, f64, u64, -1.0, 18446744073709551616.0)

/* Loads: R[dst] := (cast)(ctype)mem[R[addr] + off].  X(NAME, ctype, result member, cast) */
#define KAFU_INTERP_LOADS(X) \
  X(I32_LOAD, uint32_t, u32, uint32_t) \
  X(I64_LOAD, uint64_t, u64, uint64_t) \
  X(F32_LOAD, uint32_t, u32, uint32_t) \
  X(F64_LOAD, uint64_t, u64, uint64_t) \
  X(I32_LOAD8_S, int8_t, i32, int32_t) \
  X(I32_LOAD8_U, uint8_t, u32, uint32_t) \
  X(I32_LOAD16_S, int16_t, i32, int32_t) \
  X(I32_LOAD16_U, uint16_t, u32, uint32_t) \
  X(I64_LOAD8_S, int8_t, i64, int64_t) \
  X(I64_LOAD8_U, uint8_t, u64, uint64_t) \
  X(I64_LOAD16_S, int16_t, i64, int64_t) \
  X(I64_LOAD16_U, uint16_t, u64, uint64_t) \
  X(I64_LOAD32_S, int32_t, i64, int64_t) \
  X(I64_LOAD32_U, uint32_t, u64, uint64_t)

/* Stores: mem[R[addr] + off] := (ctype)R[val].  X(NAME, ctype, operand member) */
#define KAFU_INTERP_STORES(X) \
  X(I32_STORE, uint32_t, u32) \
  X(I64_STORE, uint64_t, u64) \
  X(F32_STORE, uint32_t, u32) \
  X(F64_STORE, uint64_t, u64) \
  X(I32_STORE8, uint8_t, u32) \
  X(I32_STORE16, uint16_t, u32) \
  X(I64_STORE8, uint8_t, u64) \
  X(I64_STORE16, uint16_t, u64) \
  X(I64_STORE32, uint32_t, u64)

/* Everything else, with its operand words. X(NAME, number of words incl. opcode; 0 = variable) */
#define KAFU_INTERP_MISC(X) \
  X(UNREACHABLE, 1)    /* trap */ \
  X(BR, 2)             /* pc := target */ \
  X(BR_IF, 3)          /* if R[c] pc := target */ \
  X(BR_UNLESS, 3)      /* if !R[c] pc := target */ \
  X(BR_TABLE, 0)       /* idx, n, targets[n+1] */ \
  X(RETURN, 1)         /* pop frame */ \
  X(CALL, 3)           /* func, frame offset */ \
  X(CALL_HOST, 3)      /* func, frame offset */ \
  X(CALL_INDIRECT, 5)  /* type, table, index slot, frame offset */ \
  X(MOV, 3)            /* R[dst] := R[src] */ \
  X(CONST32, 3)        /* R[dst].u32 := k */ \
  X(CONST64, 4)        /* R[dst].u64 := lo | hi << 32 */ \
  X(SELECT, 5)         /* R[dst] := R[c] ? R[a] : R[b] */ \
  X(GLOBAL_GET, 3)     /* R[dst] := G[idx] */ \
  X(GLOBAL_SET, 3)     /* G[idx] := R[src] */ \
  X(MEMORY_SIZE, 2)    /* R[dst] := pages */ \
  X(MEMORY_GROW, 3)    /* R[dst] := grow(R[n]) */ \
  X(MEMORY_INIT, 5)    /* seg, d, s, n */ \
  X(DATA_DROP, 2)      /* seg */ \
  X(MEMORY_COPY, 4)    /* d, s, n */ \
  X(MEMORY_FILL, 4)    /* d, v, n */ \
  X(REF_IS_NULL, 3)    /* R[dst] := R[a] == null */ \
  X(TABLE_GET, 4)      /* dst, table, idx */ \
  X(TABLE_SET, 4)      /* table, idx, val */ \
  X(TABLE_SIZE, 3)     /* dst, table */ \
  X(TABLE_GROW, 5)     /* dst, table, val, n */ \
  X(TABLE_FILL, 5)     /* table, i, val, n */ \
  X(TABLE_INIT, 6)     /* elem, table, d, s, n */ \
  X(TABLE_COPY, 6)     /* dst table, src table, d, s, n */ \
  X(ELEM_DROP, 2)      /* seg */ \
  X(I32_ADD_K, 4)      /* R[dst].u32 := R[a].u32 + k */ \
  X(BR_IF_I32_EQZ, 3)  /* if R[a].u32 == 0 pc := target */ \
  X(BR_UNLESS_I32_EQZ, 3) /* if R[a].u32 != 0 pc := target */

/* i32 comparisons fused with the branch consuming them: BR_IF_<NAME> jumps
 * when the comparison holds, BR_UNLESS_<NAME> when it does not (for `if`).
 * X(Wasm opcode name, operand member, C operator); operands (a, b, target). */
#define KAFU_INTERP_FUSED_CMPS(X) \
  X(I32_EQ, u32, ==) X(I32_NE, u32, !=) X(I32_LT_S, i32, <) X(I32_LT_U, u32, <) \
  X(I32_GT_S, i32, >) X(I32_GT_U, u32, >) X(I32_LE_S, i32, <=) X(I32_LE_U, u32, <=) \
  X(I32_GE_S, i32, >=) X(I32_GE_U, u32, >=) \
  X(I64_EQ, u64, ==) X(I64_NE, u64, !=) X(I64_LT_S, i64, <) X(I64_LT_U, u64, <) \
  X(I64_GT_S, i64, >) X(I64_GT_U, u64, >) X(I64_LE_S, i64, <=) X(I64_LE_U, u64, <=) \
  X(I64_GE_S, i64, >=) X(I64_GE_U, u64, >=)

typedef enum kafu_iop {
#define XB(n, ...) IOP_##n,
#define XM(n, w) IOP_##n,
#define XT(n) IOP_##n,
#define XF(n, t, o) IOP_BR_IF_##n, IOP_BR_UNLESS_##n,
  KAFU_INTERP_BINOPS(XB) KAFU_INTERP_UNOPS(XB) KAFU_INTERP_TRAPBINOPS(XT)
  KAFU_INTERP_TRUNCS(XB) KAFU_INTERP_LOADS(XB) KAFU_INTERP_STORES(XB) KAFU_INTERP_MISC(XM)
  KAFU_INTERP_FUSED_CMPS(XF)
#undef XB
#undef XM
#undef XT
#undef XF
  IOP_COUNT
} kafu_iop;

#endif
