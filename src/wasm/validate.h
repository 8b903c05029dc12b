/* Validation of a decoded module: module-level rules and full typing of every
 * function body (operand and control stacks). A visitor can watch each
 * instruction as it is validated, so an engine compiles in the same pass. */
#ifndef KAFU_WASM_VALIDATE_H
#define KAFU_WASM_VALIDATE_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"
#include "wasm/module.h"
#include "wasm/opcodes.h"

/* One decoded instruction, valid only during the visitor callback. */
typedef struct kafu_wasm_instr {
  kafu_wasm_op op;
  size_t offset; /* file offset of the opcode byte */
  uint32_t a, b; /* indices: label, func, local, global, table, type, data, elem;
                    MEM: a = align exponent, b = offset; TABLE_COPY: a = dst, b = src;
                    TABLE_INIT: a = elem, b = table; CALL_INDIRECT: a = type, b = table */
  uint64_t bits; /* constant bits (I32/I64/F32/F64 const), REF_NULL: the type */
  /* BLOCK / LOOP / IF: the block type. */
  uint32_t bt_params, bt_results;
  /* BR_TABLE: n_targets labels, then the default at targets[n_targets]. */
  uint32_t n_targets;
  const uint32_t *targets;
} kafu_wasm_instr;

/* Optional observer of validation. `height` is the operand stack height
 * (values, counted from the function's start) before the instruction, and
 * `unreachable` says the instruction is dead code (its height is then not
 * meaningful). A callback returning non-zero stops validation with that code;
 * it must have filled the kafu_error it was given via its own means. */
typedef struct kafu_wasm_visitor {
  void *ud;
  kafu_err (*func_begin)(void *ud, uint32_t func_index);
  kafu_err (*instr)(void *ud, const kafu_wasm_instr *in, uint32_t height, bool unreachable);
  kafu_err (*func_end)(void *ud, uint32_t func_index);
} kafu_wasm_visitor;

/* Validates m (module rules, then every body in order). `visitor` may be NULL.
 * Errors: KAFU_E_INPUT with "label: function N: type mismatch in i32.add at
 * offset 0x3a1"-style messages; KAFU_E_NOMEM; or whatever a visitor returns. */
kafu_err kafu_wasm_validate(const kafu_wasm_module *m, const kafu_wasm_visitor *visitor,
                            kafu_error *err);

/* The text name of an opcode ("i32.add"). */
const char *kafu_wasm_op_name(kafu_wasm_op op);

#endif
