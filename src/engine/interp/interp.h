/* Private declarations of the interpreter engine: compiled functions, module,
 * instance, the allocation hook and the entry points shared by its files. */
#ifndef KAFU_INTERP_INTERP_H
#define KAFU_INTERP_INTERP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "engine/interp/ops.h"
#include "wasm/module.h"

/* One value slot. i32 values live in the low half; the high half of an i32
 * slot is unspecified. References: 0 = null, funcref f = f + 1. */
typedef union islot {
  uint32_t u32;
  int32_t i32;
  uint64_t u64;
  int64_t i64;
  float f32;
  double f64;
} islot;

/* A compiled function (or an imported one: code == NULL). */
typedef struct ifunc {
  uint32_t type_index, canon_type; /* canon_type: structural type id for call_indirect */
  uint32_t n_params, n_results;
  uint32_t n_locals;   /* declared locals, without params */
  uint32_t frame_size; /* slots: params + locals + operand stack + spill */
  uint32_t *code;      /* owned */
  uint32_t code_len;
  uint32_t *pcmap; /* owned: pairs (code word index, file offset), ascending */
  uint32_t n_pcmap;
  uint32_t import_index; /* imports only: index into the module's imports */
  uint32_t n_consts;     /* constant operands, copied to fp[n_params + n_locals ..] on entry */
  uint64_t *consts;      /* owned */
} ifunc;

struct kafu_engine_module {
  kafu_wasm_module *wm;
  uint8_t *bytes; /* owned copy; wm points into it */
  size_t len;
  ifunc *funcs;   /* n_funcs */
  uint32_t *canon; /* per type index: canonical structural id */
};

typedef struct itable {
  uint64_t *elems;
  uint32_t size, max;
} itable;

typedef struct iframe {
  const uint32_t *ret_pc;
  islot *fp;
  const ifunc *fn;
} iframe;

typedef struct interp_instance {
  kafu_engine_instance hdr; /* must be first */
  kafu_engine_module *mod;
  uint8_t *mem;
  uint64_t mem_size; /* bytes */
  uint32_t mem_pages, mem_max_pages;
  bool has_mem;
  islot *globals;
  itable *tables;
  const kafu_host_import **hosts; /* per function import */
  bool *data_dropped, *elem_dropped;
  islot *stack, *stack_end; /* value stack [stack, stack_end) */
  islot *stack_top;         /* first free slot for a (re-entrant) call */
  iframe *frames;
  uint32_t max_depth, depth;
  uint32_t nesting; /* active kafu_interp_exec calls (host -> wasm re-entry depth) */
  size_t stack_bytes, frames_bytes;
} interp_instance;

/* The allocation hook (Lua frealloc style): new_size 0 frees. */
typedef void *(*kafu_interp_alloc_fn)(void *ud, void *ptr, size_t old_size, size_t new_size);
/* Replaces the allocator used by the interpreter (NULL restores the default).
 * Tests use it to inject failures. */
void kafu_interp_set_allocator(kafu_interp_alloc_fn fn, void *ud);
void *kafu_interp_realloc(void *ptr, size_t old_size, size_t new_size);
#define IALLOC(n) kafu_interp_realloc(NULL, 0, (n))
#define IFREE(p, n) ((void)kafu_interp_realloc((p), (n), 0))

/* Constant-pool slots reserved in every frame after the locals. */
#define KAFU_INTERP_KPOOL 16

/* compile.c: validates the module and compiles every defined function. */
kafu_err kafu_interp_compile(kafu_engine_module *mod, kafu_error *err);
void kafu_interp_free_code(kafu_engine_module *mod);

/* exec.c: runs function `fi` with its frame at fp (args already in place);
 * results are left at fp[0..n_results). */
kafu_err kafu_interp_exec(interp_instance *inst, uint32_t fi, islot *fp, kafu_error *err);

/* instance.c */
kafu_err kafu_interp_instantiate(kafu_engine_module *mod, const kafu_host_import *imports,
                                 size_t n_imports, kafu_engine_instance **out, kafu_error *err);
void kafu_interp_instance_free(kafu_engine_instance *inst);
/* memory.grow semantics: returns the old page count or -1. */
int64_t kafu_interp_grow(interp_instance *inst, uint32_t delta);
int64_t kafu_interp_table_grow(interp_instance *inst, uint32_t t, uint32_t delta, uint64_t init);

/* "function 12 (compute)" into buf. */
void kafu_interp_func_label(const kafu_engine_module *mod, uint32_t fi, char *buf, size_t cap);

#endif
