/* Asyncify's unwind tests in a not-rewinding copy (rewind.c): marking where
 * they fall through, so that constant propagation can fold the state. */
#include <stdint.h>
#include <stdlib.h>

#include "snapify/internal.h"

typedef struct {
  BinaryenExpressionRef expr, parent;
} expr_parent;

static int cmp_expr(const void *a, const void *b) {
  uintptr_t x = (uintptr_t)((const expr_parent *)a)->expr;
  uintptr_t y = (uintptr_t)((const expr_parent *)b)->expr;
  return (x > y) - (x < y);
}

static BinaryenExpressionRef parent_of(const expr_parent *sorted, size_t n,
                                       BinaryenExpressionRef e) {
  expr_parent key = {e, NULL};
  const expr_parent *hit = bsearch(&key, sorted, n, sizeof *sorted, cmp_expr);
  return hit ? hit->parent : NULL;
}

static bool is_local_get(BinaryenExpressionRef e, BinaryenIndex local) {
  return BinaryenExpressionGetId(e) == BinaryenLocalGetId() && BinaryenLocalGetGetIndex(e) == local;
}

/* `br_if (state_local == 1)`: Asyncify's test for an unwind after a call. */
static bool is_unwind_test(BinaryenExpressionRef e, BinaryenIndex state_local) {
  if (BinaryenExpressionGetId(e) != BinaryenBreakId()) return false;
  BinaryenExpressionRef c = BinaryenBreakGetCondition(e);
  if (!c || BinaryenExpressionGetId(c) != BinaryenBinaryId() ||
      BinaryenBinaryGetOp(c) != BinaryenEqInt32())
    return false;
  BinaryenExpressionRef l = BinaryenBinaryGetLeft(c), r = BinaryenBinaryGetRight(c);
  if (BinaryenExpressionGetId(l) == BinaryenConstId()) {
    BinaryenExpressionRef t = l;
    l = r;
    r = t;
  }
  return is_local_get(l, state_local) && BinaryenExpressionGetId(r) == BinaryenConstId() &&
         BinaryenConstGetValueI32(r) == 1;
}

/* Inserts `stmt` into `block` right after its child `child`; false if
 * `child` is not one of its children. */
static bool insert_after(BinaryenExpressionRef block, BinaryenExpressionRef child,
                         BinaryenExpressionRef stmt) {
  for (BinaryenIndex i = 0; i < BinaryenBlockGetNumChildren(block); i++)
    if (BinaryenBlockGetChildAt(block, i) == child) {
      BinaryenBlockInsertChildAt(block, i + 1, stmt);
      return true;
    }
  return false;
}

bool kafu_snapify_zero_after_unwind_tests(BinaryenModuleRef mod, const kafu_snapify_scan *scan,
                                    BinaryenIndex state_local) {
  expr_parent *sorted = malloc((scan->n_exprs + 1) * sizeof *sorted);
  if (!sorted) return false;
  for (size_t i = 0; i < scan->n_exprs; i++)
    sorted[i] = (expr_parent){scan->exprs[i], scan->parents[i]};
  qsort(sorted, scan->n_exprs, sizeof *sorted, cmp_expr);
  for (size_t i = 0; i < scan->n_exprs; i++) {
    BinaryenExpressionRef test = scan->exprs[i], stmt = test;
    if (!is_unwind_test(test, state_local)) continue;
    BinaryenExpressionRef parent = parent_of(sorted, scan->n_exprs, test);
    if (parent && (BinaryenExpressionGetId(parent) == BinaryenDropId() ||
                   BinaryenExpressionGetId(parent) == BinaryenLocalSetId())) {
      stmt = parent;
      parent = parent_of(sorted, scan->n_exprs, parent);
    }
    if (!parent || BinaryenExpressionGetId(parent) != BinaryenBlockId() ||
        BinaryenExpressionGetType(stmt) != BinaryenTypeNone())
      continue;
    insert_after(parent, stmt,
                 BinaryenLocalSet(mod, state_local, BinaryenConst(mod, BinaryenLiteralInt32(0))));
  }
  free(sorted);
  return true;
}

