/* The opcode facts table, generated from the X-macro list in opcodes.h. */
#include "wasm/opcodes.h"

const kafu_wasm_opinfo kafu_wasm_opinfo_table[KAFU_OP_COUNT] = {
#define X(name, pfx, code, text, imm, p1, p2, r, sz) \
  {text, pfx, code, KAFU_IMM_##imm, p1, p2, r, sz},
    KAFU_WASM_OPCODES(X)
#undef X
};
