/* How a countdown poll is put at a loop head (docs/abi.md, "Shape of the
 * transformed code"). Loops are not split into a call-free inner loop:
 * measured under the aot engine, that took bench/overhead's matmul from
 * 1.00x to 1.2x and gained sort only ~2 %. */

#include "snapify/internal.h"

static BinaryenExpressionRef const_i32(BinaryenModuleRef mod, int32_t v) {
  return BinaryenConst(mod, BinaryenLiteralInt32(v));
}

static BinaryenExpressionRef countdown(BinaryenModuleRef mod) {
  return BinaryenGlobalGet(mod, KAFU_SNAPIFY_COUNTDOWN, BinaryenTypeInt32());
}

/* kafu_countdown += delta */
static BinaryenExpressionRef add_countdown(BinaryenModuleRef mod, int32_t delta) {
  return BinaryenGlobalSet(
      mod, KAFU_SNAPIFY_COUNTDOWN,
      BinaryenBinary(mod, BinaryenAddInt32(), countdown(mod), const_i32(mod, delta)));
}

BinaryenExpressionRef kafu_snapify_make_poll(BinaryenModuleRef mod, const char *poll_import,
                                             uint32_t site) {
  BinaryenExpressionRef site_arg = const_i32(mod, (int32_t)site);
  BinaryenExpressionRef refill =
      BinaryenGlobalSet(mod, KAFU_SNAPIFY_COUNTDOWN,
                        BinaryenCall(mod, poll_import, &site_arg, 1, BinaryenTypeInt32()));
  BinaryenExpressionRef test =
      BinaryenBinary(mod, BinaryenLeSInt32(), countdown(mod), const_i32(mod, 0));
  BinaryenExpressionRef list[2] = {add_countdown(mod, -1), BinaryenIf(mod, test, refill, NULL)};
  return BinaryenBlock(mod, NULL, list, 2, BinaryenTypeNone());
}

void kafu_snapify_poll_loop(BinaryenModuleRef mod, BinaryenExpressionRef loop,
                            const char *poll_import, uint32_t site) {
  BinaryenExpressionRef list[2] = {kafu_snapify_make_poll(mod, poll_import, site),
                                   BinaryenLoopGetBody(loop)};
  BinaryenLoopSetBody(loop, BinaryenBlock(mod, NULL, list, 2, BinaryenTypeAuto()));
}
