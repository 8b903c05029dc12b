/* The offload rule (node/offload.h): policy, own load against the threshold,
 * the destination's liveness and load, and the order the reasons come in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "node/offload.h"

static kafu_offload_verdict judge(kafu_config_offload_policy policy, double own, bool alive, double dst) {
  kafu_offload_inputs in = {policy, 0.8, own, alive, dst};
  return kafu_offload_judge(&in);
}

static void test_policy_never(void **state) {
  (void)state;
  assert_int_equal(judge(KAFU_CONFIG_OFFLOAD_NEVER, 1.0, true, 0.0), KAFU_OFFLOAD_NO_POLICY_NEVER);
}

static void test_policy_load(void **state) {
  (void)state;
  assert_int_equal(judge(KAFU_CONFIG_OFFLOAD_LOAD, 0.95, true, 0.1), KAFU_OFFLOAD_GO);
  assert_int_equal(judge(KAFU_CONFIG_OFFLOAD_LOAD, 0.8, true, 0.1), KAFU_OFFLOAD_GO); /* >= threshold */
  assert_int_equal(judge(KAFU_CONFIG_OFFLOAD_LOAD, 0.79, true, 0.0), KAFU_OFFLOAD_NO_NOT_LOADED);
  assert_int_equal(judge(KAFU_CONFIG_OFFLOAD_LOAD, -1.0, true, 0.0), KAFU_OFFLOAD_NO_NOT_LOADED); /* unknown */
  assert_int_equal(judge(KAFU_CONFIG_OFFLOAD_LOAD, 0.95, false, 0.0), KAFU_OFFLOAD_NO_DST_DEAD);
  assert_int_equal(judge(KAFU_CONFIG_OFFLOAD_LOAD, 0.95, true, 0.95), KAFU_OFFLOAD_NO_DST_BUSIER);
  assert_int_equal(judge(KAFU_CONFIG_OFFLOAD_LOAD, 0.95, true, 1.0), KAFU_OFFLOAD_NO_DST_BUSIER);
  assert_int_equal(judge(KAFU_CONFIG_OFFLOAD_LOAD, 1.0, true, 0.9), KAFU_OFFLOAD_GO); /* lower, if loaded too */
}

static void test_policy_always(void **state) {
  (void)state;
  assert_int_equal(judge(KAFU_CONFIG_OFFLOAD_ALWAYS, 0.0, true, 0.0), KAFU_OFFLOAD_GO);
  assert_int_equal(judge(KAFU_CONFIG_OFFLOAD_ALWAYS, -1.0, true, 0.5), KAFU_OFFLOAD_GO);
  assert_int_equal(judge(KAFU_CONFIG_OFFLOAD_ALWAYS, 0.0, false, 0.0), KAFU_OFFLOAD_NO_DST_DEAD);
  /* always forces the move to a live destination, however loaded. */
  assert_int_equal(judge(KAFU_CONFIG_OFFLOAD_ALWAYS, 0.1, true, 1.0), KAFU_OFFLOAD_GO);
  assert_string_equal(kafu_offload_verdict_text(KAFU_OFFLOAD_NO_DST_DEAD),
                      "stay: no recent heartbeat from the destination");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_policy_never),
      cmocka_unit_test(test_policy_load),
      cmocka_unit_test(test_policy_always),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
