/* Asyncify's unwind tests in a not-rewinding copy (rewind.c): marking where
 * they fall through, so that constant propagation can fold the state. */
#include "snapify/internal.h"

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

void kafu_snapify_zero_after_unwind_tests(BinaryenModuleRef mod, const kafu_snapify_scan *scan,
                                          BinaryenIndex state_local) {
  for (size_t i = 0; i < scan->n_exprs; i++) {
    BinaryenExpressionRef stmt = scan->exprs[i];
    if (!is_unwind_test(stmt, state_local)) continue;
    size_t up = scan->parents[i];
    BinaryenExpressionRef parent = kafu_snapify_parent(scan, i);
    if (parent && (BinaryenExpressionGetId(parent) == BinaryenDropId() ||
                   BinaryenExpressionGetId(parent) == BinaryenLocalSetId())) {
      stmt = parent;
      parent = kafu_snapify_parent(scan, up);
    }
    if (!parent || BinaryenExpressionGetId(parent) != BinaryenBlockId() ||
        BinaryenExpressionGetType(stmt) != BinaryenTypeNone())
      continue;
    insert_after(parent, stmt,
                 BinaryenLocalSet(mod, state_local, BinaryenConst(mod, BinaryenLiteralInt32(0))));
  }
}
