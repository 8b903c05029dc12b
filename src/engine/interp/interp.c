/* The interpreter engine's operations table: load (decode, validate,
 * compile), calls into exports, and memory access for hosts. */
#include <stdlib.h>
#include <string.h>

#include "engine/interp/interp.h"
#include "engine/interp/interp_api.h"

static void interp_module_free(kafu_engine_module *mod) {
  if (!mod) return;
  kafu_interp_free_code(mod);
  uint32_t n_funcs = mod->wm ? mod->wm->n_funcs : 0;
  uint32_t n_types = mod->wm ? mod->wm->n_types : 0;
  IFREE(mod->funcs, (size_t)n_funcs * sizeof(ifunc));
  IFREE(mod->canon, (size_t)n_types * sizeof(uint32_t));
  kafu_wasm_module_free(mod->wm);
  IFREE(mod->bytes, mod->len);
  IFREE(mod, sizeof *mod);
}

static bool same_type(const kafu_wasm_functype *a, const kafu_wasm_functype *b) {
  return a->n_params == b->n_params && a->n_results == b->n_results &&
         !memcmp(a->params, b->params, a->n_params) && !memcmp(a->results, b->results, a->n_results);
}

static kafu_err interp_load(const uint8_t *bytes, size_t len, const char *label,
                            kafu_engine_module **out, kafu_error *err) {
  *out = NULL;
  kafu_engine_module *mod = IALLOC(sizeof *mod);
  if (!mod) return kafu_fail(err, KAFU_E_NOMEM, "%s: out of memory", label);
  memset(mod, 0, sizeof *mod);
  kafu_err rc;
  mod->bytes = IALLOC(len ? len : 1);
  if (!mod->bytes) { rc = kafu_fail(err, KAFU_E_NOMEM, "%s: out of memory", label); goto fail; }
  if (len) memcpy(mod->bytes, bytes, len);
  mod->len = len;
  rc = kafu_wasm_decode(mod->bytes, len, label, &mod->wm, err);
  if (rc) goto fail;
  const kafu_wasm_module *wm = mod->wm;
  mod->canon = IALLOC((size_t)(wm->n_types ? wm->n_types : 1) * sizeof(uint32_t));
  mod->funcs = IALLOC((size_t)(wm->n_funcs ? wm->n_funcs : 1) * sizeof(ifunc));
  if (!mod->canon || !mod->funcs) { rc = kafu_fail(err, KAFU_E_NOMEM, "%s: out of memory", label); goto fail; }
  memset(mod->funcs, 0, (size_t)(wm->n_funcs ? wm->n_funcs : 1) * sizeof(ifunc));
  for (uint32_t i = 0; i < wm->n_types; i++) {
    mod->canon[i] = i;
    for (uint32_t j = 0; j < i; j++)
      if (same_type(&wm->types[i], &wm->types[j])) { mod->canon[i] = mod->canon[j]; break; }
  }
  for (uint32_t f = 0; f < wm->n_funcs; f++) {
    ifunc *fn = &mod->funcs[f];
    fn->type_index = wm->func_types[f];
    if (fn->type_index >= wm->n_types) continue; /* the validator reports it */
    fn->canon_type = mod->canon[fn->type_index];
    fn->n_params = wm->types[fn->type_index].n_params;
    fn->n_results = wm->types[fn->type_index].n_results;
  }
  rc = kafu_interp_compile(mod, err);
  if (rc) goto fail;
  *out = mod;
  return KAFU_OK;
fail:
  interp_module_free(mod);
  return rc;
}

static const kafu_wasm_export *find_func(interp_instance *inst, const char *name) {
  return kafu_wasm_find_export(inst->mod->wm, name, KAFU_EXT_FUNC);
}

static kafu_err call_func(interp_instance *inst, uint32_t fi, const kafu_slot *args, size_t n_args,
                          kafu_slot *results, size_t n_results, kafu_error *err) {
  const kafu_wasm_module *wm = inst->mod->wm;
  const kafu_wasm_functype *t = &wm->types[wm->func_types[fi]];
  if (n_args != t->n_params || n_results != t->n_results)
    return kafu_fail(err, KAFU_E_INPUT, "function %u takes %u arguments and returns %u results", fi,
                     t->n_params, t->n_results);
  islot *fp = inst->stack_top;
  size_t need = t->n_params > t->n_results ? t->n_params : t->n_results;
  if (fp + need + 1 > inst->stack_end) return kafu_fail(err, KAFU_E_TRAP, "trap: call stack exhausted");
  for (size_t i = 0; i < n_args; i++) fp[i].u64 = args[i];
  kafu_err rc = kafu_interp_exec(inst, fi, fp, err);
  if (rc) return rc;
  for (size_t i = 0; i < n_results; i++) {
    uint8_t ty = t->results[i];
    results[i] = (ty == 0x7f || ty == 0x7d) ? fp[i].u32 : fp[i].u64;
  }
  return KAFU_OK;
}

static kafu_err interp_call(kafu_engine_instance *hdr, const char *name, const kafu_slot *args,
                            size_t n_args, kafu_slot *results, size_t n_results, kafu_error *err) {
  interp_instance *inst = (interp_instance *)hdr;
  const kafu_wasm_export *e = find_func(inst, name);
  if (!e) return kafu_fail(err, KAFU_E_INPUT, "%s: no exported function \"%s\"", inst->mod->wm->ext->label, name);
  return call_func(inst, e->index, args, n_args, results, n_results, err);
}

kafu_err kafu_interp_run_start(kafu_engine_instance *hdr, kafu_error *err) {
  interp_instance *inst = (interp_instance *)hdr;
  const struct kafu_wasm_module_ext *x = inst->mod->wm->ext;
  if (!x->has_start) return KAFU_OK;
  return call_func(inst, x->start, NULL, 0, NULL, 0, err);
}

kafu_err kafu_interp_get_global(kafu_engine_instance *hdr, const char *name, uint64_t *out,
                                kafu_error *err) {
  interp_instance *inst = (interp_instance *)hdr;
  const kafu_wasm_export *e = kafu_wasm_find_export(inst->mod->wm, name, KAFU_EXT_GLOBAL);
  if (!e) return kafu_fail(err, KAFU_E_INPUT, "no exported global \"%s\"", name);
  uint8_t ty = inst->mod->wm->ext->globals[e->index].type;
  islot v = inst->globals[e->index];
  *out = (ty == 0x7f || ty == 0x7d) ? v.u32 : v.u64;
  return KAFU_OK;
}

static int interp_has_export(kafu_engine_instance *hdr, const char *name) {
  return find_func((interp_instance *)hdr, name) != NULL;
}

static uint8_t *interp_memory(kafu_engine_instance *hdr, size_t *size_bytes) {
  interp_instance *inst = (interp_instance *)hdr;
  if (!inst->has_mem) {
    if (size_bytes) *size_bytes = 0;
    return NULL;
  }
  if (size_bytes) *size_bytes = (size_t)inst->mem_size;
  return inst->mem;
}

static kafu_err interp_memory_grow(kafu_engine_instance *hdr, uint32_t delta_pages,
                                   uint32_t *old_pages, kafu_error *err) {
  interp_instance *inst = (interp_instance *)hdr;
  int64_t old = kafu_interp_grow(inst, delta_pages);
  if (old < 0)
    return kafu_fail(err, KAFU_E_LIMIT, "memory.grow by %u pages failed (at %u of max %u pages)",
                     delta_pages, inst->mem_pages, inst->mem_max_pages);
  if (old_pages) *old_pages = (uint32_t)old;
  return KAFU_OK;
}

const kafu_engine_ops kafu_engine_interp_ops = {
    .name = "interp",
    .load = interp_load,
    .module_free = interp_module_free,
    .instantiate = kafu_interp_instantiate,
    .instance_free = kafu_interp_instance_free,
    .call = interp_call,
    .has_export = interp_has_export,
    .memory = interp_memory,
    .memory_grow = interp_memory_grow,
};
