/* The engine interface: anything that can load a Wasm module, instantiate it
 * with host imports, call exports and expose its memory. Engines know nothing
 * about migration; the runtime builds migration on top of exactly these ops. */
#ifndef KAFU_ENGINE_H
#define KAFU_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef struct kafu_engine_module kafu_engine_module; /* opaque, engine-owned */
typedef struct kafu_engine_ops kafu_engine_ops;

/* Every engine's instance struct starts with this header, so that host
 * functions (WASI, kafu.*) can reach memory and exports without knowing the
 * engine: see kafu_instance_memory() and friends below. */
typedef struct kafu_engine_instance {
  const kafu_engine_ops *ops;
} kafu_engine_instance;

/* Value types as in the binary format (only the numeric ones cross the host
 * boundary in Kafu). */
typedef enum kafu_valtype {
  KAFU_I32 = 0x7f,
  KAFU_I64 = 0x7e,
  KAFU_F32 = 0x7d,
  KAFU_F64 = 0x7c,
} kafu_valtype;

/* All values cross the boundary as raw 64-bit slots: an i32 lives in the low
 * 32 bits (zero-extended), floats are bit-cast. */
typedef uint64_t kafu_slot;

#define KAFU_HOST_MAX_PARAMS 16
#define KAFU_HOST_MAX_RESULTS 4

/* A host function. Returns 0 to continue the Wasm program normally. Any
 * non-zero return aborts the current kafu_engine_call, which then returns
 * KAFU_E_TRAP with err->msg taken from host_msg if set; the host keeps its own
 * record of why (e.g. proc_exit stores the exit code in its context).
 * `inst` is the calling instance: use it for memory access. */
typedef int (*kafu_host_fn)(void *env, kafu_engine_instance *inst, const kafu_slot *args,
                            kafu_slot *results);

typedef struct kafu_host_import {
  const char *module; /* e.g. "wasi_snapshot_preview1", "kafu" */
  const char *name;
  uint8_t n_params, n_results;
  kafu_valtype params[KAFU_HOST_MAX_PARAMS];
  kafu_valtype results[KAFU_HOST_MAX_RESULTS];
  kafu_host_fn fn;
  void *env; /* borrowed; passed back to fn */
} kafu_host_import;

/* Engine operations. Every engine provides one static table of these. */
struct kafu_engine_ops {
  const char *name; /* "interp" or "aot" */

  /* Decodes/validates/compiles `bytes` (borrowed; the engine copies what it
   * keeps). `label` names the input in messages (usually the file path).
   * Errors: KAFU_E_INPUT for a malformed or invalid module, naming section,
   * function and offset where known; KAFU_E_IO / KAFU_E_UNSUPPORTED otherwise. */
  kafu_err (*load)(const uint8_t *bytes, size_t len, const char *label,
                   kafu_engine_module **out, kafu_error *err);
  void (*module_free)(kafu_engine_module *mod);

  /* Creates an instance: resolves every import against `imports` (borrowed
   * array; it must outlive the instance) by module+name and checks signatures,
   * allocates memory/tables/globals and applies data/elem segments. It does
   * NOT run the start function or any export. Errors: KAFU_E_INPUT for an
   * unresolved or mistyped import ("unknown import wasi_snapshot_preview1.foo"). */
  kafu_err (*instantiate)(kafu_engine_module *mod, const kafu_host_import *imports,
                          size_t n_imports, kafu_engine_instance **out, kafu_error *err);
  void (*instance_free)(kafu_engine_instance *inst);

  /* Calls the exported function `name`. Argument/result counts must match the
   * export's type (KAFU_E_INPUT otherwise, or if there is no such export).
   * On a trap returns KAFU_E_TRAP with a message naming trap kind, function
   * (name or index) and offset where known, e.g.
   * "trap: integer divide by zero in function 12 (compute) at 0x3a1".
   * Re-entrant: host functions may call exports of the same instance. */
  kafu_err (*call)(kafu_engine_instance *inst, const char *name, const kafu_slot *args,
                   size_t n_args, kafu_slot *results, size_t n_results, kafu_error *err);

  /* Returns 1 if the instance exports a function called `name`, else 0. */
  int (*has_export)(kafu_engine_instance *inst, const char *name);

  /* The exported (or only) linear memory: base pointer and size in bytes.
   * The pointer stays valid until the next grow or call. NULL if none. */
  uint8_t *(*memory)(kafu_engine_instance *inst, size_t *size_bytes);

  /* memory.grow by delta_pages (64 KiB). *old_pages receives the old size.
   * Errors: KAFU_E_LIMIT if the maximum would be exceeded. */
  kafu_err (*memory_grow)(kafu_engine_instance *inst, uint32_t delta_pages,
                          uint32_t *old_pages, kafu_error *err);
};

/* Engine-agnostic accessors through the instance header. */
static inline uint8_t *kafu_instance_memory(kafu_engine_instance *inst, size_t *size_bytes) {
  return inst->ops->memory(inst, size_bytes);
}
static inline kafu_err kafu_instance_call(kafu_engine_instance *inst, const char *name,
                                          const kafu_slot *args, size_t n_args,
                                          kafu_slot *results, size_t n_results,
                                          kafu_error *err) {
  return inst->ops->call(inst, name, args, n_args, results, n_results, err);
}

/* Looks up an engine by name ("interp", "aot"); NULL if unknown or not built. */
const kafu_engine_ops *kafu_engine_find(const char *name);

/* Engine-wide options (set before load). */
typedef struct kafu_engine_options {
  const char *cache_dir; /* aot: where compiled objects live; NULL = default */
  uint32_t max_call_depth; /* interp/aot: Wasm call depth limit; 0 = default */
  int quiet;             /* suppress progress output */
} kafu_engine_options;

void kafu_engine_set_options(const kafu_engine_options *opts);
const kafu_engine_options *kafu_engine_get_options(void);

#endif
