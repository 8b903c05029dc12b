/* The Binaryen side of snapify: resolve annotations to sites, wrap annotated
 * functions with kafu.enter/leave, put countdown polls at loop heads, generate
 * the globals save/restore exports, then run Asyncify limited to the functions
 * that can reach a kafu.* import (docs/abi.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapify/internal.h"

#define IMPORT_ENTER "kafu$import_enter"
#define IMPORT_LEAVE "kafu$import_leave"
#define IMPORT_POLL KAFU_SNAPIFY_IMPORT_POLL

/* Per-function plan, indexed like the pre-transform graph. */
typedef struct plan_func {
  int sites[3]; /* dest, offload, point: site id or -1 */
  bool polled;  /* in a MAY_OFFLOAD region (or --policy always) */
  bool *want;   /* per scan.loops[i]: gets a poll (owned; NULL if no loops) */
} plan_func;

typedef struct ctx {
  BinaryenModuleRef mod;
  const char *label;
  const kafu_snapify_options *opts;
  kafu_error *err;
  kafu_snapify_graph graph; /* of the input module */
  plan_func *plan;
  kafu_meta meta;
  bool need_enter_leave, need_poll;
} ctx;

static kafu_err fail_nomem(ctx *c) {
  return kafu_fail(c->err, KAFU_E_NOMEM, "%s: out of memory", c->label);
}

static bool has_function(BinaryenModuleRef mod, const char *name) {
  return BinaryenGetFunction(mod, name) != NULL;
}

/* Refuses inputs snapify cannot or must not transform. */
static kafu_err check_module(ctx *c) {
  BinaryenExportRef start = BinaryenGetExport(c->mod, "_start");
  if (!start || BinaryenExportGetKind(start) != BinaryenExternalFunction())
    return kafu_fail(c->err, KAFU_E_INPUT, "%s: not a WASI command module (no _start export)",
                     c->label);
  static const char *const reserved_funcs[] = {KAFU_SNAPIFY_GLOBALS_SAVE,
                                               KAFU_SNAPIFY_GLOBALS_RESTORE,
                                               IMPORT_ENTER,
                                               IMPORT_LEAVE,
                                               IMPORT_POLL,
                                               "asyncify_start_unwind"};
  for (size_t i = 0; i < sizeof reserved_funcs / sizeof *reserved_funcs; i++)
    if (has_function(c->mod, reserved_funcs[i]) || BinaryenGetExport(c->mod, reserved_funcs[i]))
      return kafu_fail(c->err, KAFU_E_INPUT, "%s: module already defines '%s' (already snapified?)",
                       c->label, reserved_funcs[i]);
  if (BinaryenGetGlobal(c->mod, KAFU_SNAPIFY_COUNTDOWN) ||
      BinaryenGetExport(c->mod, KAFU_SNAPIFY_COUNTDOWN))
    return kafu_fail(c->err, KAFU_E_INPUT, "%s: module already defines '%s' (already snapified?)",
                     c->label, KAFU_SNAPIFY_COUNTDOWN);
  for (size_t i = 0; i < c->graph.n_funcs; i++) {
    const kafu_snapify_func *f = &c->graph.funcs[i];
    const char *suffix = strstr(f->name, KAFU_SNAPIFY_BODY_SUFFIX);
    if (suffix && !suffix[strlen(KAFU_SNAPIFY_BODY_SUFFIX)])
      return kafu_fail(c->err, KAFU_E_INPUT,
                       "%s: module already has function '%s' (already snapified?)", c->label,
                       f->name);
  }
  return KAFU_OK;
}

/* Indirect calls are resolved against the element segments, which only holds
 * if nothing rewrites the table. Checked before validation, since such
 * modules usually need the reference-types feature Kafu does not enable. */
static kafu_err check_table_writes(ctx *c) {
  for (size_t i = 0; i < c->graph.n_funcs; i++) {
    const kafu_snapify_func *f = &c->graph.funcs[i];
    if (f->scan.mutates_table) {
      char *human = kafu_snapify_name_unescape(f->name);
      kafu_fail(c->err, KAFU_E_UNSUPPORTED,
                "%s: function '%s' mutates the table (table.set/table.grow); snapify cannot "
                "resolve indirect calls in such modules",
                c->label, human ? human : f->name);
      free(human);
      return KAFU_E_UNSUPPORTED;
    }
  }
  return KAFU_OK;
}

/* Adds or updates the site (kind, func) with node and source position. */
static kafu_err add_annotation(ctx *c, kafu_site_kind kind, const char *func, const char *node,
                               const char *file, uint32_t line) {
  if (kind != KAFU_SITE_DEST && kind != KAFU_SITE_OFFLOAD)
    return kafu_fail(c->err, KAFU_E_INPUT,
                     "%s: annotation of '%s' has kind %d (want dest or offload)", c->label, func,
                     (int)kind);
  if (!func || !func[0])
    return kafu_fail(c->err, KAFU_E_INPUT, "%s: annotation with an empty function name", c->label);
  char *internal = kafu_snapify_name_escape(func);
  if (!internal) return fail_nomem(c);
  long idx = kafu_snapify_graph_find(&c->graph, internal);
  free(internal);
  if (idx < 0)
    return kafu_fail(c->err, KAFU_E_INPUT, "%s: annotated function '%s' not found in module",
                     c->label, func);
  if (c->graph.funcs[idx].imported)
    return kafu_fail(c->err, KAFU_E_INPUT, "%s: annotated function '%s' is an import", c->label,
                     func);
  int slot = kind == KAFU_SITE_DEST ? 0 : 1;
  int existing = c->plan[idx].sites[slot];
  if (existing >= 0) { /* a later annotation of the same kind wins */
    kafu_site *s = &c->meta.sites[existing];
    char *copy = strdup(node ? node : "");
    if (!copy) return fail_nomem(c);
    free(s->node);
    s->node = copy;
    return KAFU_OK;
  }
  int id = kafu_meta_add_site(&c->meta, kind, func, node ? node : "", file ? file : "", line);
  if (id < 0) return fail_nomem(c);
  c->plan[idx].sites[slot] = id;
  return KAFU_OK;
}

static kafu_err collect_sites(ctx *c, const kafu_meta *in_meta) {
  kafu_err rc;
  for (size_t i = 0; in_meta && i < in_meta->n_sites; i++) {
    const kafu_site *s = &in_meta->sites[i];
    if (s->kind == KAFU_SITE_POINT) continue; /* points are snapify's own, recomputed */
    rc = add_annotation(c, s->kind, s->func, s->node, s->file, s->line);
    if (rc != KAFU_OK) return rc;
  }
  for (size_t i = 0; i < c->opts->n_extra; i++) {
    const kafu_snapify_annotation *a = &c->opts->extra[i];
    rc = add_annotation(c, a->kind, a->func, a->node, "", 0);
    if (rc != KAFU_OK) return rc;
  }
  if (c->opts->policy == KAFU_POLICY_ALWAYS) {
    for (size_t i = 0; i < c->graph.n_funcs; i++) {
      if (c->graph.funcs[i].imported || c->plan[i].sites[0] >= 0 || c->plan[i].sites[1] >= 0)
        continue;
      char *human = kafu_snapify_name_unescape(c->graph.funcs[i].name);
      if (!human) return fail_nomem(c);
      int id = kafu_meta_add_site(&c->meta, KAFU_SITE_POINT, human, "", "", 0);
      free(human);
      if (id < 0) return fail_nomem(c);
      c->plan[i].sites[2] = id;
    }
  }
  return KAFU_OK;
}

/* Polls go into MAY_OFFLOAD functions and everything they may call; with
 * --policy always into every defined function. */
static void plan_polls(ctx *c) {
  kafu_snapify_graph *g = &c->graph;
  for (size_t i = 0; i < g->n_funcs; i++)
    g->funcs[i].mark =
        c->opts->policy == KAFU_POLICY_ALWAYS ? !g->funcs[i].imported : c->plan[i].sites[1] >= 0;
  kafu_snapify_graph_close_callees(g, c->mod);
  for (size_t i = 0; i < g->n_funcs; i++) {
    c->plan[i].polled = g->funcs[i].mark && !g->funcs[i].imported;
    if (c->plan[i].sites[0] >= 0 || c->plan[i].sites[1] >= 0 || c->plan[i].sites[2] >= 0)
      c->need_enter_leave = true;
  }
}

/* Which loops of each polled function get a poll. --policy always keeps one
 * in every loop: it is the testing mode. Under --policy kafu a function that
 * is in the region only as a callee (no OFFLOAD site of its own) and makes no
 * calls is a leaf helper like memcpy: its caller's polls cover its counted
 * loops as they cover nested ones, so the helper stays uninstrumented. */
static kafu_err plan_loop_polls(ctx *c) {
  for (size_t i = 0; i < c->graph.n_funcs; i++) {
    const kafu_snapify_scan *scan = &c->graph.funcs[i].scan;
    if (!c->plan[i].polled || !scan->n_loops) continue;
    bool *want = malloc(scan->n_loops * sizeof *want);
    if (!want) return fail_nomem(c);
    c->plan[i].want = want;
    for (size_t l = 0; l < scan->n_loops; l++)
      want[l] = true;
    if (c->opts->policy != KAFU_POLICY_ALWAYS) {
      bool leaf_callee = c->plan[i].sites[1] < 0 && !scan->n_callees && !scan->n_indirect;
      kafu_err rc = kafu_snapify_plan_loop_polls(scan, leaf_callee, want, c->err);
      if (rc != KAFU_OK) return kafu_error_prefix(c->err, c->label);
    }
    for (size_t l = 0; l < scan->n_loops; l++)
      if (want[l]) c->need_poll = true;
  }
  return KAFU_OK;
}

static BinaryenExpressionRef const_i32(BinaryenModuleRef mod, uint32_t v) {
  return BinaryenConst(mod, BinaryenLiteralInt32((int32_t)v));
}

/* Polls the wanted loop heads of every planned function. */
static kafu_err insert_polls(ctx *c) {
  for (size_t i = 0; i < c->graph.n_funcs; i++) {
    if (!c->plan[i].want) continue;
    uint32_t site = c->plan[i].sites[1] >= 0 ? (uint32_t)c->plan[i].sites[1] : KAFU_SNAPIFY_NO_SITE;
    const kafu_snapify_scan *scan = &c->graph.funcs[i].scan;
    for (size_t l = scan->n_loops; l-- > 0;) {
      if (!c->plan[i].want[l]) continue;
      kafu_snapify_poll_loop(c->mod, scan->loops[l], IMPORT_POLL, site);
    }
  }
  return KAFU_OK;
}

/* Moves f's body into f$kafu_body and makes f call it between enter and leave
 * of each of its sites (dest outermost, then offload, then point). */
static kafu_err wrap_function(ctx *c, size_t idx) {
  BinaryenModuleRef mod = c->mod;
  const char *name = c->graph.funcs[idx].name;
  BinaryenFunctionRef ref = BinaryenGetFunction(mod, name);
  BinaryenType params = BinaryenFunctionGetParams(ref);
  BinaryenType results = BinaryenFunctionGetResults(ref);
  BinaryenIndex n_vars = BinaryenFunctionGetNumVars(ref);
  uint32_t n_params = BinaryenTypeArity(params);
  BinaryenExpressionRef body = BinaryenFunctionGetBody(ref);
  size_t body_name_len = strlen(name) + sizeof KAFU_SNAPIFY_BODY_SUFFIX;
  char *body_name = malloc(body_name_len);
  BinaryenType *vars = malloc((n_vars + 1) * sizeof *vars);
  BinaryenType *ptypes = malloc((n_params + 1) * sizeof *ptypes);
  BinaryenExpressionRef *args = malloc((n_params + 1) * sizeof *args);
  BinaryenExpressionRef list[8];
  size_t n_list = 0;
  kafu_err rc = KAFU_OK;
  if (!body_name || !vars || !ptypes || !args) {
    rc = fail_nomem(c);
    goto out;
  }
  snprintf(body_name, body_name_len, "%s%s", name, KAFU_SNAPIFY_BODY_SUFFIX);
  if (has_function(mod, body_name)) {
    rc = kafu_fail(c->err, KAFU_E_INPUT, "%s: module already has function '%s'", c->label,
                   body_name);
    goto out;
  }
  for (BinaryenIndex v = 0; v < n_vars; v++)
    vars[v] = BinaryenFunctionGetVar(ref, v);
  BinaryenTypeExpand(params, ptypes);
  for (uint32_t p = 0; p < n_params; p++)
    args[p] = BinaryenLocalGet(mod, p, ptypes[p]);

  BinaryenRemoveFunction(mod, name);
  BinaryenAddFunction(mod, body_name, params, results, vars, n_vars, body);

  int order[3] = {c->plan[idx].sites[0], c->plan[idx].sites[1], c->plan[idx].sites[2]};
  for (int k = 0; k < 3; k++) {
    if (order[k] < 0) continue;
    BinaryenExpressionRef site = const_i32(mod, (uint32_t)order[k]);
    list[n_list++] = BinaryenCall(mod, IMPORT_ENTER, &site, 1, BinaryenTypeNone());
  }
  BinaryenExpressionRef call = BinaryenCall(mod, body_name, args, n_params, results);
  bool has_result = results != BinaryenTypeNone();
  list[n_list++] = has_result ? BinaryenLocalSet(mod, n_params, call) : call;
  for (int k = 2; k >= 0; k--) {
    if (order[k] < 0) continue;
    BinaryenExpressionRef site = const_i32(mod, (uint32_t)order[k]);
    list[n_list++] = BinaryenCall(mod, IMPORT_LEAVE, &site, 1, BinaryenTypeNone());
  }
  if (has_result) list[n_list++] = BinaryenLocalGet(mod, n_params, results);
  BinaryenExpressionRef wrapper = BinaryenBlock(mod, NULL, list, (BinaryenIndex)n_list,
                                                has_result ? results : BinaryenTypeNone());
  BinaryenAddFunction(mod, name, params, results, has_result ? &results : NULL, has_result ? 1 : 0,
                      wrapper);
out:
  free(body_name);
  free(vars);
  free(ptypes);
  free(args);
  return rc;
}

/* kafu_globals_save/restore(addr): every original mutable global at addr+8*i. */
static kafu_err add_globals_save_restore(ctx *c) {
  BinaryenModuleRef mod = c->mod;
  BinaryenIndex n = BinaryenGetNumGlobals(mod);
  BinaryenExpressionRef *saves = malloc((n + 1) * sizeof *saves);
  BinaryenExpressionRef *loads = malloc((n + 1) * sizeof *loads);
  uint32_t k = 0;
  kafu_err rc = KAFU_OK;
  BinaryenType i32 = BinaryenTypeInt32();
  if (!saves || !loads) {
    rc = fail_nomem(c);
    goto out;
  }
  for (BinaryenIndex i = 0; i < n; i++) {
    BinaryenGlobalRef g = BinaryenGetGlobalByIndex(mod, i);
    if (!BinaryenGlobalIsMutable(g)) continue;
    BinaryenType t = BinaryenGlobalGetType(g);
    const char *gname = BinaryenGlobalGetName(g);
    uint32_t bytes;
    if (t == BinaryenTypeInt32() || t == BinaryenTypeFloat32()) {
      bytes = 4;
    } else if (t == BinaryenTypeInt64() || t == BinaryenTypeFloat64()) {
      bytes = 8;
    } else {
      rc = kafu_fail(c->err, KAFU_E_UNSUPPORTED,
                     "%s: mutable global '%s' is not a number (i32/i64/f32/f64)", c->label, gname);
      goto out;
    }
    saves[k] = BinaryenStore(mod, bytes, 8 * k, bytes, BinaryenLocalGet(mod, 0, i32),
                             BinaryenGlobalGet(mod, gname, t), t);
    loads[k] = BinaryenGlobalSet(
        mod, gname,
        BinaryenLoad(mod, bytes, false, 8 * k, bytes, t, BinaryenLocalGet(mod, 0, i32)));
    k++;
  }
  c->meta.n_globals = k;
  BinaryenAddFunction(mod, KAFU_SNAPIFY_GLOBALS_SAVE, i32, BinaryenTypeNone(), NULL, 0,
                      BinaryenBlock(mod, NULL, saves, k, BinaryenTypeNone()));
  BinaryenAddFunction(mod, KAFU_SNAPIFY_GLOBALS_RESTORE, i32, BinaryenTypeNone(), NULL, 0,
                      BinaryenBlock(mod, NULL, loads, k, BinaryenTypeNone()));
  BinaryenAddFunctionExport(mod, KAFU_SNAPIFY_GLOBALS_SAVE, KAFU_SNAPIFY_GLOBALS_SAVE);
  BinaryenAddFunctionExport(mod, KAFU_SNAPIFY_GLOBALS_RESTORE, KAFU_SNAPIFY_GLOBALS_RESTORE);
out:
  free(saves);
  free(loads);
  return rc;
}

/* state_base: the support library's exported kafu_state_region global, else
 * the kafu section's (0 = the host reserves the region). */
static kafu_err find_state_region(ctx *c, const kafu_meta *in_meta) {
  c->meta.state_size = c->opts->state_size              ? c->opts->state_size
                       : in_meta && in_meta->state_size ? in_meta->state_size
                                                        : KAFU_STATE_SIZE_DEFAULT;
  c->meta.state_base = in_meta ? in_meta->state_base : 0;
  BinaryenExportRef exp = BinaryenGetExport(c->mod, KAFU_SNAPIFY_STATE_EXPORT);
  if (exp) {
    BinaryenGlobalRef g = BinaryenExportGetKind(exp) == BinaryenExternalGlobal()
                              ? BinaryenGetGlobal(c->mod, BinaryenExportGetValue(exp))
                              : NULL;
    BinaryenExpressionRef init = g ? BinaryenGlobalGetInitExpr(g) : NULL;
    if (!init || BinaryenExpressionGetId(init) != BinaryenConstId() ||
        BinaryenExpressionGetType(init) != BinaryenTypeInt32())
      return kafu_fail(c->err, KAFU_E_INPUT,
                       "%s: export '%s' is not a global initialized with an i32 constant", c->label,
                       KAFU_SNAPIFY_STATE_EXPORT);
    c->meta.state_base = (uint32_t)BinaryenConstGetValueI32(init);
    /* the support library's array has the size kafu cc wrote; never exceed it */
    if (c->opts->state_size && in_meta && in_meta->state_size &&
        c->opts->state_size > in_meta->state_size)
      return kafu_fail(c->err, KAFU_E_INPUT,
                       "%s: the module reserves %u bytes for migration state (kafu cc "
                       "--state-size); a state size of %u would overflow it",
                       c->label, in_meta->state_size, c->opts->state_size);
  }
  uint64_t fixed = 8 + 8ull * c->meta.n_globals;
  if (c->meta.state_size <= fixed)
    return kafu_fail(c->err, KAFU_E_LIMIT,
                     "%s: state region of %u bytes cannot hold %u globals and any frames", c->label,
                     c->meta.state_size, c->meta.n_globals);
  if ((uint64_t)c->meta.state_base + c->meta.state_size > UINT32_MAX)
    return kafu_fail(c->err, KAFU_E_INPUT, "%s: state region at 0x%x of %u bytes wraps around",
                     c->label, c->meta.state_base, c->meta.state_size);
  return KAFU_OK;
}

static void add_imports_and_countdown(ctx *c) {
  BinaryenModuleRef mod = c->mod;
  BinaryenType i32 = BinaryenTypeInt32(), none = BinaryenTypeNone();
  BinaryenAddGlobal(mod, KAFU_SNAPIFY_COUNTDOWN, i32, true, const_i32(mod, 1));
  BinaryenAddGlobalExport(mod, KAFU_SNAPIFY_COUNTDOWN, KAFU_SNAPIFY_COUNTDOWN);
  if (c->need_enter_leave) {
    BinaryenAddFunctionImport(mod, IMPORT_ENTER, "kafu", "enter", i32, none);
    BinaryenAddFunctionImport(mod, IMPORT_LEAVE, "kafu", "leave", i32, none);
  }
  if (c->need_poll) BinaryenAddFunctionImport(mod, IMPORT_POLL, "kafu", "poll", i32, i32);
}

static bool is_generated(const char *name) {
  return !strcmp(name, KAFU_SNAPIFY_GLOBALS_SAVE) || !strcmp(name, KAFU_SNAPIFY_GLOBALS_RESTORE);
}

/* Asyncify instruments exactly the functions that may reach a kafu.* import:
 * reverse reachability over the transformed module's call graph. Fills the
 * meta's instrumented list (human names, module order) and *only. */
static kafu_err plan_instrumentation(ctx *c, kafu_snapify_graph *after, const char ***only,
                                     size_t *n_only) {
  kafu_err rc = kafu_snapify_graph_build(c->mod, after, c->err);
  if (rc != KAFU_OK) return kafu_error_prefix(c->err, c->label);
  for (size_t i = 0; i < after->n_funcs; i++) {
    const char *n = after->funcs[i].name;
    after->funcs[i].mark =
        after->funcs[i].imported &&
        (!strcmp(n, IMPORT_ENTER) || !strcmp(n, IMPORT_LEAVE) || !strcmp(n, IMPORT_POLL));
  }
  kafu_snapify_graph_close_callers(after, c->mod);
  *only = calloc(after->n_funcs + 1, sizeof **only);
  c->meta.instrumented = calloc(after->n_funcs + 1, sizeof *c->meta.instrumented);
  if (!*only || !c->meta.instrumented) return fail_nomem(c);
  for (size_t i = 0; i < after->n_funcs; i++) {
    kafu_snapify_func *f = &after->funcs[i];
    if (f->imported || is_generated(f->name)) continue;
    c->meta.n_funcs++;
    if (!f->mark) continue;
    char *human = kafu_snapify_name_unescape(f->name);
    if (!human) return fail_nomem(c);
    if (f->scan.tail_call) {
      kafu_fail(c->err, KAFU_E_UNSUPPORTED,
                "%s: function '%s' can reach a migration point and uses tail calls, which "
                "Asyncify does not support",
                c->label, human);
      free(human);
      return KAFU_E_UNSUPPORTED;
    }
    c->meta.instrumented[c->meta.n_instrumented++] = human;
    (*only)[(*n_only)++] = f->name;
  }
  return KAFU_OK;
}

kafu_err kafu_snapify_transform(const uint8_t *wasm, size_t len, const kafu_meta *in_meta,
                                const kafu_snapify_options *opts, uint8_t **out_wasm,
                                size_t *out_len, kafu_meta *out_meta, kafu_error *err) {
  ctx c = {0};
  kafu_snapify_graph after = {0};
  const char **only = NULL;
  size_t n_only = 0;
  kafu_err rc = KAFU_OK;
  c.label = opts->label ? opts->label : "module";
  c.opts = opts;
  c.err = err;
  *out_wasm = NULL;
  *out_len = 0;

  c.mod = BinaryenModuleRead((char *)wasm, len);
  BinaryenModuleSetFeatures(c.mod, BinaryenModuleGetFeatures(c.mod) |
                                       BinaryenFeatureMutableGlobals() | BinaryenFeatureSignExt() |
                                       BinaryenFeatureBulkMemory() |
                                       BinaryenFeatureNontrappingFPToInt());
  if ((rc = kafu_snapify_graph_build(c.mod, &c.graph, err)) != KAFU_OK) {
    kafu_error_prefix(err, c.label);
    goto out;
  }
  if ((rc = check_table_writes(&c)) != KAFU_OK) goto out;
  if (!BinaryenModuleValidate(c.mod)) {
    rc = kafu_fail(err, KAFU_E_INPUT, "%s: not a valid wasm module (validation failed)", c.label);
    goto out;
  }
  kafu_snapify_note_input_ok();
  c.plan = malloc((c.graph.n_funcs + 1) * sizeof *c.plan);
  if (!c.plan) {
    rc = fail_nomem(&c);
    goto out;
  }
  for (size_t i = 0; i < c.graph.n_funcs; i++) {
    c.plan[i].sites[0] = c.plan[i].sites[1] = c.plan[i].sites[2] = -1;
    c.plan[i].polled = false;
    c.plan[i].want = NULL;
  }
  if ((rc = check_module(&c)) != KAFU_OK || (rc = collect_sites(&c, in_meta)) != KAFU_OK) goto out;
  plan_polls(&c);
  if ((rc = plan_loop_polls(&c)) != KAFU_OK) goto out;
  if ((rc = add_globals_save_restore(&c)) != KAFU_OK ||
      (rc = find_state_region(&c, in_meta)) != KAFU_OK)
    goto out;
  add_imports_and_countdown(&c);
  if ((rc = insert_polls(&c)) != KAFU_OK) goto out;
  for (size_t i = 0; i < c.graph.n_funcs; i++) {
    const plan_func *p = &c.plan[i];
    if (p->sites[0] < 0 && p->sites[1] < 0 && p->sites[2] < 0) continue;
    if ((rc = wrap_function(&c, i)) != KAFU_OK) goto out;
  }
  if ((rc = plan_instrumentation(&c, &after, &only, &n_only)) != KAFU_OK) goto out;
  if ((rc = kafu_snapify_asyncify(c.mod, only, n_only, err)) != KAFU_OK) {
    kafu_error_prefix(err, c.label);
    goto out;
  }
  if (!BinaryenModuleValidate(c.mod)) {
    rc = kafu_fail(err, KAFU_E_INTERNAL, "%s: snapify produced an invalid module (a snapify bug)",
                   c.label);
    goto out;
  }
  BinaryenSetDebugInfo(true); /* keep the name section */
  BinaryenModuleAllocateAndWriteResult res = BinaryenModuleAllocateAndWrite(c.mod, NULL);
  free(res.sourceMap);
  if (!res.binary) {
    rc = fail_nomem(&c);
    goto out;
  }
  *out_wasm = res.binary;
  *out_len = res.binaryBytes;
  c.meta.flags =
      KAFU_META_FLAG_SNAPIFIED | (opts->policy == KAFU_POLICY_ALWAYS ? KAFU_META_FLAG_ALWAYS : 0);
  *out_meta = c.meta;
  memset(&c.meta, 0, sizeof c.meta);
out:
  /* before the graph goes: its n_funcs sizes the plan */
  for (size_t i = 0; c.plan && i < c.graph.n_funcs; i++)
    free(c.plan[i].want);
  free(c.plan);
  kafu_meta_free(&c.meta);
  kafu_snapify_graph_free(&c.graph);
  kafu_snapify_graph_free(&after);
  free(only);
  if (c.mod) BinaryenModuleDispose(c.mod);
  return rc;
}
