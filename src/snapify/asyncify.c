/* Driving Binaryen 108's Asyncify pass: pass arguments, the only-list, and
 * shielding uninstrumented functions from the pass's whole-module rewrites. */
#include <stdlib.h>
#include <string.h>

#include "snapify/internal.h"

typedef struct hidden_func {
  const char *name;
  BinaryenType params, results;
  BinaryenType *vars;
  BinaryenIndex n_vars;
  BinaryenExpressionRef body;
} hidden_func;

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Appends one only-list entry. Asyncify wants human names (it escapes them
 * itself), splits the list on ',' and counts ()[]{}<> as brackets; so those
 * characters become '*' wildcards. A wildcard may match a few more functions,
 * which only instruments more than needed. */
static bool append_entry(kafu_buf *list, const char *internal) {
  char *human = kafu_snapify_name_unescape(internal);
  if (!human) return false;
  if (list->len) kafu_buf_u8(list, ',');
  for (const char *p = human; *p; p++)
    kafu_buf_u8(list, (uint8_t)(strchr(",()[]{}<>", *p) ? '*' : *p));
  free(human);
  return true;
}

kafu_err kafu_snapify_asyncify(BinaryenModuleRef mod, const char *const *only, size_t n_only,
                               kafu_error *err) {
  kafu_err rc = KAFU_OK;
  BinaryenIndex n_funcs = BinaryenGetNumFunctions(mod);
  hidden_func *hidden = calloc(n_funcs ? n_funcs : 1, sizeof *hidden);
  const char **sorted = malloc((n_only ? n_only : 1) * sizeof *sorted);
  size_t n_hidden = 0;
  kafu_buf list = {0};
  if (!hidden || !sorted) goto nomem;
  memcpy(sorted, only, n_only * sizeof *sorted);
  qsort(sorted, n_only, sizeof *sorted, cmp_str);

  for (BinaryenIndex i = 0; i < n_funcs; i++) {
    BinaryenFunctionRef ref = BinaryenGetFunctionByIndex(mod, i);
    const char *imp = BinaryenFunctionImportGetModule(ref);
    const char *name = BinaryenFunctionGetName(ref);
    if (imp && imp[0]) continue;
    if (bsearch(&name, sorted, n_only, sizeof *sorted, cmp_str)) continue;
    hidden_func *h = &hidden[n_hidden++];
    h->name = name;
    h->params = BinaryenFunctionGetParams(ref);
    h->results = BinaryenFunctionGetResults(ref);
    h->n_vars = BinaryenFunctionGetNumVars(ref);
    h->vars = malloc((h->n_vars + 1) * sizeof *h->vars);
    if (!h->vars) goto nomem;
    for (BinaryenIndex v = 0; v < h->n_vars; v++) h->vars[v] = BinaryenFunctionGetVar(ref, v);
    h->body = BinaryenFunctionGetBody(ref);
    BinaryenFunctionSetBody(ref, BinaryenUnreachable(mod));
  }

  /* A list starting with '@' would be read as a response file name. */
  size_t first = 0;
  while (first < n_only && only[first][0] == '@') first++;
  if (first < n_only && !append_entry(&list, only[first])) goto nomem;
  for (size_t i = 0; i < n_only; i++)
    if (i != first && !append_entry(&list, only[i])) goto nomem;
  kafu_buf_u8(&list, 0);
  if (list.failed) goto nomem;

  BinaryenClearPassArguments();
  BinaryenSetPassArgument("asyncify-imports", "kafu.enter,kafu.leave,kafu.poll");
  BinaryenSetPassArgument("asyncify-ignore-indirect", "1");
  if (n_only) BinaryenSetPassArgument("asyncify-onlylist", (const char *)list.data);
  const char *verbose = getenv("KAFU_SNAPIFY_VERBOSE"); /* Asyncify's decisions, on stdout */
  if (verbose && verbose[0] == '1') BinaryenSetPassArgument("asyncify-verbose", "1");
  /* Asyncify optimizes the functions it instruments when optimizeLevel > 0;
   * that keeps the number of saved locals, and so the state region, small. */
  BinaryenSetOptimizeLevel(2);
  BinaryenSetShrinkLevel(1);
  const char *passes[] = {"asyncify"};
  BinaryenModuleRunPasses(mod, passes, 1);
  BinaryenClearPassArguments();

  /* Put the hidden bodies back (re-adding restores their local lists, which
   * the pre-passes may have pruned from the stubs). */
  for (size_t i = 0; i < n_hidden; i++) {
    hidden_func *h = &hidden[i];
    BinaryenRemoveFunction(mod, h->name);
    BinaryenAddFunction(mod, h->name, h->params, h->results, h->vars, h->n_vars, h->body);
  }
  if (n_only) rc = kafu_snapify_split_rewind(mod, only, n_only, err);
  goto out;
nomem:
  rc = kafu_fail(err, KAFU_E_NOMEM, "out of memory preparing asyncify");
out:
  for (size_t i = 0; hidden && i < n_hidden; i++) free(hidden[i].vars);
  free(hidden);
  free(sorted);
  kafu_buf_free(&list);
  return rc;
}
