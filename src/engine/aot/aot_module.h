/* The AOT engine's module and instance operations, shared by aot.c (ops
 * table, loading) and instance.c (instances, calls, memory). */
#ifndef KAFU_ENGINE_AOT_MODULE_H
#define KAFU_ENGINE_AOT_MODULE_H

#include "engine/aot/aot_int.h"

struct kafu_engine_module {
  uint8_t *bytes; /* owned copy; the decoded module points into it */
  size_t len;
  kafu_wasm_module *wasm; /* owned */
  char *label;            /* owned */
  char *so_path;          /* owned: the cached object */
  void *dl;               /* dlopen handle */
  const kafu_aot_glue *glue;
  uintptr_t dl_base;              /* load address, for trap pc -> symbol */
  uintptr_t code_start, code_end; /* executable segments, for the fault handler */
  kafu_aot_symtab *symtab;        /* loaded on the first trap; owned */
};

extern const kafu_engine_ops kafu_engine_aot_ops;

/* One entry per AOT call in progress on a thread (nested calls stack up),
 * so that the fault handler can tell a Wasm out-of-bounds access from a
 * host crash. Lives on the caller's stack. */
typedef struct kafu_aot_active {
  const kafu_engine_module *mod;
  void *glue_inst; /* its memory is looked up at fault time (init creates it) */
  struct kafu_aot_active *prev;
} kafu_aot_active;

/* signals.c: makes sure the SIGSEGV/SIGBUS handler is installed (again, if
 * another one replaced it); called before instantiation and outermost calls. */
void kafu_aot_signals_init(void);
/* Whether this thread is inside an AOT call. */
int kafu_aot_active_any(void);
void kafu_aot_active_push(kafu_aot_active *a);
void kafu_aot_active_pop(kafu_aot_active *a);
/* The executable address range of the object loaded at `base`. */
void kafu_aot_code_range(uintptr_t base, uintptr_t *start, uintptr_t *end);

kafu_err kafu_aot_instantiate(kafu_engine_module *mod, const kafu_host_import *imports,
                              size_t n_imports, kafu_engine_instance **out, kafu_error *err);
void kafu_aot_instance_free(kafu_engine_instance *inst);
kafu_err kafu_aot_call(kafu_engine_instance *inst, const char *name, const kafu_slot *args,
                       size_t n_args, kafu_slot *results, size_t n_results, kafu_error *err);
int kafu_aot_has_export(kafu_engine_instance *inst, const char *name);
uint8_t *kafu_aot_memory(kafu_engine_instance *inst, size_t *size_bytes);
kafu_err kafu_aot_memory_grow(kafu_engine_instance *inst, uint32_t delta_pages, uint32_t *old_pages,
                              kafu_error *err);

#endif
