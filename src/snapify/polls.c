/* How a countdown poll is put at a loop head. A loop whose body makes no
 * calls is split so that its iterations run in an inner loop that makes no
 * calls either: Asyncify then leaves that inner loop alone, and only the two
 * poll sites around it are instrumented (docs/abi.md, "Shape of the
 * transformed code"). */
#include <stdio.h>

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

/* Labels snapify adds; "kafu$" cannot come out of a name section read by
 * Binaryen 108 (it escapes '$'), so they never clash with the input's. */
static const char *fresh_label(char *buf, size_t size, const char *what, unsigned id) {
  snprintf(buf, size, "kafu$%s%u", what, id);
  return buf;
}

/* The loop `loop $L (T) BODY` becomes
 *
 *   loop $outer (T)
 *     POLL                                ;; the head check: first entry, expiry
 *     block $done (T)
 *       loop $fast
 *         block $L  (br $done BODY)       ;; BODY's `br $L` lands after it
 *         kafu_countdown -= 1             ;; the head check of a back edge ...
 *         br_if $fast (kafu_countdown > 0)
 *       kafu_countdown += 1               ;; ... expired: POLL decrements again
 *       br $outer
 *     [unreachable]                       ;; if T is unreachable
 *
 * Every head of the original loop still decrements the countdown once and
 * polls when it reaches 0, as in `loop $L (POLL; BODY)`. $fast makes no
 * calls, so Asyncify never needs to resume inside it. */
static void split_loop(BinaryenModuleRef mod, BinaryenExpressionRef loop,
                       BinaryenExpressionRef poll) {
  static unsigned counter;
  unsigned id = counter++;
  char outer[32], done[32], fast[32];
  const char *name = BinaryenLoopGetName(loop);
  BinaryenType type = BinaryenExpressionGetType(loop);
  BinaryenType value = type == BinaryenTypeUnreachable() ? BinaryenTypeNone() : type;
  BinaryenExpressionRef body = BinaryenLoopGetBody(loop);
  fresh_label(outer, sizeof outer, "outer", id);
  fresh_label(done, sizeof done, "done", id);
  fresh_label(fast, sizeof fast, "fast", id);

  BinaryenExpressionRef old_head;
  if (value == BinaryenTypeNone()) {
    BinaryenExpressionRef seq[2] = {body, BinaryenBreak(mod, done, NULL, NULL)};
    old_head = BinaryenBlock(mod, name, seq, 2, BinaryenTypeNone());
  } else {
    BinaryenExpressionRef exit = BinaryenBreak(mod, done, NULL, body);
    old_head = BinaryenBlock(mod, name, &exit, 1, BinaryenTypeNone());
  }
  BinaryenExpressionRef more =
      BinaryenBinary(mod, BinaryenGtSInt32(), countdown(mod), const_i32(mod, 0));
  BinaryenExpressionRef fast_body[3] = {old_head, add_countdown(mod, -1),
                                        BinaryenBreak(mod, fast, more, NULL)};
  BinaryenExpressionRef fast_loop =
      BinaryenLoop(mod, fast, BinaryenBlock(mod, NULL, fast_body, 3, BinaryenTypeNone()));
  BinaryenExpressionRef done_body[3] = {fast_loop, add_countdown(mod, 1),
                                        BinaryenBreak(mod, outer, NULL, NULL)};
  BinaryenExpressionRef done_block = BinaryenBlock(mod, done, done_body, 3, value);
  BinaryenExpressionRef outer_body[3] = {poll, done_block, BinaryenUnreachable(mod)};
  BinaryenIndex n = type == BinaryenTypeUnreachable() ? 3 : 2;
  BinaryenLoopSetName(loop, outer);
  BinaryenLoopSetBody(loop, BinaryenBlock(mod, NULL, outer_body, n, BinaryenTypeAuto()));
  BinaryenExpressionFinalize(loop);
}

kafu_err kafu_snapify_poll_loop(BinaryenModuleRef mod, BinaryenExpressionRef loop,
                                const char *poll_import, uint32_t site, bool split,
                                kafu_error *err) {
  BinaryenExpressionRef poll = kafu_snapify_make_poll(mod, poll_import, site);
  if (split && BinaryenLoopGetName(loop)) {
    kafu_snapify_scan body = {0};
    kafu_err rc = kafu_snapify_walk(BinaryenLoopGetBody(loop), &body, err);
    bool calls = body.n_callees || body.n_indirect;
    kafu_snapify_scan_free(&body);
    if (rc != KAFU_OK) return rc;
    if (!calls) {
      split_loop(mod, loop, poll);
      return KAFU_OK;
    }
  }
  BinaryenExpressionRef list[2] = {poll, BinaryenLoopGetBody(loop)};
  BinaryenLoopSetBody(loop, BinaryenBlock(mod, NULL, list, 2, BinaryenTypeAuto()));
  return KAFU_OK;
}
