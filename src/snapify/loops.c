/* Where polls go inside a function: every loop head, except counted inner
 * loops without calls, whose enclosing loop polls for them, and counted loops
 * of call-free helpers called from a region, whose caller polls for them (the
 * FIELD-NOTES measured polls in every innermost loop at up to 1.28x). */
#include <stdlib.h>
#include <string.h>

#include "snapify/internal.h"

static bool is_id(BinaryenExpressionRef e, BinaryenExpressionId id) {
  return e && BinaryenExpressionGetId(e) == id;
}

static size_t count_sets(const kafu_snapify_scan *body, BinaryenIndex local) {
  size_t n = 0;
  for (size_t i = 0; i < body->n_local_sets; i++) n += body->local_sets[i] == local;
  return n;
}

/* `local + const` (either order) with a non-zero constant. */
static bool is_step_of(BinaryenExpressionRef e, BinaryenIndex local) {
  if (!is_id(e, BinaryenBinaryId())) return false;
  BinaryenOp op = BinaryenBinaryGetOp(e);
  if (op != BinaryenAddInt32() && op != BinaryenAddInt64() && op != BinaryenSubInt32() &&
      op != BinaryenSubInt64())
    return false;
  BinaryenExpressionRef l = BinaryenBinaryGetLeft(e), r = BinaryenBinaryGetRight(e);
  if (is_id(l, BinaryenConstId()) && op != BinaryenSubInt32() && op != BinaryenSubInt64()) {
    BinaryenExpressionRef t = l;
    l = r;
    r = t;
  }
  if (!is_id(l, BinaryenLocalGetId()) || BinaryenLocalGetGetIndex(l) != local ||
      !is_id(r, BinaryenConstId()))
    return false;
  return BinaryenExpressionGetType(r) == BinaryenTypeInt32() ? BinaryenConstGetValueI32(r) != 0
                                                             : BinaryenConstGetValueI64(r) != 0;
}

/* The single write of `local` in the loop body is `local = local + const`. */
static bool steps_once(BinaryenExpressionRef loop_body, const kafu_snapify_scan *body,
                       BinaryenIndex local, BinaryenExpressionRef tee) {
  if (count_sets(body, local) != 1) return false;
  if (tee) return is_step_of(BinaryenLocalSetGetValue(tee), local);
  /* find the set among the top-level statements of the body */
  if (!is_id(loop_body, BinaryenBlockId())) return false;
  for (BinaryenIndex i = 0; i < BinaryenBlockGetNumChildren(loop_body); i++) {
    BinaryenExpressionRef s = BinaryenBlockGetChildAt(loop_body, i);
    if (is_id(s, BinaryenLocalSetId()) && BinaryenLocalSetGetIndex(s) == local)
      return is_step_of(BinaryenLocalSetGetValue(s), local);
  }
  return false;
}

/* A constant, or a local the body never writes. */
static bool is_invariant(BinaryenExpressionRef e, const kafu_snapify_scan *body) {
  if (is_id(e, BinaryenConstId())) return true;
  return is_id(e, BinaryenLocalGetId()) && count_sets(body, BinaryenLocalGetGetIndex(e)) == 0;
}

/* One side of the exit test: the induction variable, read or stepped-and-teed. */
static bool is_induction(BinaryenExpressionRef side, BinaryenExpressionRef loop_body,
                         const kafu_snapify_scan *body) {
  if (is_id(side, BinaryenLocalGetId()))
    return steps_once(loop_body, body, BinaryenLocalGetGetIndex(side), NULL);
  if (is_id(side, BinaryenLocalSetId()) && BinaryenLocalSetIsTee(side))
    return steps_once(loop_body, body, BinaryenLocalSetGetIndex(side), side);
  return false;
}

static bool is_compare(BinaryenOp op) {
  BinaryenOp ops[] = {BinaryenNeInt32(),  BinaryenLtSInt32(), BinaryenLtUInt32(), BinaryenGtSInt32(),
                      BinaryenGtUInt32(), BinaryenLeSInt32(), BinaryenLeUInt32(), BinaryenGeSInt32(),
                      BinaryenGeUInt32(), BinaryenNeInt64(),  BinaryenLtSInt64(), BinaryenLtUInt64(),
                      BinaryenGtSInt64(), BinaryenGtUInt64(), BinaryenLeSInt64(), BinaryenLeUInt64(),
                      BinaryenGeSInt64(), BinaryenGeUInt64()};
  for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
    if (op == ops[i]) return true;
  return false;
}

/* An innermost, call-free loop whose only back edge is a final
 * `br_if $loop (cmp induction invariant)` or `br_if $loop induction`. */
static kafu_err is_counted_leaf_loop(BinaryenExpressionRef loop, bool *counted, kafu_error *err) {
  kafu_snapify_scan body = {0};
  BinaryenExpressionRef loop_body = BinaryenLoopGetBody(loop);
  const char *name = BinaryenLoopGetName(loop);
  *counted = false;
  kafu_err rc = kafu_snapify_walk(loop_body, &body, err);
  if (rc != KAFU_OK || !name || body.n_callees || body.n_indirect || body.n_loops) goto out;
  size_t back_edges = 0;
  for (size_t i = 0; i < body.n_branches; i++) back_edges += !strcmp(body.branches[i], name);
  BinaryenExpressionRef last = loop_body;
  if (is_id(loop_body, BinaryenBlockId())) {
    BinaryenIndex n = BinaryenBlockGetNumChildren(loop_body);
    last = n ? BinaryenBlockGetChildAt(loop_body, n - 1) : NULL;
  }
  if (back_edges != 1 || !is_id(last, BinaryenBreakId()) || !BinaryenBreakGetName(last) ||
      strcmp(BinaryenBreakGetName(last), name) || BinaryenBreakGetValue(last))
    goto out;
  BinaryenExpressionRef cond = BinaryenBreakGetCondition(last);
  /* `br_if $loop (local.tee $i (i + c))`: counts towards 0, the shape
   * clang gives a loop it rebased to end at 0 */
  if (is_induction(cond, loop_body, &body)) {
    *counted = true;
    goto out;
  }
  if (!is_id(cond, BinaryenBinaryId()) || !is_compare(BinaryenBinaryGetOp(cond))) goto out;
  BinaryenExpressionRef l = BinaryenBinaryGetLeft(cond), r = BinaryenBinaryGetRight(cond);
  *counted = (is_induction(l, loop_body, &body) && is_invariant(r, &body)) ||
             (is_induction(r, loop_body, &body) && is_invariant(l, &body));
out:
  kafu_snapify_scan_free(&body);
  return rc;
}

kafu_err kafu_snapify_plan_loop_polls(const kafu_snapify_scan *scan, bool leaf_callee,
                                      bool *want_poll, kafu_error *err) {
  kafu_err rc = KAFU_OK;
  bool *nested = calloc(scan->n_loops + 1, sizeof *nested);
  if (!nested) return kafu_fail(err, KAFU_E_NOMEM, "out of memory");
  for (size_t i = 0; i < scan->n_loops; i++) want_poll[i] = true;
  /* a loop is nested if it occurs inside the body of another loop */
  for (size_t i = 0; i < scan->n_loops && rc == KAFU_OK; i++) {
    kafu_snapify_scan inner = {0};
    rc = kafu_snapify_walk(BinaryenLoopGetBody(scan->loops[i]), &inner, err);
    for (size_t k = 0; k < inner.n_loops; k++)
      for (size_t j = 0; j < scan->n_loops; j++)
        if (scan->loops[j] == inner.loops[k]) nested[j] = true;
    kafu_snapify_scan_free(&inner);
  }
  for (size_t i = 0; i < scan->n_loops && rc == KAFU_OK; i++) {
    bool counted = false;
    if (!nested[i] && !leaf_callee) continue;
    rc = is_counted_leaf_loop(scan->loops[i], &counted, err);
    if (counted) want_poll[i] = false;
  }
  free(nested);
  return rc;
}
