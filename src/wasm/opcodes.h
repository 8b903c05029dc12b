/* The Wasm instruction set as one X-macro table. Every user (the validator,
 * the interpreter's compiler, names for messages) expands it, so the opcode
 * enum, the names, the immediate kinds and the simple operand signatures
 * cannot drift apart.
 *
 * X(NAME, PREFIX, CODE, "text", IMM, P1, P2, R, SIZE)
 *   PREFIX: 0 for single-byte opcodes, 0xfc for the misc prefix.
 *   IMM:    immediate kind (kafu_wasm_imm without the prefix).
 *   P1,P2,R: operand and result value types for the "simple" instructions
 *           that the validator checks generically (0 = none). Instructions
 *           with special typing (control, locals, calls, ...) have all three 0
 *           and IMM says how they are handled.
 *   SIZE:   bytes accessed by memory loads/stores (natural alignment bound). */
#ifndef KAFU_WASM_OPCODES_H
#define KAFU_WASM_OPCODES_H

#include <stdint.h>

#define T_NO 0
#define T_I 0x7f
#define T_L 0x7e
#define T_F 0x7d
#define T_D 0x7c

/* clang-format off */
#define KAFU_WASM_OPCODES(X) \
  X(UNREACHABLE, 0, 0x00, "unreachable", NONE, 0, 0, 0, 0) \
  X(NOP, 0, 0x01, "nop", NONE, 0, 0, 0, 0) \
  X(BLOCK, 0, 0x02, "block", BLOCK, 0, 0, 0, 0) \
  X(LOOP, 0, 0x03, "loop", BLOCK, 0, 0, 0, 0) \
  X(IF, 0, 0x04, "if", BLOCK, 0, 0, 0, 0) \
  X(ELSE, 0, 0x05, "else", NONE, 0, 0, 0, 0) \
  X(END, 0, 0x0b, "end", NONE, 0, 0, 0, 0) \
  X(BR, 0, 0x0c, "br", LABEL, 0, 0, 0, 0) \
  X(BR_IF, 0, 0x0d, "br_if", LABEL, 0, 0, 0, 0) \
  X(BR_TABLE, 0, 0x0e, "br_table", BR_TABLE, 0, 0, 0, 0) \
  X(RETURN, 0, 0x0f, "return", NONE, 0, 0, 0, 0) \
  X(CALL, 0, 0x10, "call", FUNC, 0, 0, 0, 0) \
  X(CALL_INDIRECT, 0, 0x11, "call_indirect", CALL_INDIRECT, 0, 0, 0, 0) \
  X(DROP, 0, 0x1a, "drop", NONE, 0, 0, 0, 0) \
  X(SELECT, 0, 0x1b, "select", NONE, 0, 0, 0, 0) \
  X(SELECT_T, 0, 0x1c, "select", SELECT_T, 0, 0, 0, 0) \
  X(LOCAL_GET, 0, 0x20, "local.get", LOCAL, 0, 0, 0, 0) \
  X(LOCAL_SET, 0, 0x21, "local.set", LOCAL, 0, 0, 0, 0) \
  X(LOCAL_TEE, 0, 0x22, "local.tee", LOCAL, 0, 0, 0, 0) \
  X(GLOBAL_GET, 0, 0x23, "global.get", GLOBAL, 0, 0, 0, 0) \
  X(GLOBAL_SET, 0, 0x24, "global.set", GLOBAL, 0, 0, 0, 0) \
  X(TABLE_GET, 0, 0x25, "table.get", TABLE, 0, 0, 0, 0) \
  X(TABLE_SET, 0, 0x26, "table.set", TABLE, 0, 0, 0, 0) \
  X(I32_LOAD, 0, 0x28, "i32.load", MEM, T_I, 0, T_I, 4) \
  X(I64_LOAD, 0, 0x29, "i64.load", MEM, T_I, 0, T_L, 8) \
  X(F32_LOAD, 0, 0x2a, "f32.load", MEM, T_I, 0, T_F, 4) \
  X(F64_LOAD, 0, 0x2b, "f64.load", MEM, T_I, 0, T_D, 8) \
  X(I32_LOAD8_S, 0, 0x2c, "i32.load8_s", MEM, T_I, 0, T_I, 1) \
  X(I32_LOAD8_U, 0, 0x2d, "i32.load8_u", MEM, T_I, 0, T_I, 1) \
  X(I32_LOAD16_S, 0, 0x2e, "i32.load16_s", MEM, T_I, 0, T_I, 2) \
  X(I32_LOAD16_U, 0, 0x2f, "i32.load16_u", MEM, T_I, 0, T_I, 2) \
  X(I64_LOAD8_S, 0, 0x30, "i64.load8_s", MEM, T_I, 0, T_L, 1) \
  X(I64_LOAD8_U, 0, 0x31, "i64.load8_u", MEM, T_I, 0, T_L, 1) \
  X(I64_LOAD16_S, 0, 0x32, "i64.load16_s", MEM, T_I, 0, T_L, 2) \
  X(I64_LOAD16_U, 0, 0x33, "i64.load16_u", MEM, T_I, 0, T_L, 2) \
  X(I64_LOAD32_S, 0, 0x34, "i64.load32_s", MEM, T_I, 0, T_L, 4) \
  X(I64_LOAD32_U, 0, 0x35, "i64.load32_u", MEM, T_I, 0, T_L, 4) \
  X(I32_STORE, 0, 0x36, "i32.store", MEM, T_I, T_I, 0, 4) \
  X(I64_STORE, 0, 0x37, "i64.store", MEM, T_I, T_L, 0, 8) \
  X(F32_STORE, 0, 0x38, "f32.store", MEM, T_I, T_F, 0, 4) \
  X(F64_STORE, 0, 0x39, "f64.store", MEM, T_I, T_D, 0, 8) \
  X(I32_STORE8, 0, 0x3a, "i32.store8", MEM, T_I, T_I, 0, 1) \
  X(I32_STORE16, 0, 0x3b, "i32.store16", MEM, T_I, T_I, 0, 2) \
  X(I64_STORE8, 0, 0x3c, "i64.store8", MEM, T_I, T_L, 0, 1) \
  X(I64_STORE16, 0, 0x3d, "i64.store16", MEM, T_I, T_L, 0, 2) \
  X(I64_STORE32, 0, 0x3e, "i64.store32", MEM, T_I, T_L, 0, 4) \
  X(MEMORY_SIZE, 0, 0x3f, "memory.size", MEMIDX, 0, 0, T_I, 0) \
  X(MEMORY_GROW, 0, 0x40, "memory.grow", MEMIDX, T_I, 0, T_I, 0) \
  X(I32_CONST, 0, 0x41, "i32.const", I32, 0, 0, T_I, 0) \
  X(I64_CONST, 0, 0x42, "i64.const", I64, 0, 0, T_L, 0) \
  X(F32_CONST, 0, 0x43, "f32.const", F32, 0, 0, T_F, 0) \
  X(F64_CONST, 0, 0x44, "f64.const", F64, 0, 0, T_D, 0) \
  X(I32_EQZ, 0, 0x45, "i32.eqz", NONE, T_I, 0, T_I, 0) \
  X(I32_EQ, 0, 0x46, "i32.eq", NONE, T_I, T_I, T_I, 0) \
  X(I32_NE, 0, 0x47, "i32.ne", NONE, T_I, T_I, T_I, 0) \
  X(I32_LT_S, 0, 0x48, "i32.lt_s", NONE, T_I, T_I, T_I, 0) \
  X(I32_LT_U, 0, 0x49, "i32.lt_u", NONE, T_I, T_I, T_I, 0) \
  X(I32_GT_S, 0, 0x4a, "i32.gt_s", NONE, T_I, T_I, T_I, 0) \
  X(I32_GT_U, 0, 0x4b, "i32.gt_u", NONE, T_I, T_I, T_I, 0) \
  X(I32_LE_S, 0, 0x4c, "i32.le_s", NONE, T_I, T_I, T_I, 0) \
  X(I32_LE_U, 0, 0x4d, "i32.le_u", NONE, T_I, T_I, T_I, 0) \
  X(I32_GE_S, 0, 0x4e, "i32.ge_s", NONE, T_I, T_I, T_I, 0) \
  X(I32_GE_U, 0, 0x4f, "i32.ge_u", NONE, T_I, T_I, T_I, 0) \
  X(I64_EQZ, 0, 0x50, "i64.eqz", NONE, T_L, 0, T_I, 0) \
  X(I64_EQ, 0, 0x51, "i64.eq", NONE, T_L, T_L, T_I, 0) \
  X(I64_NE, 0, 0x52, "i64.ne", NONE, T_L, T_L, T_I, 0) \
  X(I64_LT_S, 0, 0x53, "i64.lt_s", NONE, T_L, T_L, T_I, 0) \
  X(I64_LT_U, 0, 0x54, "i64.lt_u", NONE, T_L, T_L, T_I, 0) \
  X(I64_GT_S, 0, 0x55, "i64.gt_s", NONE, T_L, T_L, T_I, 0) \
  X(I64_GT_U, 0, 0x56, "i64.gt_u", NONE, T_L, T_L, T_I, 0) \
  X(I64_LE_S, 0, 0x57, "i64.le_s", NONE, T_L, T_L, T_I, 0) \
  X(I64_LE_U, 0, 0x58, "i64.le_u", NONE, T_L, T_L, T_I, 0) \
  X(I64_GE_S, 0, 0x59, "i64.ge_s", NONE, T_L, T_L, T_I, 0) \
  X(I64_GE_U, 0, 0x5a, "i64.ge_u", NONE, T_L, T_L, T_I, 0) \
  X(F32_EQ, 0, 0x5b, "f32.eq", NONE, T_F, T_F, T_I, 0) \
  X(F32_NE, 0, 0x5c, "f32.ne", NONE, T_F, T_F, T_I, 0) \
  X(F32_LT, 0, 0x5d, "f32.lt", NONE, T_F, T_F, T_I, 0) \
  X(F32_GT, 0, 0x5e, "f32.gt", NONE, T_F, T_F, T_I, 0) \
  X(F32_LE, 0, 0x5f, "f32.le", NONE, T_F, T_F, T_I, 0) \
  X(F32_GE, 0, 0x60, "f32.ge", NONE, T_F, T_F, T_I, 0) \
  X(F64_EQ, 0, 0x61, "f64.eq", NONE, T_D, T_D, T_I, 0) \
  X(F64_NE, 0, 0x62, "f64.ne", NONE, T_D, T_D, T_I, 0) \
  X(F64_LT, 0, 0x63, "f64.lt", NONE, T_D, T_D, T_I, 0) \
  X(F64_GT, 0, 0x64, "f64.gt", NONE, T_D, T_D, T_I, 0) \
  X(F64_LE, 0, 0x65, "f64.le", NONE, T_D, T_D, T_I, 0) \
  X(F64_GE, 0, 0x66, "f64.ge", NONE, T_D, T_D, T_I, 0) \
  X(I32_CLZ, 0, 0x67, "i32.clz", NONE, T_I, 0, T_I, 0) \
  X(I32_CTZ, 0, 0x68, "i32.ctz", NONE, T_I, 0, T_I, 0) \
  X(I32_POPCNT, 0, 0x69, "i32.popcnt", NONE, T_I, 0, T_I, 0) \
  X(I32_ADD, 0, 0x6a, "i32.add", NONE, T_I, T_I, T_I, 0) \
  X(I32_SUB, 0, 0x6b, "i32.sub", NONE, T_I, T_I, T_I, 0) \
  X(I32_MUL, 0, 0x6c, "i32.mul", NONE, T_I, T_I, T_I, 0) \
  X(I32_DIV_S, 0, 0x6d, "i32.div_s", NONE, T_I, T_I, T_I, 0) \
  X(I32_DIV_U, 0, 0x6e, "i32.div_u", NONE, T_I, T_I, T_I, 0) \
  X(I32_REM_S, 0, 0x6f, "i32.rem_s", NONE, T_I, T_I, T_I, 0) \
  X(I32_REM_U, 0, 0x70, "i32.rem_u", NONE, T_I, T_I, T_I, 0) \
  X(I32_AND, 0, 0x71, "i32.and", NONE, T_I, T_I, T_I, 0) \
  X(I32_OR, 0, 0x72, "i32.or", NONE, T_I, T_I, T_I, 0) \
  X(I32_XOR, 0, 0x73, "i32.xor", NONE, T_I, T_I, T_I, 0) \
  X(I32_SHL, 0, 0x74, "i32.shl", NONE, T_I, T_I, T_I, 0) \
  X(I32_SHR_S, 0, 0x75, "i32.shr_s", NONE, T_I, T_I, T_I, 0) \
  X(I32_SHR_U, 0, 0x76, "i32.shr_u", NONE, T_I, T_I, T_I, 0) \
  X(I32_ROTL, 0, 0x77, "i32.rotl", NONE, T_I, T_I, T_I, 0) \
  X(I32_ROTR, 0, 0x78, "i32.rotr", NONE, T_I, T_I, T_I, 0) \
  X(I64_CLZ, 0, 0x79, "i64.clz", NONE, T_L, 0, T_L, 0) \
  X(I64_CTZ, 0, 0x7a, "i64.ctz", NONE, T_L, 0, T_L, 0) \
  X(I64_POPCNT, 0, 0x7b, "i64.popcnt", NONE, T_L, 0, T_L, 0) \
  X(I64_ADD, 0, 0x7c, "i64.add", NONE, T_L, T_L, T_L, 0) \
  X(I64_SUB, 0, 0x7d, "i64.sub", NONE, T_L, T_L, T_L, 0) \
  X(I64_MUL, 0, 0x7e, "i64.mul", NONE, T_L, T_L, T_L, 0) \
  X(I64_DIV_S, 0, 0x7f, "i64.div_s", NONE, T_L, T_L, T_L, 0) \
  X(I64_DIV_U, 0, 0x80, "i64.div_u", NONE, T_L, T_L, T_L, 0) \
  X(I64_REM_S, 0, 0x81, "i64.rem_s", NONE, T_L, T_L, T_L, 0) \
  X(I64_REM_U, 0, 0x82, "i64.rem_u", NONE, T_L, T_L, T_L, 0) \
  X(I64_AND, 0, 0x83, "i64.and", NONE, T_L, T_L, T_L, 0) \
  X(I64_OR, 0, 0x84, "i64.or", NONE, T_L, T_L, T_L, 0) \
  X(I64_XOR, 0, 0x85, "i64.xor", NONE, T_L, T_L, T_L, 0) \
  X(I64_SHL, 0, 0x86, "i64.shl", NONE, T_L, T_L, T_L, 0) \
  X(I64_SHR_S, 0, 0x87, "i64.shr_s", NONE, T_L, T_L, T_L, 0) \
  X(I64_SHR_U, 0, 0x88, "i64.shr_u", NONE, T_L, T_L, T_L, 0) \
  X(I64_ROTL, 0, 0x89, "i64.rotl", NONE, T_L, T_L, T_L, 0) \
  X(I64_ROTR, 0, 0x8a, "i64.rotr", NONE, T_L, T_L, T_L, 0) \
  X(F32_ABS, 0, 0x8b, "f32.abs", NONE, T_F, 0, T_F, 0) \
  X(F32_NEG, 0, 0x8c, "f32.neg", NONE, T_F, 0, T_F, 0) \
  X(F32_CEIL, 0, 0x8d, "f32.ceil", NONE, T_F, 0, T_F, 0) \
  X(F32_FLOOR, 0, 0x8e, "f32.floor", NONE, T_F, 0, T_F, 0) \
  X(F32_TRUNC, 0, 0x8f, "f32.trunc", NONE, T_F, 0, T_F, 0) \
  X(F32_NEAREST, 0, 0x90, "f32.nearest", NONE, T_F, 0, T_F, 0) \
  X(F32_SQRT, 0, 0x91, "f32.sqrt", NONE, T_F, 0, T_F, 0) \
  X(F32_ADD, 0, 0x92, "f32.add", NONE, T_F, T_F, T_F, 0) \
  X(F32_SUB, 0, 0x93, "f32.sub", NONE, T_F, T_F, T_F, 0) \
  X(F32_MUL, 0, 0x94, "f32.mul", NONE, T_F, T_F, T_F, 0) \
  X(F32_DIV, 0, 0x95, "f32.div", NONE, T_F, T_F, T_F, 0) \
  X(F32_MIN, 0, 0x96, "f32.min", NONE, T_F, T_F, T_F, 0) \
  X(F32_MAX, 0, 0x97, "f32.max", NONE, T_F, T_F, T_F, 0) \
  X(F32_COPYSIGN, 0, 0x98, "f32.copysign", NONE, T_F, T_F, T_F, 0) \
  X(F64_ABS, 0, 0x99, "f64.abs", NONE, T_D, 0, T_D, 0) \
  X(F64_NEG, 0, 0x9a, "f64.neg", NONE, T_D, 0, T_D, 0) \
  X(F64_CEIL, 0, 0x9b, "f64.ceil", NONE, T_D, 0, T_D, 0) \
  X(F64_FLOOR, 0, 0x9c, "f64.floor", NONE, T_D, 0, T_D, 0) \
  X(F64_TRUNC, 0, 0x9d, "f64.trunc", NONE, T_D, 0, T_D, 0) \
  X(F64_NEAREST, 0, 0x9e, "f64.nearest", NONE, T_D, 0, T_D, 0) \
  X(F64_SQRT, 0, 0x9f, "f64.sqrt", NONE, T_D, 0, T_D, 0) \
  X(F64_ADD, 0, 0xa0, "f64.add", NONE, T_D, T_D, T_D, 0) \
  X(F64_SUB, 0, 0xa1, "f64.sub", NONE, T_D, T_D, T_D, 0) \
  X(F64_MUL, 0, 0xa2, "f64.mul", NONE, T_D, T_D, T_D, 0) \
  X(F64_DIV, 0, 0xa3, "f64.div", NONE, T_D, T_D, T_D, 0) \
  X(F64_MIN, 0, 0xa4, "f64.min", NONE, T_D, T_D, T_D, 0) \
  X(F64_MAX, 0, 0xa5, "f64.max", NONE, T_D, T_D, T_D, 0) \
  X(F64_COPYSIGN, 0, 0xa6, "f64.copysign", NONE, T_D, T_D, T_D, 0) \
  X(I32_WRAP_I64, 0, 0xa7, "i32.wrap_i64", NONE, T_L, 0, T_I, 0) \
  X(I32_TRUNC_F32_S, 0, 0xa8, "i32.trunc_f32_s", NONE, T_F, 0, T_I, 0) \
  X(I32_TRUNC_F32_U, 0, 0xa9, "i32.trunc_f32_u", NONE, T_F, 0, T_I, 0) \
  X(I32_TRUNC_F64_S, 0, 0xaa, "i32.trunc_f64_s", NONE, T_D, 0, T_I, 0) \
  X(I32_TRUNC_F64_U, 0, 0xab, "i32.trunc_f64_u", NONE, T_D, 0, T_I, 0) \
  X(I64_EXTEND_I32_S, 0, 0xac, "i64.extend_i32_s", NONE, T_I, 0, T_L, 0) \
  X(I64_EXTEND_I32_U, 0, 0xad, "i64.extend_i32_u", NONE, T_I, 0, T_L, 0) \
  X(I64_TRUNC_F32_S, 0, 0xae, "i64.trunc_f32_s", NONE, T_F, 0, T_L, 0) \
  X(I64_TRUNC_F32_U, 0, 0xaf, "i64.trunc_f32_u", NONE, T_F, 0, T_L, 0) \
  X(I64_TRUNC_F64_S, 0, 0xb0, "i64.trunc_f64_s", NONE, T_D, 0, T_L, 0) \
  X(I64_TRUNC_F64_U, 0, 0xb1, "i64.trunc_f64_u", NONE, T_D, 0, T_L, 0) \
  X(F32_CONVERT_I32_S, 0, 0xb2, "f32.convert_i32_s", NONE, T_I, 0, T_F, 0) \
  X(F32_CONVERT_I32_U, 0, 0xb3, "f32.convert_i32_u", NONE, T_I, 0, T_F, 0) \
  X(F32_CONVERT_I64_S, 0, 0xb4, "f32.convert_i64_s", NONE, T_L, 0, T_F, 0) \
  X(F32_CONVERT_I64_U, 0, 0xb5, "f32.convert_i64_u", NONE, T_L, 0, T_F, 0) \
  X(F32_DEMOTE_F64, 0, 0xb6, "f32.demote_f64", NONE, T_D, 0, T_F, 0) \
  X(F64_CONVERT_I32_S, 0, 0xb7, "f64.convert_i32_s", NONE, T_I, 0, T_D, 0) \
  X(F64_CONVERT_I32_U, 0, 0xb8, "f64.convert_i32_u", NONE, T_I, 0, T_D, 0) \
  X(F64_CONVERT_I64_S, 0, 0xb9, "f64.convert_i64_s", NONE, T_L, 0, T_D, 0) \
  X(F64_CONVERT_I64_U, 0, 0xba, "f64.convert_i64_u", NONE, T_L, 0, T_D, 0) \
  X(F64_PROMOTE_F32, 0, 0xbb, "f64.promote_f32", NONE, T_F, 0, T_D, 0) \
  X(I32_REINTERPRET_F32, 0, 0xbc, "i32.reinterpret_f32", NONE, T_F, 0, T_I, 0) \
  X(I64_REINTERPRET_F64, 0, 0xbd, "i64.reinterpret_f64", NONE, T_D, 0, T_L, 0) \
  X(F32_REINTERPRET_I32, 0, 0xbe, "f32.reinterpret_i32", NONE, T_I, 0, T_F, 0) \
  X(F64_REINTERPRET_I64, 0, 0xbf, "f64.reinterpret_i64", NONE, T_L, 0, T_D, 0) \
  X(I32_EXTEND8_S, 0, 0xc0, "i32.extend8_s", NONE, T_I, 0, T_I, 0) \
  X(I32_EXTEND16_S, 0, 0xc1, "i32.extend16_s", NONE, T_I, 0, T_I, 0) \
  X(I64_EXTEND8_S, 0, 0xc2, "i64.extend8_s", NONE, T_L, 0, T_L, 0) \
  X(I64_EXTEND16_S, 0, 0xc3, "i64.extend16_s", NONE, T_L, 0, T_L, 0) \
  X(I64_EXTEND32_S, 0, 0xc4, "i64.extend32_s", NONE, T_L, 0, T_L, 0) \
  X(REF_NULL, 0, 0xd0, "ref.null", REFTYPE, 0, 0, 0, 0) \
  X(REF_IS_NULL, 0, 0xd1, "ref.is_null", NONE, 0, 0, 0, 0) \
  X(REF_FUNC, 0, 0xd2, "ref.func", FUNC, 0, 0, 0, 0) \
  X(I32_TRUNC_SAT_F32_S, 0xfc, 0, "i32.trunc_sat_f32_s", NONE, T_F, 0, T_I, 0) \
  X(I32_TRUNC_SAT_F32_U, 0xfc, 1, "i32.trunc_sat_f32_u", NONE, T_F, 0, T_I, 0) \
  X(I32_TRUNC_SAT_F64_S, 0xfc, 2, "i32.trunc_sat_f64_s", NONE, T_D, 0, T_I, 0) \
  X(I32_TRUNC_SAT_F64_U, 0xfc, 3, "i32.trunc_sat_f64_u", NONE, T_D, 0, T_I, 0) \
  X(I64_TRUNC_SAT_F32_S, 0xfc, 4, "i64.trunc_sat_f32_s", NONE, T_F, 0, T_L, 0) \
  X(I64_TRUNC_SAT_F32_U, 0xfc, 5, "i64.trunc_sat_f32_u", NONE, T_F, 0, T_L, 0) \
  X(I64_TRUNC_SAT_F64_S, 0xfc, 6, "i64.trunc_sat_f64_s", NONE, T_D, 0, T_L, 0) \
  X(I64_TRUNC_SAT_F64_U, 0xfc, 7, "i64.trunc_sat_f64_u", NONE, T_D, 0, T_L, 0) \
  X(MEMORY_INIT, 0xfc, 8, "memory.init", MEMORY_INIT, 0, 0, 0, 0) \
  X(DATA_DROP, 0xfc, 9, "data.drop", DATA, 0, 0, 0, 0) \
  X(MEMORY_COPY, 0xfc, 10, "memory.copy", MEMORY_COPY, 0, 0, 0, 0) \
  X(MEMORY_FILL, 0xfc, 11, "memory.fill", MEMIDX, 0, 0, 0, 0) \
  X(TABLE_INIT, 0xfc, 12, "table.init", TABLE_INIT, 0, 0, 0, 0) \
  X(ELEM_DROP, 0xfc, 13, "elem.drop", ELEM, 0, 0, 0, 0) \
  X(TABLE_COPY, 0xfc, 14, "table.copy", TABLE_COPY, 0, 0, 0, 0) \
  X(TABLE_GROW, 0xfc, 15, "table.grow", TABLE, 0, 0, 0, 0) \
  X(TABLE_SIZE, 0xfc, 16, "table.size", TABLE, 0, 0, 0, 0) \
  X(TABLE_FILL, 0xfc, 17, "table.fill", TABLE, 0, 0, 0, 0)
/* clang-format on */

typedef enum kafu_wasm_op {
#define X(name, pfx, code, text, imm, p1, p2, r, sz) KAFU_OP_##name,
  KAFU_WASM_OPCODES(X)
#undef X
  KAFU_OP_COUNT
} kafu_wasm_op;

typedef enum kafu_wasm_imm {
  KAFU_IMM_NONE,
  KAFU_IMM_BLOCK,         /* block type */
  KAFU_IMM_LABEL,         /* label depth */
  KAFU_IMM_BR_TABLE,      /* vec(label) default */
  KAFU_IMM_FUNC,          /* function index */
  KAFU_IMM_CALL_INDIRECT, /* type index, table index */
  KAFU_IMM_SELECT_T,      /* vec(valtype), length 1 */
  KAFU_IMM_LOCAL,
  KAFU_IMM_GLOBAL,
  KAFU_IMM_TABLE,
  KAFU_IMM_MEM,           /* align, offset */
  KAFU_IMM_MEMIDX,        /* reserved memory index byte */
  KAFU_IMM_I32,
  KAFU_IMM_I64,
  KAFU_IMM_F32,
  KAFU_IMM_F64,
  KAFU_IMM_REFTYPE,
  KAFU_IMM_MEMORY_INIT, /* data index, memory index byte */
  KAFU_IMM_DATA,
  KAFU_IMM_MEMORY_COPY, /* two memory index bytes */
  KAFU_IMM_TABLE_INIT,  /* elem index, table index */
  KAFU_IMM_ELEM,
  KAFU_IMM_TABLE_COPY,  /* dst table, src table */
} kafu_wasm_imm;

/* Static facts about each opcode, indexed by kafu_wasm_op. */
typedef struct kafu_wasm_opinfo {
  const char *name;
  uint8_t prefix, code, imm;
  uint8_t p1, p2, r; /* simple signature, see above */
  uint8_t size;      /* memory access bytes */
} kafu_wasm_opinfo;

extern const kafu_wasm_opinfo kafu_wasm_opinfo_table[KAFU_OP_COUNT];

#endif
