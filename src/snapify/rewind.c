/* A separate copy of each instrumented function that polls, for calls made
 * while not rewinding. Asyncify's rewind path reloads every local from the state region
 * at function entry; in the single instrumented body those reloads merge with
 * the normal path, so the C compiler (wasm2c + gcc under the aot engine) can
 * no longer treat the locals' zero initial values and ranges as known, and
 * keeps them all alive across every call. The copy knows that the state is
 * never "rewinding" (docs/abi.md, "Shape of the transformed code"). */
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

/* Replaces the state operands of one expression (as recorded by the walk). */
static void mask_operands(BinaryenModuleRef mod, BinaryenExpressionRef e) {
  BinaryenExpressionId id = BinaryenExpressionGetId(e);
  if (id == BinaryenUnaryId()) {
    if (is_state(BinaryenUnaryGetValue(e))) BinaryenUnarySetValue(e, masked_state(mod));
  } else if (id == BinaryenBinaryId()) {
    if (is_state(BinaryenBinaryGetLeft(e))) BinaryenBinarySetLeft(e, masked_state(mod));
    if (is_state(BinaryenBinaryGetRight(e))) BinaryenBinarySetRight(e, masked_state(mod));
  } else if (id == BinaryenSelectId()) {
    if (is_state(BinaryenSelectGetCondition(e))) BinaryenSelectSetCondition(e, masked_state(mod));
    if (is_state(BinaryenSelectGetIfTrue(e))) BinaryenSelectSetIfTrue(e, masked_state(mod));
    if (is_state(BinaryenSelectGetIfFalse(e))) BinaryenSelectSetIfFalse(e, masked_state(mod));
  } else if (id == BinaryenIfId()) {
    if (is_state(BinaryenIfGetCondition(e))) BinaryenIfSetCondition(e, masked_state(mod));
  } else if (id == BinaryenBreakId()) {
    if (is_state(BinaryenBreakGetCondition(e))) BinaryenBreakSetCondition(e, masked_state(mod));
    if (is_state(BinaryenBreakGetValue(e))) BinaryenBreakSetValue(e, masked_state(mod));
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

/* Masks the state reads of `body` and points its direct calls to functions in
 * sorted[0..n) at their copies. */
static kafu_err rewrite_copy(BinaryenModuleRef mod, BinaryenExpressionRef body, const char **sorted,
                             size_t n, kafu_error *err) {
  kafu_snapify_scan scan = {0};
  kafu_err rc = kafu_snapify_walk(body, &scan, err);
  for (size_t r = 0; rc == KAFU_OK && r < scan.n_global_readers; r++)
    mask_operands(mod, scan.global_readers[r]);
  for (size_t c = 0; rc == KAFU_OK && c < scan.n_callees; c++) {
    if (!bsearch(&scan.callees[c], sorted, n, sizeof *sorted, cmp_str)) continue;
    char *target = normal_name(scan.callees[c]);
    if (!target)
      rc = kafu_fail(err, KAFU_E_NOMEM, "out of memory");
    else
      BinaryenCallSetTarget(scan.calls[c], target);
    free(target);
  }
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

static kafu_err add_copy(BinaryenModuleRef mod, const char *name, const char **sorted, size_t n,
                         kafu_error *err) {
  BinaryenFunctionRef ref = BinaryenGetFunction(mod, name);
  if (!ref) return kafu_fail(err, KAFU_E_INTERNAL, "instrumented function '%s' vanished", name);
  char *normal = normal_name(name);
  BinaryenIndex n_vars = BinaryenFunctionGetNumVars(ref);
  BinaryenType *vars = malloc((n_vars + 1) * sizeof *vars);
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
  BinaryenExpressionRef copy = BinaryenExpressionCopy(BinaryenFunctionGetBody(ref), mod);
  if ((rc = rewrite_copy(mod, copy, sorted, n, err)) != KAFU_OK) goto out;
  BinaryenAddFunction(mod, normal, BinaryenFunctionGetParams(ref), BinaryenFunctionGetResults(ref),
                      vars, n_vars, copy);
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
  const char **sorted = malloc((n ? n : 1) * sizeof *sorted);
  if (!sorted) return kafu_fail(err, KAFU_E_NOMEM, "out of memory");
  size_t n_copied = 0;
  kafu_err rc = KAFU_OK;
  for (size_t i = 0; i < n && rc == KAFU_OK; i++) {
    bool has_polls = false;
    rc = polls(mod, funcs[i], &has_polls, err);
    if (has_polls) sorted[n_copied++] = funcs[i];
  }
  qsort(sorted, n_copied, sizeof *sorted, cmp_str);
  for (size_t i = 0; i < n_copied && rc == KAFU_OK; i++)
    rc = add_copy(mod, sorted[i], sorted, n_copied, err);
  free(sorted);
  return rc;
}
