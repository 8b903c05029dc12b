/* AOT instances: import resolution, the dispatcher the glue calls for every
 * import, export calls with trap reporting, and memory access. */
#define _GNU_SOURCE /* dladdr, pthread_getattr_np */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/aot/aot_module.h"

#define DEFAULT_MAX_DEPTH 100000
/* C stack kept free below the Wasm code for host functions and traps. */
#define STACK_MARGIN (256 * 1024)

typedef struct aot_instance {
  kafu_engine_instance hdr; /* first: hdr.ops = &kafu_engine_aot_ops */
  kafu_engine_module *mod;  /* borrowed; outlives the instance */
  void *glue_inst;          /* owned by the glue (create/destroy) */
  uint32_t n_func_imports;
  const kafu_host_import **resolved; /* owned array of borrowed entries, by import index */
  uint32_t failed_import;            /* import whose host function aborted the last call */
} aot_instance;

static int import_matches(const kafu_host_import *h, const kafu_wasm_functype *t) {
  if (h->n_params != t->n_params || h->n_results != t->n_results) return 0;
  for (uint32_t i = 0; i < t->n_params; i++)
    if ((uint8_t)h->params[i] != t->params[i]) return 0;
  for (uint32_t i = 0; i < t->n_results; i++)
    if ((uint8_t)h->results[i] != t->results[i]) return 0;
  return 1;
}

static int dispatch(void *host, uint32_t import_index, const uint64_t *args, uint64_t *results) {
  aot_instance *inst = host;
  const kafu_host_import *imp = inst->resolved[import_index];
  int rc = imp->fn(imp->env, &inst->hdr, args, results);
  if (rc) inst->failed_import = import_index;
  return rc;
}

static const char *trap_kind(int code) {
  switch (code) {
  case KAFU_AOT_TRAP_OOB: return "out of bounds memory access";
  case KAFU_AOT_TRAP_INT_OVERFLOW: return "integer overflow";
  case KAFU_AOT_TRAP_DIV_BY_ZERO: return "integer divide by zero";
  case KAFU_AOT_TRAP_INVALID_CONVERSION: return "invalid conversion to integer";
  case KAFU_AOT_TRAP_UNREACHABLE: return "unreachable";
  case KAFU_AOT_TRAP_CALL_INDIRECT: return "indirect call type mismatch or null";
  case KAFU_AOT_TRAP_UNCAUGHT_EXCEPTION: return "uncaught exception";
  case KAFU_AOT_TRAP_EXHAUSTION: return "call stack exhausted";
  default: return "unknown trap";
  }
}

/* Fills err for trap `code`, naming the function: the C function the trap
 * is written in (w2c_<name>, exact even when inlined), else the function
 * whose code contains the trapping address (guard-page faults). */
static kafu_err report_trap(aot_instance *inst, const char *export_name, int code,
                            const kafu_aot_trap_info *info, kafu_error *err) {
  kafu_engine_module *mod = inst->mod;
  if (code == KAFU_AOT_TRAP_HOST) {
    const kafu_host_import *imp = inst->resolved[inst->failed_import];
    return kafu_fail(err, KAFU_E_TRAP, "trap: host function %s.%s aborted the call to %s",
                     imp->module, imp->name, export_name);
  }
  const char *fn = NULL;
  if (info->func && !strncmp(info->func, "w2c_", 4)) {
    fn = info->func + 4;
  } else if (info->pc && mod->dl_base) {
    /* Loaded on the first trap; traps may come from several threads. */
    static pthread_mutex_t symtab_lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&symtab_lock);
    if (!mod->symtab) mod->symtab = kafu_aot_symtab_load(mod->so_path, mod->glue);
    pthread_mutex_unlock(&symtab_lock);
    /* pc is a return address; -1 keeps it inside the trapping function. */
    fn = kafu_aot_symtab_lookup(mod->symtab, info->pc - 1 - mod->dl_base);
  }
  if (fn && !strcmp(fn, export_name))
    return kafu_fail(err, KAFU_E_TRAP, "trap: %s in function %s", trap_kind(code), fn);
  if (fn)
    return kafu_fail(err, KAFU_E_TRAP, "trap: %s in function %s (called through export %s)",
                     trap_kind(code), fn, export_name);
  return kafu_fail(err, KAFU_E_TRAP, "trap: %s in export %s", trap_kind(code), export_name);
}

kafu_err kafu_aot_instantiate(kafu_engine_module *mod, const kafu_host_import *imports,
                              size_t n_imports, kafu_engine_instance **out, kafu_error *err) {
  kafu_err rc = KAFU_OK;
  const kafu_wasm_module *wm = mod->wasm;
  aot_instance *inst = calloc(1, sizeof *inst);
  if (!inst) return kafu_fail(err, KAFU_E_NOMEM, "out of memory");
  inst->hdr.ops = &kafu_engine_aot_ops;
  inst->mod = mod;
  inst->n_func_imports = wm->n_func_imports;
  inst->resolved = calloc(wm->n_func_imports ? wm->n_func_imports : 1, sizeof *inst->resolved);
  if (!inst->resolved) {
    rc = kafu_fail(err, KAFU_E_NOMEM, "out of memory");
    goto out;
  }
  uint32_t func_index = 0;
  for (uint32_t i = 0; i < wm->n_imports; i++) {
    const kafu_wasm_import *imp = &wm->imports[i];
    if (imp->kind != KAFU_EXT_FUNC) continue; /* rejected at load */
    const kafu_host_import *found = NULL;
    for (size_t j = 0; j < n_imports && !found; j++)
      if (!strcmp(imports[j].module, imp->module) && !strcmp(imports[j].name, imp->name))
        found = &imports[j];
    if (!found) {
      rc = kafu_fail(err, KAFU_E_INPUT, "%s: unknown import %s.%s", mod->label, imp->module,
                     imp->name);
      goto out;
    }
    const kafu_wasm_functype *t = &wm->types[wm->func_types[func_index]];
    if (!import_matches(found, t)) {
      rc = kafu_fail(err, KAFU_E_INPUT, "%s: import %s.%s has the wrong signature", mod->label,
                     imp->module, imp->name);
      goto out;
    }
    inst->resolved[func_index++] = found;
  }
  /* Created before init so that host functions called by the start
   * function can already reach memory through the instance. */
  inst->glue_inst = mod->glue->create(inst, dispatch);
  if (!inst->glue_inst) {
    rc = kafu_fail(err, KAFU_E_NOMEM, "%s: out of memory instantiating", mod->label);
    goto out;
  }
  if (kafu_aot_guard_pages()) kafu_aot_signals_init();
  kafu_aot_active active = {.mod = mod, .glue_inst = inst->glue_inst};
  kafu_aot_active_push(&active);
  int trap = mod->glue->init(inst->glue_inst);
  kafu_aot_active_pop(&active);
  if (trap) {
    rc = trap == KAFU_AOT_TRAP_HOST
             ? kafu_fail(err, KAFU_E_TRAP, "%s: host function %s.%s aborted the start function",
                         mod->label, inst->resolved[inst->failed_import]->module,
                         inst->resolved[inst->failed_import]->name)
             : kafu_fail(err, KAFU_E_TRAP, "%s: trap while instantiating: %s", mod->label,
                         trap_kind(trap));
    goto out;
  }
  *out = &inst->hdr;
  inst = NULL;
out:
  if (inst) {
    if (inst->glue_inst) mod->glue->destroy(inst->glue_inst);
    free(inst->resolved);
    free(inst);
  }
  return rc;
}

void kafu_aot_instance_free(kafu_engine_instance *hdr) {
  aot_instance *inst = (aot_instance *)hdr;
  if (!inst) return;
  if (inst->glue_inst) inst->mod->glue->destroy(inst->glue_inst);
  free(inst->resolved);
  free(inst);
}

static int find_export(const kafu_aot_glue *glue, const char *name) {
  for (uint32_t i = 0; i < glue->n_exports; i++)
    if (!strcmp(glue->exports[i].name, name)) return (int)i;
  return -1;
}

int kafu_aot_has_export(kafu_engine_instance *hdr, const char *name) {
  aot_instance *inst = (aot_instance *)hdr;
  return find_export(inst->mod->glue, name) >= 0;
}

/* The lowest stack address Wasm code of this thread may use; 0 if unknown. */
static uintptr_t stack_floor(void) {
  static __thread uintptr_t floor_cached;
  static __thread int known;
  if (!known) {
    pthread_attr_t attr;
    void *addr = NULL;
    size_t size = 0;
    known = 1;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
      if (pthread_attr_getstack(&attr, &addr, &size) == 0 && size > 0) {
        /* Small thread stacks keep a quarter for the host instead. */
        size_t margin = size / 4 < STACK_MARGIN ? size / 4 : STACK_MARGIN;
        floor_cached = (uintptr_t)addr + margin;
      }
      pthread_attr_destroy(&attr);
    }
  }
  return floor_cached;
}

kafu_err kafu_aot_call(kafu_engine_instance *hdr, const char *name, const kafu_slot *args,
                       size_t n_args, kafu_slot *results, size_t n_results, kafu_error *err) {
  aot_instance *inst = (aot_instance *)hdr;
  const kafu_aot_glue *glue = inst->mod->glue;
  int index = find_export(glue, name);
  if (index < 0)
    return kafu_fail(err, KAFU_E_INPUT, "%s: no exported function %s", inst->mod->label, name);
  const kafu_aot_glue_export *ex = &glue->exports[index];
  if (strlen(ex->params) != n_args || strlen(ex->results) != n_results)
    return kafu_fail(err, KAFU_E_INPUT, "%s: export %s takes %zu arguments and returns %zu results",
                     inst->mod->label, name, strlen(ex->params), strlen(ex->results));
  uint64_t result_slot[1] = {0};
  const kafu_engine_options *opts = kafu_engine_get_options();
  uint32_t max_depth = opts && opts->max_call_depth ? opts->max_call_depth : DEFAULT_MAX_DEPTH;
  kafu_aot_trap_info info = {0, NULL};
  if (!kafu_aot_active_any() && kafu_aot_guard_pages()) kafu_aot_signals_init();
  kafu_aot_active active = {.mod = inst->mod, .glue_inst = inst->glue_inst};
  kafu_aot_active_push(&active);
  int trap = glue->call(inst->glue_inst, (uint32_t)index, args, result_slot, max_depth,
                        stack_floor(), &info);
  kafu_aot_active_pop(&active);
  if (trap) return report_trap(inst, name, trap, &info, err);
  if (n_results) results[0] = result_slot[0];
  return KAFU_OK;
}

uint8_t *kafu_aot_memory(kafu_engine_instance *hdr, size_t *size_bytes) {
  aot_instance *inst = (aot_instance *)hdr;
  uint64_t size = 0;
  uint32_t max_pages = 0;
  uint8_t *base = inst->mod->glue->memory(inst->glue_inst, &size, &max_pages);
  if (size_bytes) *size_bytes = base ? (size_t)size : 0;
  return base;
}

kafu_err kafu_aot_memory_grow(kafu_engine_instance *hdr, uint32_t delta_pages, uint32_t *old_pages,
                              kafu_error *err) {
  aot_instance *inst = (aot_instance *)hdr;
  uint64_t size = 0;
  uint32_t max_pages = 0;
  if (!inst->mod->glue->memory(inst->glue_inst, &size, &max_pages))
    return kafu_fail(err, KAFU_E_INPUT, "%s: module has no memory", inst->mod->label);
  uint32_t old = inst->mod->glue->memory_grow(inst->glue_inst, delta_pages);
  if (old == UINT32_MAX)
    return kafu_fail(err, KAFU_E_LIMIT,
                     "%s: memory.grow by %u pages from %llu exceeds the maximum of %u pages",
                     inst->mod->label, delta_pages, (unsigned long long)(size / 65536), max_pages);
  if (old_pages) *old_pages = old;
  return KAFU_OK;
}
