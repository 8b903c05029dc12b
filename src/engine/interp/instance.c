/* Instances of the interpreter: import resolution, memory, tables, globals,
 * segment initialization, and growth of memory and tables. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine/interp/interp.h"
#include "engine/interp/interp_api.h"

#define PAGE 65536u
#define DEFAULT_MAX_DEPTH 100000u
#define DEFAULT_STACK_SLOTS (4u << 20) /* 32 MiB of virtual space, touched lazily */
#define MAX_TABLE_ELEMS (10u << 20)

static bool g_spectest;
static uint32_t g_stack_slots = DEFAULT_STACK_SLOTS;

void kafu_interp_set_stack_slots(uint32_t n_slots) {
  g_stack_slots = n_slots >= 1024 ? n_slots : DEFAULT_STACK_SLOTS;
}

void kafu_interp_enable_spectest(bool on) { g_spectest = on; }

static bool valtype_eq(kafu_valtype host, uint8_t wasm) { return (uint8_t)host == wasm; }

static kafu_err resolve_func(interp_instance *inst, const kafu_wasm_import *im, uint32_t fi,
                             const kafu_host_import *imports, size_t n_imports, kafu_error *err) {
  const kafu_wasm_module *wm = inst->mod->wm;
  const kafu_wasm_functype *t = &wm->types[im->type_index];
  for (size_t k = 0; k < n_imports; k++) {
    const kafu_host_import *h = &imports[k];
    if (strcmp(h->module, im->module) || strcmp(h->name, im->name)) continue;
    bool ok = h->n_params == t->n_params && h->n_results == t->n_results &&
              t->n_params <= KAFU_HOST_MAX_PARAMS && t->n_results <= KAFU_HOST_MAX_RESULTS;
    for (uint32_t i = 0; ok && i < t->n_params; i++) ok = valtype_eq(h->params[i], t->params[i]);
    for (uint32_t i = 0; ok && i < t->n_results; i++) ok = valtype_eq(h->results[i], t->results[i]);
    if (!ok)
      return kafu_fail(err, KAFU_E_INPUT, "%s: incompatible import type for %s.%s", wm->ext->label,
                       im->module, im->name);
    inst->hosts[fi] = h;
    return KAFU_OK;
  }
  return kafu_fail(err, KAFU_E_INPUT, "%s: unknown import %s.%s", wm->ext->label, im->module, im->name);
}

/* The "spectest" module of the official test suite, for conformance runs. */
static kafu_err spectest_import(interp_instance *inst, const kafu_wasm_import *im, uint32_t *n_tab,
                                uint32_t *n_glob, kafu_error *err) {
  const char *label = inst->mod->wm->ext->label;
  if (!g_spectest || strcmp(im->module, "spectest"))
    return kafu_fail(err, KAFU_E_INPUT, "%s: unknown import %s.%s (only functions can be imported)",
                     label, im->module, im->name);
  if (im->kind == KAFU_EXT_GLOBAL) {
    islot *g = &inst->globals[(*n_glob)++];
    uint8_t want = 0;
    if (!strcmp(im->name, "global_i32")) { want = 0x7f; g->u32 = 666; }
    else if (!strcmp(im->name, "global_i64")) { want = 0x7e; g->u64 = 666; }
    else if (!strcmp(im->name, "global_f32")) { want = 0x7d; g->f32 = 666.6f; }
    else if (!strcmp(im->name, "global_f64")) { want = 0x7c; g->f64 = 666.6; }
    if (!want || want != im->gtype || im->gmutable)
      return kafu_fail(err, KAFU_E_INPUT, "%s: incompatible import type for spectest.%s", label, im->name);
    return KAFU_OK;
  }
  if (im->kind == KAFU_EXT_TABLE) {
    if (strcmp(im->name, "table") || im->elem != 0x70 || im->limits.min > 10 ||
        (im->limits.has_max && im->limits.max < 20))
      return kafu_fail(err, KAFU_E_INPUT, "%s: incompatible import type for spectest.%s", label, im->name);
    itable *t = &inst->tables[(*n_tab)++];
    t->size = 10;
    t->max = 20;
    t->elems = IALLOC(20 * sizeof *t->elems);
    if (!t->elems) return kafu_fail(err, KAFU_E_NOMEM, "out of memory");
    memset(t->elems, 0, 20 * sizeof *t->elems);
    t->max = im->limits.has_max ? (uint32_t)im->limits.max : 20;
    if (t->max > 20) t->max = 20;
    return KAFU_OK;
  }
  if (im->kind == KAFU_EXT_MEMORY) {
    if (strcmp(im->name, "memory") || im->limits.min > 1 || (im->limits.has_max && im->limits.max < 2))
      return kafu_fail(err, KAFU_E_INPUT, "%s: incompatible import type for spectest.%s", label, im->name);
    return KAFU_OK; /* allocated with the module's limits below, as 1..2 pages */
  }
  return kafu_fail(err, KAFU_E_INPUT, "%s: unknown import %s.%s", label, im->module, im->name);
}

int64_t kafu_interp_grow(interp_instance *inst, uint32_t delta) {
  uint32_t old = inst->mem_pages;
  if (!inst->has_mem) return -1;
  if (delta == 0) return old;
  if ((uint64_t)old + delta > inst->mem_max_pages) return -1;
  uint64_t new_size = ((uint64_t)old + delta) * PAGE;
  if (new_size > SIZE_MAX) return -1;
  uint8_t *p = kafu_interp_realloc(inst->mem, (size_t)inst->mem_size, (size_t)new_size);
  if (!p) return -1;
  memset(p + inst->mem_size, 0, (size_t)(new_size - inst->mem_size));
  inst->mem = p;
  inst->mem_size = new_size;
  inst->mem_pages = old + delta;
  return old;
}

int64_t kafu_interp_table_grow(interp_instance *inst, uint32_t ti, uint32_t delta, uint64_t init) {
  itable *t = &inst->tables[ti];
  uint32_t old = t->size;
  if (delta == 0) return old;
  uint64_t n = (uint64_t)old + delta;
  if (n > t->max || n > MAX_TABLE_ELEMS) return -1;
  uint64_t *p = kafu_interp_realloc(t->elems, (size_t)old * 8, (size_t)n * 8);
  if (!p) return -1;
  for (uint64_t i = old; i < n; i++) p[i] = init;
  t->elems = p;
  t->size = (uint32_t)n;
  return old;
}

static islot eval_const(const interp_instance *inst, const kafu_wasm_constexpr *c) {
  islot v;
  v.u64 = 0;
  switch (c->op) {
  case KAFU_CONST_I32:
  case KAFU_CONST_F32: v.u32 = (uint32_t)c->value; break;
  case KAFU_CONST_I64:
  case KAFU_CONST_F64: v.u64 = c->value; break;
  case KAFU_CONST_GLOBAL: v = inst->globals[c->value]; break;
  case KAFU_CONST_REF_NULL: v.u64 = 0; break;
  case KAFU_CONST_REF_FUNC: v.u64 = c->value + 1; break;
  }
  return v;
}

void kafu_interp_instance_free(kafu_engine_instance *hdr) {
  interp_instance *inst = (interp_instance *)hdr;
  if (!inst) return;
  const kafu_wasm_module *wm = inst->mod->wm;
  const struct kafu_wasm_module_ext *x = wm->ext;
  IFREE(inst->mem, (size_t)inst->mem_size);
  IFREE(inst->globals, (size_t)x->n_globals * sizeof(islot));
  if (inst->tables)
    for (uint32_t i = 0; i < x->n_tables; i++) IFREE(inst->tables[i].elems, (size_t)inst->tables[i].size * 8);
  IFREE(inst->tables, (size_t)x->n_tables * sizeof(itable));
  IFREE(inst->hosts, (size_t)wm->n_funcs * sizeof(void *));
  IFREE(inst->data_dropped, (size_t)x->n_datas);
  IFREE(inst->elem_dropped, (size_t)x->n_elems);
  IFREE(inst->stack, inst->stack_bytes);
  IFREE(inst->frames, inst->frames_bytes);
  IFREE(inst, sizeof *inst);
}

static void *zalloc(size_t n) {
  void *p = IALLOC(n ? n : 1);
  if (p) memset(p, 0, n ? n : 1);
  return p;
}

kafu_err kafu_interp_instantiate(kafu_engine_module *mod, const kafu_host_import *imports,
                                 size_t n_imports, kafu_engine_instance **out, kafu_error *err) {
  *out = NULL;
  const kafu_wasm_module *wm = mod->wm;
  const struct kafu_wasm_module_ext *x = wm->ext;
  const char *label = x->label;
  interp_instance *inst = zalloc(sizeof *inst);
  if (!inst) return kafu_fail(err, KAFU_E_NOMEM, "%s: out of memory", label);
  extern const kafu_engine_ops kafu_engine_interp_ops;
  inst->hdr.ops = &kafu_engine_interp_ops;
  inst->mod = mod;
  kafu_err rc = KAFU_OK;
  inst->hosts = zalloc((size_t)wm->n_funcs * sizeof(void *));
  inst->globals = zalloc((size_t)x->n_globals * sizeof(islot));
  inst->tables = zalloc((size_t)x->n_tables * sizeof(itable));
  inst->data_dropped = zalloc(x->n_datas);
  inst->elem_dropped = zalloc(x->n_elems);
  const kafu_engine_options *opts = kafu_engine_get_options();
  inst->max_depth = opts && opts->max_call_depth ? opts->max_call_depth : DEFAULT_MAX_DEPTH;
  inst->frames_bytes = ((size_t)inst->max_depth + 1) * sizeof(iframe);
  inst->frames = IALLOC(inst->frames_bytes);
  inst->stack_bytes = (size_t)g_stack_slots * sizeof(islot);
  inst->stack = IALLOC(inst->stack_bytes);
  if (!inst->hosts || !inst->globals || !inst->tables || !inst->data_dropped ||
      !inst->elem_dropped || !inst->frames || !inst->stack) {
    rc = kafu_fail(err, KAFU_E_NOMEM, "%s: out of memory", label);
    goto fail;
  }
  inst->stack_end = inst->stack + g_stack_slots;
  inst->stack_top = inst->stack;

  /* Imports, in order; they come first in each index space. */
  uint32_t nf = 0, nt = 0, ng = 0;
  for (uint32_t i = 0; i < wm->n_imports; i++) {
    const kafu_wasm_import *im = &wm->imports[i];
    if (im->kind == KAFU_EXT_FUNC) rc = resolve_func(inst, im, nf++, imports, n_imports, err);
    else rc = spectest_import(inst, im, &nt, &ng, err);
    if (rc) goto fail;
  }

  /* Memory. */
  if (x->n_memories) {
    const kafu_wasm_limits *l = &x->memories[0].limits;
    inst->has_mem = true;
    inst->mem_max_pages = l->has_max ? (uint32_t)l->max : 65536;
    if (x->memories[0].imported) { /* spectest.memory: 1 page, max 2 */
      inst->mem_max_pages = l->has_max && l->max < 2 ? (uint32_t)l->max : 2;
      if (kafu_interp_grow(inst, 1) < 0) goto nomem;
    } else if (l->min && kafu_interp_grow(inst, (uint32_t)l->min) < 0) {
      rc = kafu_fail(err, KAFU_E_NOMEM, "%s: cannot allocate %llu pages of memory", label,
                     (unsigned long long)l->min);
      goto fail;
    }
  }
  /* Tables. */
  for (uint32_t i = nt; i < x->n_tables; i++) {
    itable *t = &inst->tables[i];
    const kafu_wasm_limits *l = &x->tables[i].limits;
    t->max = l->has_max ? (uint32_t)l->max : UINT32_MAX;
    if (l->min > MAX_TABLE_ELEMS) {
      rc = kafu_fail(err, KAFU_E_LIMIT, "%s: table %u too large", label, i);
      goto fail;
    }
    t->elems = zalloc((size_t)l->min * 8);
    if (!t->elems) goto nomem;
    t->size = (uint32_t)l->min;
  }
  /* Globals. */
  for (uint32_t g = x->n_global_imports; g < x->n_globals; g++)
    inst->globals[g] = eval_const(inst, &x->globals[g].init);

  /* Segments: elements, then data, in order; a failing one traps. */
  for (uint32_t i = 0; i < x->n_elems; i++) {
    const kafu_wasm_elem *e = &x->elems[i];
    if (e->mode == KAFU_SEG_DECLARATIVE) inst->elem_dropped[i] = true;
    if (e->mode != KAFU_SEG_ACTIVE) continue;
    itable *t = &inst->tables[e->table];
    uint64_t off = eval_const(inst, &e->offset).u32;
    if (off + e->n_items > t->size) {
      rc = kafu_fail(err, KAFU_E_TRAP, "%s: trap: out of bounds table access (element segment %u)", label, i);
      goto fail;
    }
    for (uint32_t k = 0; k < e->n_items; k++) t->elems[off + k] = eval_const(inst, &e->items[k]).u64;
    inst->elem_dropped[i] = true;
  }
  for (uint32_t i = 0; i < x->n_datas; i++) {
    const kafu_wasm_data *d = &x->datas[i];
    if (d->mode != KAFU_SEG_ACTIVE) continue;
    uint64_t off = eval_const(inst, &d->offset).u32;
    if (off + d->len > inst->mem_size) {
      rc = kafu_fail(err, KAFU_E_TRAP, "%s: trap: out of bounds memory access (data segment %u)", label, i);
      goto fail;
    }
    if (d->len) memcpy(inst->mem + off, d->bytes, d->len);
    inst->data_dropped[i] = true;
  }
  *out = &inst->hdr;
  return KAFU_OK;
nomem:
  rc = kafu_fail(err, KAFU_E_NOMEM, "%s: out of memory", label);
fail:
  kafu_interp_instance_free(&inst->hdr);
  return rc;
}
