/* The Wasm binary decoder shared by the engines: a module's structure
 * (types, imports, functions, tables, memories, globals, exports, elements,
 * data, custom sections) with function bodies kept as byte ranges into the
 * input. Validation of code lives in validate.h. */
#ifndef KAFU_WASM_MODULE_H
#define KAFU_WASM_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef uint8_t kafu_wasm_valtype; /* 0x7f i32, 0x7e i64, 0x7d f32, 0x7c f64, 0x70 funcref, 0x6f externref */

typedef struct kafu_wasm_functype {
  uint32_t n_params, n_results;
  kafu_wasm_valtype *params, *results; /* owned by the module */
} kafu_wasm_functype;

typedef enum { KAFU_EXT_FUNC = 0, KAFU_EXT_TABLE = 1, KAFU_EXT_MEMORY = 2, KAFU_EXT_GLOBAL = 3 } kafu_wasm_extkind;

typedef struct kafu_wasm_limits {
  uint64_t min, max;
  bool has_max;
} kafu_wasm_limits;

typedef struct kafu_wasm_import {
  char *module, *name; /* owned, NUL-terminated */
  kafu_wasm_extkind kind;
  uint32_t type_index;      /* FUNC */
  kafu_wasm_valtype elem;   /* TABLE */
  kafu_wasm_limits limits;  /* TABLE, MEMORY */
  kafu_wasm_valtype gtype;  /* GLOBAL */
  bool gmutable;            /* GLOBAL */
} kafu_wasm_import;

typedef struct kafu_wasm_export {
  char *name; /* owned */
  kafu_wasm_extkind kind;
  uint32_t index;
} kafu_wasm_export;

typedef struct kafu_wasm_custom {
  char *name;              /* owned */
  const uint8_t *payload;  /* borrowed from the input bytes */
  size_t len;
} kafu_wasm_custom;

typedef struct kafu_wasm_module {
  uint32_t n_types;
  kafu_wasm_functype *types;
  uint32_t n_imports;
  kafu_wasm_import *imports;
  uint32_t n_func_imports, n_funcs; /* n_funcs counts imported + defined */
  uint32_t *func_types;              /* type index per function (imports first) */
  uint32_t n_exports;
  kafu_wasm_export *exports;
  uint32_t n_customs;
  kafu_wasm_custom *customs;
  /* Engines that need more (tables, globals, code, data) extend this struct
   * in module.c; see the fields below. */
  struct kafu_wasm_module_ext *ext;
} kafu_wasm_module;

/* ---- Extended structure (tables, memories, globals, segments, code) ---- */

/* A constant expression as allowed in globals and segment offsets: one
 * instruction followed by `end`. */
typedef enum {
  KAFU_CONST_I32 = 0x41,
  KAFU_CONST_I64 = 0x42,
  KAFU_CONST_F32 = 0x43,
  KAFU_CONST_F64 = 0x44,
  KAFU_CONST_GLOBAL = 0x23,   /* global.get index */
  KAFU_CONST_REF_NULL = 0xd0, /* value = the ref type */
  KAFU_CONST_REF_FUNC = 0xd2, /* ref.func index */
} kafu_wasm_const_op;

typedef struct kafu_wasm_constexpr {
  uint8_t op;     /* kafu_wasm_const_op */
  uint64_t value; /* constant bits, or the global/function index, or the ref type */
  size_t offset;  /* file offset of the expression, for messages */
} kafu_wasm_constexpr;

typedef struct kafu_wasm_table {
  kafu_wasm_valtype elem;
  kafu_wasm_limits limits;
  bool imported;
} kafu_wasm_table;

typedef struct kafu_wasm_memory {
  kafu_wasm_limits limits; /* in 64 KiB pages */
  bool imported;
} kafu_wasm_memory;

typedef struct kafu_wasm_global {
  kafu_wasm_valtype type;
  bool is_mutable;
  bool imported;
  kafu_wasm_constexpr init; /* defined globals only */
} kafu_wasm_global;

typedef enum { KAFU_SEG_ACTIVE, KAFU_SEG_PASSIVE, KAFU_SEG_DECLARATIVE } kafu_wasm_segmode;

typedef struct kafu_wasm_elem {
  kafu_wasm_segmode mode;
  uint32_t table;             /* active only */
  kafu_wasm_constexpr offset; /* active only */
  kafu_wasm_valtype type;     /* funcref or externref */
  uint32_t n_items;
  kafu_wasm_constexpr *items; /* owned; ref.func / ref.null / global.get */
} kafu_wasm_elem;

typedef struct kafu_wasm_data {
  kafu_wasm_segmode mode; /* ACTIVE or PASSIVE */
  uint32_t memory;
  kafu_wasm_constexpr offset;
  const uint8_t *bytes; /* borrowed from the input */
  uint32_t len;
} kafu_wasm_data;

/* A defined function's body. Locals exclude parameters. */
typedef struct kafu_wasm_body {
  uint32_t n_locals;
  kafu_wasm_valtype *locals; /* owned, one per local */
  const uint8_t *code;       /* borrowed: the instruction bytes up to and including the final end */
  size_t code_len;
  size_t code_offset;        /* file offset of code[0] */
} kafu_wasm_body;

struct kafu_wasm_module_ext {
  uint32_t n_tables;
  kafu_wasm_table *tables; /* imported first */
  uint32_t n_memories;
  kafu_wasm_memory *memories; /* imported first */
  uint32_t n_globals, n_global_imports;
  kafu_wasm_global *globals; /* imported first */
  uint32_t n_elems;
  kafu_wasm_elem *elems;
  uint32_t n_datas;
  kafu_wasm_data *datas;
  bool has_data_count;
  uint32_t data_count;
  bool has_start;
  uint32_t start;
  uint32_t n_bodies; /* == n_funcs - n_func_imports */
  kafu_wasm_body *bodies;
  char **func_names; /* owned; n_funcs entries, NULL where the name section has none */
  char *label;       /* owned copy of the label given to kafu_wasm_decode */
  const uint8_t *bytes;
  size_t len;
};

/* Decodes the module structure of `bytes` (borrowed; must outlive the module
 * because bodies and custom payloads point into it). `label` names the input
 * in messages, e.g. "app.wasm: section 10 (code) truncated at offset 0x3a1".
 * Errors: KAFU_E_INPUT. */
kafu_err kafu_wasm_decode(const uint8_t *bytes, size_t len, const char *label,
                          kafu_wasm_module **out, kafu_error *err);
void kafu_wasm_module_free(kafu_wasm_module *m);

/* Lookups; NULL when absent. */
const kafu_wasm_export *kafu_wasm_find_export(const kafu_wasm_module *m, const char *name,
                                              kafu_wasm_extkind kind);
const kafu_wasm_custom *kafu_wasm_find_custom(const kafu_wasm_module *m, const char *name);

/* The function's name from the name section, or NULL. */
const char *kafu_wasm_func_name(const kafu_wasm_module *m, uint32_t func_index);

#endif
