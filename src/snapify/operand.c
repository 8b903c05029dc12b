/* Replacing one operand of an expression in place, for the expression kinds
 * that hold calls in code Asyncify produces. */
#include "snapify/internal.h"

/* One operand slot: its current value and how to overwrite it. */
typedef void (*operand_setter)(BinaryenExpressionRef, BinaryenExpressionRef);

static bool try_slot(BinaryenExpressionRef parent, BinaryenExpressionRef cur, operand_setter set,
                     BinaryenExpressionRef old, BinaryenExpressionRef replacement) {
  if (cur != old) return false;
  if (replacement) set(parent, replacement);
  return true;
}

#define SLOT(GET, SET) \
  if (try_slot(parent, GET(parent), SET, old, replacement)) return true

/* The operand slots of a kind with a list of them (block children, call
 * operands). */
typedef BinaryenIndex (*list_count)(BinaryenExpressionRef);
typedef BinaryenExpressionRef (*list_get)(BinaryenExpressionRef, BinaryenIndex);
typedef void (*list_set)(BinaryenExpressionRef, BinaryenIndex, BinaryenExpressionRef);

static bool try_list(BinaryenExpressionRef parent, list_count count, list_get get, list_set set,
                     BinaryenExpressionRef old, BinaryenExpressionRef replacement) {
  for (BinaryenIndex i = 0; i < count(parent); i++)
    if (get(parent, i) == old) {
      if (replacement) set(parent, i, replacement);
      return true;
    }
  return false;
}

bool kafu_snapify_replace_operand(BinaryenExpressionRef parent, BinaryenExpressionRef old,
                                  BinaryenExpressionRef replacement) {
  BinaryenExpressionId id = BinaryenExpressionGetId(parent);
  if (id == BinaryenBlockId()) {
    return try_list(parent, BinaryenBlockGetNumChildren, BinaryenBlockGetChildAt,
                    BinaryenBlockSetChildAt, old, replacement);
  } else if (id == BinaryenCallId()) {
    return try_list(parent, BinaryenCallGetNumOperands, BinaryenCallGetOperandAt,
                    BinaryenCallSetOperandAt, old, replacement);
  } else if (id == BinaryenCallIndirectId()) {
    if (try_list(parent, BinaryenCallIndirectGetNumOperands, BinaryenCallIndirectGetOperandAt,
                 BinaryenCallIndirectSetOperandAt, old, replacement))
      return true;
    SLOT(BinaryenCallIndirectGetTarget, BinaryenCallIndirectSetTarget);
  } else if (id == BinaryenIfId()) {
    SLOT(BinaryenIfGetCondition, BinaryenIfSetCondition);
    SLOT(BinaryenIfGetIfTrue, BinaryenIfSetIfTrue);
    SLOT(BinaryenIfGetIfFalse, BinaryenIfSetIfFalse);
  } else if (id == BinaryenLoopId()) {
    SLOT(BinaryenLoopGetBody, BinaryenLoopSetBody);
  } else if (id == BinaryenBreakId()) {
    SLOT(BinaryenBreakGetValue, BinaryenBreakSetValue);
    SLOT(BinaryenBreakGetCondition, BinaryenBreakSetCondition);
  } else if (id == BinaryenSwitchId()) {
    SLOT(BinaryenSwitchGetValue, BinaryenSwitchSetValue);
    SLOT(BinaryenSwitchGetCondition, BinaryenSwitchSetCondition);
  } else if (id == BinaryenLocalSetId()) {
    SLOT(BinaryenLocalSetGetValue, BinaryenLocalSetSetValue);
  } else if (id == BinaryenGlobalSetId()) {
    SLOT(BinaryenGlobalSetGetValue, BinaryenGlobalSetSetValue);
  } else if (id == BinaryenDropId()) {
    SLOT(BinaryenDropGetValue, BinaryenDropSetValue);
  } else if (id == BinaryenReturnId()) {
    SLOT(BinaryenReturnGetValue, BinaryenReturnSetValue);
  } else if (id == BinaryenUnaryId()) {
    SLOT(BinaryenUnaryGetValue, BinaryenUnarySetValue);
  } else if (id == BinaryenBinaryId()) {
    SLOT(BinaryenBinaryGetLeft, BinaryenBinarySetLeft);
    SLOT(BinaryenBinaryGetRight, BinaryenBinarySetRight);
  } else if (id == BinaryenSelectId()) {
    SLOT(BinaryenSelectGetIfTrue, BinaryenSelectSetIfTrue);
    SLOT(BinaryenSelectGetIfFalse, BinaryenSelectSetIfFalse);
    SLOT(BinaryenSelectGetCondition, BinaryenSelectSetCondition);
  } else if (id == BinaryenLoadId()) {
    SLOT(BinaryenLoadGetPtr, BinaryenLoadSetPtr);
  } else if (id == BinaryenStoreId()) {
    SLOT(BinaryenStoreGetPtr, BinaryenStoreSetPtr);
    SLOT(BinaryenStoreGetValue, BinaryenStoreSetValue);
  }
  return false;
}
