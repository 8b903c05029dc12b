/* A separate copy of each instrumented function that polls, for calls made
 * while not rewinding. Asyncify's rewind path reloads every local from the state region
 * at function entry; in the single instrumented body those reloads merge with
 * the normal path, so the C compiler (wasm2c + gcc under the aot engine) can
 * no longer treat the locals' zero initial values and ranges as known, and
 * keeps them all alive across every call. The copy knows that the state is
 * never "rewinding", and keeps it in a local that changes only after calls,
 * so that the C compiler also sees every Asyncify guard between two calls
 * pass without reloading the global after each store to linear memory; with
 * the local zeroed after each unwind test (unwind_tests.c), Binaryen's
 * constant propagation folds those guards before any engine sees them
 * (docs/abi.md, "Shape of the transformed code"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapify/internal.h"

/* Binaryen 108's Asyncify: its state global and the rewinding state. */
#define ASYNCIFY_STATE "__asyncify_state"
#define ASYNCIFY_REWINDING 2

static bool is_state(BinaryenExpressionRef e) {
  if (!e || BinaryenExpressionGetId(e) != BinaryenGlobalGetId()) return false;
  const char *name = BinaryenGlobalGetGetName(e);
  return name && !strcmp(name, ASYNCIFY_STATE);
}

/* `state & 1`: equal to the state (0 normal, 1 unwinding) wherever it is not
 * 2, and visibly never 2. */
static BinaryenExpressionRef masked_state(BinaryenModuleRef mod) {
  return BinaryenBinary(mod, BinaryenAndInt32(),
                        BinaryenGlobalGet(mod, ASYNCIFY_STATE, BinaryenTypeInt32()),
                        BinaryenConst(mod, BinaryenLiteralInt32(1)));
}

/* What a copy reads instead of the state global: the masked global, or the
 * copy's state local. */
typedef struct {
  BinaryenModuleRef mod;
  bool use_local;
  BinaryenIndex local;
} state_source;

static BinaryenExpressionRef state_value(const state_source *src) {
  return src->use_local ? BinaryenLocalGet(src->mod, src->local, BinaryenTypeInt32())
                        : masked_state(src->mod);
}

/* Replaces the state operands of one expression (as recorded by the walk). */
static void replace_state_reads(const state_source *src, BinaryenExpressionRef e) {
  BinaryenExpressionId id = BinaryenExpressionGetId(e);
  if (id == BinaryenUnaryId()) {
    if (is_state(BinaryenUnaryGetValue(e))) BinaryenUnarySetValue(e, state_value(src));
  } else if (id == BinaryenBinaryId()) {
    if (is_state(BinaryenBinaryGetLeft(e))) BinaryenBinarySetLeft(e, state_value(src));
    if (is_state(BinaryenBinaryGetRight(e))) BinaryenBinarySetRight(e, state_value(src));
  } else if (id == BinaryenSelectId()) {
    if (is_state(BinaryenSelectGetCondition(e))) BinaryenSelectSetCondition(e, state_value(src));
    if (is_state(BinaryenSelectGetIfTrue(e))) BinaryenSelectSetIfTrue(e, state_value(src));
    if (is_state(BinaryenSelectGetIfFalse(e))) BinaryenSelectSetIfFalse(e, state_value(src));
  } else if (id == BinaryenIfId()) {
    if (is_state(BinaryenIfGetCondition(e))) BinaryenIfSetCondition(e, state_value(src));
  } else if (id == BinaryenBreakId()) {
    if (is_state(BinaryenBreakGetCondition(e))) BinaryenBreakSetCondition(e, state_value(src));
    if (is_state(BinaryenBreakGetValue(e))) BinaryenBreakSetValue(e, state_value(src));
  }
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static char *normal_name(const char *name) {
  size_t len = strlen(name) + sizeof KAFU_SNAPIFY_NORMAL_SUFFIX;
  char *out = malloc(len);
  if (out) snprintf(out, len, "%s%s", name, KAFU_SNAPIFY_NORMAL_SUFFIX);
  return out;
}

/* The sorted name lists a copy is rewritten against. */
typedef struct {
  const char **instrumented; /* every instrumented function */
  size_t n_instrumented;
  const char **copied; /* those that get a copy */
  size_t n_copied;
} copy_plan;

static bool listed(const char *name, const char **sorted, size_t n) {
  return bsearch(&name, sorted, n, sizeof *sorted, cmp_str) != NULL;
}

static bool is_call(BinaryenExpressionRef e) {
  BinaryenExpressionId id = BinaryenExpressionGetId(e);
  return id == BinaryenCallId() || id == BinaryenCallIndirectId();
}

/* Whether the state can differ after `call` from before it: calls of
 * instrumented functions and of imports (kafu.poll, enter, leave among them),
 * and call_indirect, which is taken as able to. Tail calls leave the frame. */
static bool may_change_state(BinaryenModuleRef mod, BinaryenExpressionRef call,
                             const copy_plan *plan) {
  if (BinaryenExpressionGetId(call) == BinaryenCallIndirectId())
    return !BinaryenCallIndirectIsReturn(call);
  if (BinaryenCallIsReturn(call)) return false;
  const char *target = BinaryenCallGetTarget(call);
  if (listed(target, plan->instrumented, plan->n_instrumented)) return true;
  BinaryenFunctionRef ref = BinaryenGetFunction(mod, target);
  const char *imp = ref ? BinaryenFunctionImportGetModule(ref) : NULL;
  return !ref || (imp && imp[0]);
}

/* The locals a copy adds after f's own: the state local first, then one
 * temporary per call result type. */
#define MAX_EXTRA 8
typedef struct {
  BinaryenIndex base;
  BinaryenType types[MAX_EXTRA];
  size_t n;
} extra_locals;

static bool temp_for(extra_locals *x, BinaryenType type, BinaryenIndex *index) {
  for (size_t i = 1; i < x->n; i++)
    if (x->types[i] == type) {
      *index = x->base + (BinaryenIndex)i;
      return true;
    }
  if (x->n == MAX_EXTRA) return false;
  x->types[x->n] = type;
  *index = x->base + (BinaryenIndex)x->n++;
  return true;
}

/* Collects into tracked[] (room for scan->n_exprs) the indices of the
 * walked copy's calls after which the state may differ, and says whether
 * each can be followed by a reload of the state local: its result is none
 * or one value, and its parent is of a kind kafu_snapify_replace_operand
 * handles. */
static bool can_track_state(BinaryenModuleRef mod, const kafu_snapify_scan *scan,
                            const copy_plan *plan, extra_locals *x, size_t *tracked,
                            size_t *n_tracked) {
  *n_tracked = 0;
  for (size_t i = 0; i < scan->n_exprs; i++) {
    BinaryenExpressionRef call = scan->exprs[i], parent = kafu_snapify_parent(scan, i);
    if (!is_call(call) || !may_change_state(mod, call, plan)) continue;
    BinaryenType type = BinaryenExpressionGetType(call);
    BinaryenIndex tmp;
    if (type != BinaryenTypeNone() && (BinaryenTypeArity(type) != 1 || !temp_for(x, type, &tmp)))
      return false;
    if (parent && !kafu_snapify_replace_operand(parent, call, NULL)) return false;
    tracked[(*n_tracked)++] = i;
  }
  return true;
}

/* `call` followed by `state_local = state & 1`, with the call's value. */
static BinaryenExpressionRef reload_after(BinaryenModuleRef mod, BinaryenExpressionRef call,
                                          BinaryenIndex state_local, extra_locals *x) {
  BinaryenType type = BinaryenExpressionGetType(call);
  BinaryenExpressionRef reload = BinaryenLocalSet(mod, state_local, masked_state(mod));
  if (type == BinaryenTypeNone()) {
    BinaryenExpressionRef list[2] = {call, reload};
    return BinaryenBlock(mod, NULL, list, 2, BinaryenTypeNone());
  }
  BinaryenIndex tmp = 0;
  temp_for(x, type, &tmp); /* found: can_track_state added it */
  BinaryenExpressionRef list[3] = {BinaryenLocalSet(mod, tmp, call), reload,
                                   BinaryenLocalGet(mod, tmp, type)};
  return BinaryenBlock(mod, NULL, list, 3, type);
}

/* Rewrites the copy `*body` (f's locals end before x->base): state reads
 * come from a local that starts at 0 (the state on entry to a copy) and is
 * reloaded after every call that may change the state; where that cannot
 * be done for some call, they read the masked global instead. Direct calls
 * of functions with a copy go to the copy. */
static kafu_err rewrite_copy(BinaryenModuleRef mod, BinaryenExpressionRef *body,
                             const copy_plan *plan, extra_locals *x, kafu_error *err) {
  kafu_snapify_scan scan = {.want_parents = true};
  size_t *tracked = NULL, n_tracked = 0;
  kafu_err rc = kafu_snapify_walk(*body, &scan, err);
  if (rc != KAFU_OK) goto out;
  if (!(tracked = malloc((scan.n_exprs + 1) * sizeof *tracked))) {
    rc = kafu_fail(err, KAFU_E_NOMEM, "out of memory");
    goto out;
  }
  x->types[0] = BinaryenTypeInt32();
  x->n = 1;
  state_source src = {mod, can_track_state(mod, &scan, plan, x, tracked, &n_tracked), x->base};
  if (!src.use_local) x->n = 0;
  for (size_t r = 0; r < scan.n_global_readers; r++)
    replace_state_reads(&src, scan.global_readers[r]);
  for (size_t t = 0; src.use_local && t < n_tracked; t++) {
    BinaryenExpressionRef call = scan.exprs[tracked[t]];
    BinaryenExpressionRef parent = kafu_snapify_parent(&scan, tracked[t]);
    BinaryenExpressionRef wrapped = reload_after(mod, call, src.local, x);
    if (parent)
      kafu_snapify_replace_operand(parent, call, wrapped);
    else
      *body = wrapped;
  }
  if (src.use_local) kafu_snapify_zero_after_unwind_tests(mod, &scan, src.local);
  for (size_t c = 0; rc == KAFU_OK && c < scan.n_callees; c++) {
    if (!listed(scan.callees[c], plan->copied, plan->n_copied)) continue;
    char *target = normal_name(scan.callees[c]);
    if (!target)
      rc = kafu_fail(err, KAFU_E_NOMEM, "out of memory");
    else
      BinaryenCallSetTarget(scan.calls[c], target);
    free(target);
  }
out:
  free(tracked);
  kafu_snapify_scan_free(&scan);
  return rc;
}

/* f's new body: if (rewinding) BODY else return f$kafu_normal(params). */
static kafu_err dispatch(BinaryenModuleRef mod, BinaryenFunctionRef ref, const char *normal,
                         kafu_error *err) {
  BinaryenType params = BinaryenFunctionGetParams(ref);
  BinaryenType results = BinaryenFunctionGetResults(ref);
  uint32_t n_params = BinaryenTypeArity(params);
  BinaryenType *types = malloc((n_params + 1) * sizeof *types);
  BinaryenExpressionRef *args = malloc((n_params + 1) * sizeof *args);
  if (!types || !args) {
    free(types);
    free(args);
    return kafu_fail(err, KAFU_E_NOMEM, "out of memory");
  }
  BinaryenTypeExpand(params, types);
  for (uint32_t p = 0; p < n_params; p++)
    args[p] = BinaryenLocalGet(mod, p, types[p]);
  BinaryenExpressionRef call = BinaryenCall(mod, normal, args, n_params, results);
  BinaryenExpressionRef rewinding = BinaryenBinary(
      mod, BinaryenEqInt32(), BinaryenGlobalGet(mod, ASYNCIFY_STATE, BinaryenTypeInt32()),
      BinaryenConst(mod, BinaryenLiteralInt32(ASYNCIFY_REWINDING)));
  BinaryenFunctionSetBody(
      ref, BinaryenIf(mod, rewinding, BinaryenFunctionGetBody(ref), BinaryenReturn(mod, call)));
  free(types);
  free(args);
  return KAFU_OK;
}

static kafu_err add_copy(BinaryenModuleRef mod, const char *name, const copy_plan *plan,
                         kafu_error *err) {
  BinaryenFunctionRef ref = BinaryenGetFunction(mod, name);
  if (!ref) return kafu_fail(err, KAFU_E_INTERNAL, "instrumented function '%s' vanished", name);
  char *normal = normal_name(name);
  BinaryenIndex n_vars = BinaryenFunctionGetNumVars(ref);
  BinaryenType *vars = malloc((n_vars + MAX_EXTRA) * sizeof *vars);
  kafu_err rc = KAFU_OK;
  if (!normal || !vars) {
    rc = kafu_fail(err, KAFU_E_NOMEM, "out of memory");
    goto out;
  }
  if (BinaryenGetFunction(mod, normal)) {
    rc = kafu_fail(err, KAFU_E_INPUT, "module already has function '%s'", normal);
    goto out;
  }
  for (BinaryenIndex v = 0; v < n_vars; v++)
    vars[v] = BinaryenFunctionGetVar(ref, v);
  extra_locals x = {.base = BinaryenTypeArity(BinaryenFunctionGetParams(ref)) + n_vars};
  BinaryenExpressionRef copy = BinaryenExpressionCopy(BinaryenFunctionGetBody(ref), mod);
  if ((rc = rewrite_copy(mod, &copy, plan, &x, err)) != KAFU_OK) goto out;
  for (size_t i = 0; i < x.n; i++) vars[n_vars + i] = x.types[i];
  BinaryenFunctionRef fn =
      BinaryenAddFunction(mod, normal, BinaryenFunctionGetParams(ref),
                          BinaryenFunctionGetResults(ref), vars, n_vars + (BinaryenIndex)x.n, copy);
  /* fold the state reads that are known 0, and the guards they decide */
  static const char *fold_passes[] = {"precompute-propagate", "optimize-instructions",
                                      "precompute",           "vacuum",
                                      "remove-unused-brs",    "merge-blocks",
                                      "vacuum"};
  if (x.n) BinaryenFunctionRunPasses(fn, mod, fold_passes, sizeof fold_passes / sizeof *fold_passes);
  rc = dispatch(mod, ref, normal, err);
out:
  free(normal);
  free(vars);
  return rc;
}

/* Whether func's body calls the poll import: the functions with hot
 * polled loops, the only ones whose copy pays for its code. */
static kafu_err polls(BinaryenModuleRef mod, const char *func, bool *out, kafu_error *err) {
  *out = false;
  BinaryenFunctionRef ref = BinaryenGetFunction(mod, func);
  if (!ref) return kafu_fail(err, KAFU_E_INTERNAL, "instrumented function '%s' vanished", func);
  kafu_snapify_scan scan = {0};
  kafu_err rc = kafu_snapify_walk(BinaryenFunctionGetBody(ref), &scan, err);
  for (size_t c = 0; rc == KAFU_OK && c < scan.n_callees && !*out; c++)
    *out = !strcmp(scan.callees[c], KAFU_SNAPIFY_IMPORT_POLL);
  kafu_snapify_scan_free(&scan);
  return rc;
}

kafu_err kafu_snapify_split_rewind(BinaryenModuleRef mod, const char *const *funcs, size_t n,
                                   kafu_error *err) {
  BinaryenGlobalRef state = BinaryenGetGlobal(mod, ASYNCIFY_STATE);
  if (!state || BinaryenGlobalGetType(state) != BinaryenTypeInt32())
    return kafu_fail(err, KAFU_E_INTERNAL, "asyncify left no i32 global '%s'", ASYNCIFY_STATE);
  copy_plan plan = {malloc((n ? n : 1) * sizeof(char *)), n, malloc((n ? n : 1) * sizeof(char *)),
                    0};
  kafu_err rc = KAFU_OK;
  if (!plan.instrumented || !plan.copied) {
    rc = kafu_fail(err, KAFU_E_NOMEM, "out of memory");
    goto out;
  }
  for (size_t i = 0; i < n && rc == KAFU_OK; i++) {
    bool has_polls = false;
    plan.instrumented[i] = funcs[i];
    rc = polls(mod, funcs[i], &has_polls, err);
    if (has_polls) plan.copied[plan.n_copied++] = funcs[i];
  }
  qsort(plan.instrumented, n, sizeof(char *), cmp_str);
  qsort(plan.copied, plan.n_copied, sizeof(char *), cmp_str);
  for (size_t i = 0; i < plan.n_copied && rc == KAFU_OK; i++)
    rc = add_copy(mod, plan.copied[i], &plan, err);
out:
  free(plan.instrumented);
  free(plan.copied);
  return rc;
}
