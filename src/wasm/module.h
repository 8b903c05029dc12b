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

#endif
