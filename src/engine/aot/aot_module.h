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
  uintptr_t dl_base;       /* load address, for trap pc -> symbol */
  kafu_aot_symtab *symtab; /* loaded on the first trap; owned */
};

extern const kafu_engine_ops kafu_engine_aot_ops;

kafu_err kafu_aot_instantiate(kafu_engine_module *mod, const kafu_host_import *imports,
                              size_t n_imports, kafu_engine_instance **out, kafu_error *err);
void kafu_aot_instance_free(kafu_engine_instance *inst);
kafu_err kafu_aot_call(kafu_engine_instance *inst, const char *name, const kafu_slot *args,
                       size_t n_args, kafu_slot *results, size_t n_results, kafu_error *err);
int kafu_aot_has_export(kafu_engine_instance *inst, const char *name);
uint8_t *kafu_aot_memory(kafu_engine_instance *inst, size_t *size_bytes);
kafu_err kafu_aot_memory_grow(kafu_engine_instance *inst, uint32_t delta_pages,
                              uint32_t *old_pages, kafu_error *err);

#endif
