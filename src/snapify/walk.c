/* The expression walker: visits every expression kind of Binaryen 108 through
 * the C API, with an explicit stack, and records what snapify needs to know
 * about a function body (calls, indirect call signatures, loops, table writes). */
#include <stdlib.h>
#include <string.h>

#include "snapify/internal.h"

typedef enum {
  K_LEAF = 1, /* no child expressions */
  K_BLOCK, K_IF, K_LOOP, K_BREAK, K_SWITCH, K_CALL, K_CALL_INDIRECT, K_LOCAL_SET,
  K_GLOBAL_SET, K_LOAD, K_STORE, K_ATOMIC_RMW, K_ATOMIC_CMPXCHG, K_ATOMIC_WAIT,
  K_ATOMIC_NOTIFY, K_SIMD_EXTRACT, K_SIMD_REPLACE, K_SIMD_SHUFFLE, K_SIMD_TERNARY,
  K_SIMD_SHIFT, K_SIMD_LOAD, K_SIMD_LANE, K_MEMORY_INIT, K_MEMORY_COPY, K_MEMORY_FILL,
  K_UNARY, K_BINARY, K_SELECT, K_DROP, K_RETURN, K_MEMORY_GROW, K_REF_IS, K_REF_EQ,
  K_REF_AS, K_TABLE_GET, K_TABLE_SET, K_TABLE_GROW, K_TRY, K_THROW, K_TUPLE_MAKE,
  K_TUPLE_EXTRACT, K_I31_NEW, K_I31_GET,
  K_UNSUPPORTED, /* GC proposal: the C API of Binaryen 108 has no child accessors */
} expr_kind;

#define KIND_TABLE_SIZE 256
static uint8_t kind_of[KIND_TABLE_SIZE];
static const char *kind_name[KIND_TABLE_SIZE];

static void set_kind(BinaryenExpressionId id, expr_kind kind, const char *name) {
  if (id < KIND_TABLE_SIZE) {
    kind_of[id] = (uint8_t)kind;
    kind_name[id] = name;
  }
}

#define KIND(NAME, KIND_) set_kind(Binaryen##NAME##Id(), KIND_, #NAME)

static void init_kinds(void) {
  if (kind_of[BinaryenNopId() % KIND_TABLE_SIZE]) return;
  KIND(Nop, K_LEAF); KIND(LocalGet, K_LEAF); KIND(GlobalGet, K_LEAF); KIND(Const, K_LEAF);
  KIND(MemorySize, K_LEAF); KIND(Unreachable, K_LEAF); KIND(AtomicFence, K_LEAF);
  KIND(DataDrop, K_LEAF); KIND(Pop, K_LEAF); KIND(RefNull, K_LEAF); KIND(RefFunc, K_LEAF);
  KIND(TableSize, K_LEAF); KIND(Rethrow, K_LEAF);
  KIND(Block, K_BLOCK); KIND(If, K_IF); KIND(Loop, K_LOOP); KIND(Break, K_BREAK);
  KIND(Switch, K_SWITCH); KIND(Call, K_CALL); KIND(CallIndirect, K_CALL_INDIRECT);
  KIND(LocalSet, K_LOCAL_SET); KIND(GlobalSet, K_GLOBAL_SET); KIND(Load, K_LOAD);
  KIND(Store, K_STORE); KIND(AtomicRMW, K_ATOMIC_RMW); KIND(AtomicCmpxchg, K_ATOMIC_CMPXCHG);
  KIND(AtomicWait, K_ATOMIC_WAIT); KIND(AtomicNotify, K_ATOMIC_NOTIFY);
  KIND(SIMDExtract, K_SIMD_EXTRACT); KIND(SIMDReplace, K_SIMD_REPLACE);
  KIND(SIMDShuffle, K_SIMD_SHUFFLE); KIND(SIMDTernary, K_SIMD_TERNARY);
  KIND(SIMDShift, K_SIMD_SHIFT); KIND(SIMDLoad, K_SIMD_LOAD);
  KIND(SIMDLoadStoreLane, K_SIMD_LANE); KIND(MemoryInit, K_MEMORY_INIT);
  KIND(MemoryCopy, K_MEMORY_COPY); KIND(MemoryFill, K_MEMORY_FILL); KIND(Unary, K_UNARY);
  KIND(Binary, K_BINARY); KIND(Select, K_SELECT); KIND(Drop, K_DROP); KIND(Return, K_RETURN);
  KIND(MemoryGrow, K_MEMORY_GROW); KIND(RefIs, K_REF_IS); KIND(RefEq, K_REF_EQ);
  KIND(RefAs, K_REF_AS); KIND(TableGet, K_TABLE_GET); KIND(TableSet, K_TABLE_SET);
  KIND(TableGrow, K_TABLE_GROW); KIND(Try, K_TRY); KIND(Throw, K_THROW);
  KIND(TupleMake, K_TUPLE_MAKE); KIND(TupleExtract, K_TUPLE_EXTRACT); KIND(I31New, K_I31_NEW);
  KIND(I31Get, K_I31_GET);
  KIND(CallRef, K_UNSUPPORTED); KIND(RefTest, K_UNSUPPORTED); KIND(RefCast, K_UNSUPPORTED);
  KIND(BrOn, K_UNSUPPORTED); KIND(RttCanon, K_UNSUPPORTED); KIND(RttSub, K_UNSUPPORTED);
  KIND(StructNew, K_UNSUPPORTED); KIND(StructGet, K_UNSUPPORTED);
  KIND(StructSet, K_UNSUPPORTED); KIND(ArrayNew, K_UNSUPPORTED);
  KIND(ArrayInit, K_UNSUPPORTED); KIND(ArrayGet, K_UNSUPPORTED); KIND(ArraySet, K_UNSUPPORTED);
  KIND(ArrayLen, K_UNSUPPORTED); KIND(ArrayCopy, K_UNSUPPORTED); KIND(RefAs, K_REF_AS);
}

/* Grows *arr (element size elem) to hold one more than *n; false on failure. */
static bool grow(void **arr, size_t *cap, size_t n, size_t elem) {
  if (n < *cap) return true;
  size_t new_cap = *cap ? *cap * 2 : 16;
  void *p = realloc(*arr, new_cap * elem);
  if (!p) return false;
  *arr = p;
  *cap = new_cap;
  return true;
}

typedef struct {
  BinaryenExpressionRef expr;
  size_t parent; /* index into scan->exprs, or KAFU_SNAPIFY_NO_PARENT */
} stack_item;

typedef struct {
  stack_item *items;
  size_t n, cap;
  bool nomem;
} expr_stack;

static void push(expr_stack *st, BinaryenExpressionRef e, size_t parent) {
  if (!e || st->nomem) return;
  if (!grow((void **)&st->items, &st->cap, st->n, sizeof *st->items)) {
    st->nomem = true;
    return;
  }
  st->items[st->n++] = (stack_item){e, parent};
}

static void record_expr(kafu_snapify_scan *scan, BinaryenExpressionRef e, size_t parent) {
  size_t cap = scan->cap_exprs;
  if (!grow((void **)&scan->exprs, &cap, scan->n_exprs, sizeof *scan->exprs) ||
      !grow((void **)&scan->parents, &scan->cap_exprs, scan->n_exprs, sizeof *scan->parents)) {
    scan->nomem = true;
    return;
  }
  scan->cap_exprs = cap;
  scan->exprs[scan->n_exprs] = e;
  scan->parents[scan->n_exprs++] = parent;
}

static void record_call(kafu_snapify_scan *scan, BinaryenExpressionRef call) {
  size_t cap = scan->cap_callees;
  if (!grow((void **)&scan->callees, &cap, scan->n_callees, sizeof(char *)) ||
      !grow((void **)&scan->calls, &scan->cap_calls, scan->n_callees, sizeof *scan->calls)) {
    scan->nomem = true;
    return;
  }
  scan->cap_callees = cap;
  scan->calls[scan->n_callees] = call;
  scan->callees[scan->n_callees++] = BinaryenCallGetTarget(call);
}

static void record_indirect(kafu_snapify_scan *scan, BinaryenType params, BinaryenType results) {
  size_t cap = scan->cap_indirect;
  if (!grow((void **)&scan->ind_params, &cap, scan->n_indirect, sizeof(BinaryenType))) {
    scan->nomem = true;
    return;
  }
  if (!grow((void **)&scan->ind_results, &scan->cap_indirect, scan->n_indirect,
            sizeof(BinaryenType))) {
    scan->nomem = true;
    return;
  }
  scan->ind_params[scan->n_indirect] = params;
  scan->ind_results[scan->n_indirect++] = results;
}

static void record_branch(kafu_snapify_scan *scan, const char *name) {
  if (!name) return;
  if (!grow((void **)&scan->branches, &scan->cap_branches, scan->n_branches, sizeof(char *))) {
    scan->nomem = true;
    return;
  }
  scan->branches[scan->n_branches++] = name;
}

static void record_local_set(kafu_snapify_scan *scan, BinaryenIndex index) {
  if (!grow((void **)&scan->local_sets, &scan->cap_local_sets, scan->n_local_sets,
            sizeof *scan->local_sets)) {
    scan->nomem = true;
    return;
  }
  scan->local_sets[scan->n_local_sets++] = index;
}

static void record_loop(kafu_snapify_scan *scan, BinaryenExpressionRef loop) {
  if (!grow((void **)&scan->loops, &scan->cap_loops, scan->n_loops, sizeof *scan->loops)) {
    scan->nomem = true;
    return;
  }
  scan->loops[scan->n_loops++] = loop;
}

static bool is_global_get(BinaryenExpressionRef e) {
  return e && BinaryenExpressionGetId(e) == BinaryenGlobalGetId();
}

static void record_global_reader(kafu_snapify_scan *scan, BinaryenExpressionRef e,
                                 const BinaryenExpressionRef c[3]) {
  if (!is_global_get(c[0]) && !is_global_get(c[1]) && !is_global_get(c[2])) return;
  if (!grow((void **)&scan->global_readers, &scan->cap_global_readers, scan->n_global_readers,
            sizeof *scan->global_readers)) {
    scan->nomem = true;
    return;
  }
  scan->global_readers[scan->n_global_readers++] = e;
}

/* Pushes the children of e in reverse so that they pop in evaluation order. */
static void push_children(expr_stack *st, BinaryenExpressionRef e, expr_kind kind,
                          kafu_snapify_scan *scan, size_t self) {
  BinaryenExpressionRef c[3] = {NULL, NULL, NULL};
  switch (kind) {
  case K_LEAF: case K_UNSUPPORTED: return;
  case K_BLOCK:
    for (BinaryenIndex i = BinaryenBlockGetNumChildren(e); i-- > 0;)
      push(st, BinaryenBlockGetChildAt(e, i), self);
    return;
  case K_IF:
    c[0] = BinaryenIfGetCondition(e); c[1] = BinaryenIfGetIfTrue(e); c[2] = BinaryenIfGetIfFalse(e);
    break;
  case K_LOOP:
    record_loop(scan, e);
    c[0] = BinaryenLoopGetBody(e);
    break;
  case K_BREAK:
    record_branch(scan, BinaryenBreakGetName(e));
    c[0] = BinaryenBreakGetValue(e); c[1] = BinaryenBreakGetCondition(e);
    break;
  case K_SWITCH:
    for (BinaryenIndex i = 0; i < BinaryenSwitchGetNumNames(e); i++)
      record_branch(scan, BinaryenSwitchGetNameAt(e, i));
    record_branch(scan, BinaryenSwitchGetDefaultName(e));
    c[0] = BinaryenSwitchGetValue(e); c[1] = BinaryenSwitchGetCondition(e);
    break;
  case K_CALL:
    record_call(scan, e);
    if (BinaryenCallIsReturn(e)) scan->tail_call = true;
    for (BinaryenIndex i = BinaryenCallGetNumOperands(e); i-- > 0;)
      push(st, BinaryenCallGetOperandAt(e, i), self);
    return;
  case K_CALL_INDIRECT:
    record_indirect(scan, BinaryenCallIndirectGetParams(e), BinaryenCallIndirectGetResults(e));
    if (BinaryenCallIndirectIsReturn(e)) scan->tail_call = true;
    push(st, BinaryenCallIndirectGetTarget(e), self);
    for (BinaryenIndex i = BinaryenCallIndirectGetNumOperands(e); i-- > 0;)
      push(st, BinaryenCallIndirectGetOperandAt(e, i), self);
    return;
  case K_LOCAL_SET:
    record_local_set(scan, BinaryenLocalSetGetIndex(e));
    c[0] = BinaryenLocalSetGetValue(e);
    break;
  case K_GLOBAL_SET: c[0] = BinaryenGlobalSetGetValue(e); break;
  case K_LOAD: c[0] = BinaryenLoadGetPtr(e); break;
  case K_STORE: c[0] = BinaryenStoreGetPtr(e); c[1] = BinaryenStoreGetValue(e); break;
  case K_ATOMIC_RMW: c[0] = BinaryenAtomicRMWGetPtr(e); c[1] = BinaryenAtomicRMWGetValue(e); break;
  case K_ATOMIC_CMPXCHG:
    c[0] = BinaryenAtomicCmpxchgGetPtr(e); c[1] = BinaryenAtomicCmpxchgGetExpected(e);
    c[2] = BinaryenAtomicCmpxchgGetReplacement(e);
    break;
  case K_ATOMIC_WAIT:
    c[0] = BinaryenAtomicWaitGetPtr(e); c[1] = BinaryenAtomicWaitGetExpected(e);
    c[2] = BinaryenAtomicWaitGetTimeout(e);
    break;
  case K_ATOMIC_NOTIFY:
    c[0] = BinaryenAtomicNotifyGetPtr(e); c[1] = BinaryenAtomicNotifyGetNotifyCount(e);
    break;
  case K_SIMD_EXTRACT: c[0] = BinaryenSIMDExtractGetVec(e); break;
  case K_SIMD_REPLACE: c[0] = BinaryenSIMDReplaceGetVec(e); c[1] = BinaryenSIMDReplaceGetValue(e); break;
  case K_SIMD_SHUFFLE: c[0] = BinaryenSIMDShuffleGetLeft(e); c[1] = BinaryenSIMDShuffleGetRight(e); break;
  case K_SIMD_TERNARY:
    c[0] = BinaryenSIMDTernaryGetA(e); c[1] = BinaryenSIMDTernaryGetB(e); c[2] = BinaryenSIMDTernaryGetC(e);
    break;
  case K_SIMD_SHIFT: c[0] = BinaryenSIMDShiftGetVec(e); c[1] = BinaryenSIMDShiftGetShift(e); break;
  case K_SIMD_LOAD: c[0] = BinaryenSIMDLoadGetPtr(e); break;
  case K_SIMD_LANE: c[0] = BinaryenSIMDLoadStoreLaneGetPtr(e); c[1] = BinaryenSIMDLoadStoreLaneGetVec(e); break;
  case K_MEMORY_INIT:
    c[0] = BinaryenMemoryInitGetDest(e); c[1] = BinaryenMemoryInitGetOffset(e); c[2] = BinaryenMemoryInitGetSize(e);
    break;
  case K_MEMORY_COPY:
    c[0] = BinaryenMemoryCopyGetDest(e); c[1] = BinaryenMemoryCopyGetSource(e); c[2] = BinaryenMemoryCopyGetSize(e);
    break;
  case K_MEMORY_FILL:
    c[0] = BinaryenMemoryFillGetDest(e); c[1] = BinaryenMemoryFillGetValue(e); c[2] = BinaryenMemoryFillGetSize(e);
    break;
  case K_UNARY: c[0] = BinaryenUnaryGetValue(e); break;
  case K_BINARY: c[0] = BinaryenBinaryGetLeft(e); c[1] = BinaryenBinaryGetRight(e); break;
  case K_SELECT:
    c[0] = BinaryenSelectGetIfTrue(e); c[1] = BinaryenSelectGetIfFalse(e); c[2] = BinaryenSelectGetCondition(e);
    break;
  case K_DROP: c[0] = BinaryenDropGetValue(e); break;
  case K_RETURN: c[0] = BinaryenReturnGetValue(e); break;
  case K_MEMORY_GROW: c[0] = BinaryenMemoryGrowGetDelta(e); break;
  case K_REF_IS: c[0] = BinaryenRefIsGetValue(e); break;
  case K_REF_EQ: c[0] = BinaryenRefEqGetLeft(e); c[1] = BinaryenRefEqGetRight(e); break;
  case K_REF_AS: c[0] = BinaryenRefAsGetValue(e); break;
  case K_TABLE_GET: c[0] = BinaryenTableGetGetIndex(e); break;
  case K_TABLE_SET:
    scan->mutates_table = true;
    c[0] = BinaryenTableSetGetIndex(e); c[1] = BinaryenTableSetGetValue(e);
    break;
  case K_TABLE_GROW:
    scan->mutates_table = true;
    c[0] = BinaryenTableGrowGetValue(e); c[1] = BinaryenTableGrowGetDelta(e);
    break;
  case K_TRY:
    for (BinaryenIndex i = BinaryenTryGetNumCatchBodies(e); i-- > 0;)
      push(st, BinaryenTryGetCatchBodyAt(e, i), self);
    push(st, BinaryenTryGetBody(e), self);
    return;
  case K_THROW:
    for (BinaryenIndex i = BinaryenThrowGetNumOperands(e); i-- > 0;)
      push(st, BinaryenThrowGetOperandAt(e, i), self);
    return;
  case K_TUPLE_MAKE:
    for (BinaryenIndex i = BinaryenTupleMakeGetNumOperands(e); i-- > 0;)
      push(st, BinaryenTupleMakeGetOperandAt(e, i), self);
    return;
  case K_TUPLE_EXTRACT: c[0] = BinaryenTupleExtractGetTuple(e); break;
  case K_I31_NEW: c[0] = BinaryenI31NewGetValue(e); break;
  case K_I31_GET: c[0] = BinaryenI31GetGetI31(e); break;
  }
  if (kind == K_UNARY || kind == K_BINARY || kind == K_SELECT || kind == K_IF || kind == K_BREAK)
    record_global_reader(scan, e, c);
  push(st, c[2], self);
  push(st, c[1], self);
  push(st, c[0], self);
}

kafu_err kafu_snapify_walk(BinaryenExpressionRef body, kafu_snapify_scan *scan,
                           kafu_error *err) {
  expr_stack st = {0};
  kafu_err rc = KAFU_OK;
  init_kinds();
  push(&st, body, KAFU_SNAPIFY_NO_PARENT);
  while (st.n > 0 && !st.nomem && !scan->nomem) {
    stack_item item = st.items[--st.n];
    BinaryenExpressionRef e = item.expr;
    BinaryenExpressionId id = BinaryenExpressionGetId(e);
    expr_kind kind = id < KIND_TABLE_SIZE ? (expr_kind)kind_of[id] : 0;
    if (kind == 0 || kind == K_UNSUPPORTED) {
      rc = kafu_fail(err, KAFU_E_UNSUPPORTED, "unsupported expression kind %s",
                     kind ? kind_name[id] : "(unknown)");
      goto out;
    }
    size_t self = KAFU_SNAPIFY_NO_PARENT;
    if (scan->want_parents) {
      self = scan->n_exprs;
      record_expr(scan, e, item.parent);
    }
    push_children(&st, e, kind, scan, self);
  }
  if (st.nomem || scan->nomem) rc = kafu_fail(err, KAFU_E_NOMEM, "out of memory walking code");
out:
  free(st.items);
  return rc;
}

void kafu_snapify_scan_free(kafu_snapify_scan *scan) {
  free(scan->callees);
  free(scan->calls);
  free(scan->exprs);
  free(scan->parents);
  free(scan->ind_params);
  free(scan->ind_results);
  free(scan->loops);
  free(scan->branches);
  free(scan->local_sets);
  free(scan->global_readers);
  memset(scan, 0, sizeof *scan);
}
