/* Node daemon pieces without sockets: the job context codec (hostile
 * input), the chaos placement sequence, the annotation policy, and the
 * EVENT-line parser behind kafu run's summary and trace. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/daemon.h"
#include "node/policy.h"
#include "node/trace.h"

static kafu_node_ctx sample_ctx(void) {
  static char *args[] = {"alpha", "", "gamma"};
  static char *env[] = {"K=V"};
  kafu_node_ctx c = {.program = "app.wasm", .args = args, .n_args = 3, .env = env, .n_env = 1,
                     .flags = KAFU_SUBMIT_CHAOS, .chaos_seed = 42, .n_points = 1234};
  return c;
}

static void test_ctx_round_trip(void **state) {
  kafu_node_ctx c = sample_ctx(), d;
  kafu_buf b = {0};
  kafu_error err = {0};
  kafu_node_ctx_encode(&c, &b);
  assert_false(b.failed);
  assert_int_equal(kafu_node_ctx_decode(b.data, b.len, &d, &err), KAFU_OK);
  assert_string_equal(d.program, "app.wasm");
  assert_int_equal(d.n_args, 3);
  assert_string_equal(d.args[0], "alpha");
  assert_string_equal(d.args[1], "");
  assert_string_equal(d.args[2], "gamma");
  assert_int_equal(d.n_env, 1);
  assert_string_equal(d.env[0], "K=V");
  assert_int_equal(d.flags, KAFU_SUBMIT_CHAOS);
  assert_int_equal(d.chaos_seed, 42);
  assert_int_equal(d.n_points, 1234);
  kafu_node_ctx_free(&d);
  kafu_buf_free(&b);
}

static void test_ctx_hostile(void **state) {
  kafu_node_ctx c = sample_ctx(), d;
  kafu_buf b = {0};
  kafu_error err = {0};
  kafu_node_ctx_encode(&c, &b);
  /* Every truncation is refused, never read past the end. */
  for (size_t len = 0; len < b.len; len++) {
    uint8_t *copy = malloc(len ? len : 1);
    memcpy(copy, b.data, len);
    assert_int_equal(kafu_node_ctx_decode(copy, len, &d, &err), KAFU_E_INPUT);
    assert_non_null(strstr(err.msg, "job context"));
    assert_null(d.program);
    free(copy);
  }
  /* Trailing bytes, a huge list count, a NUL inside a string, a bad version. */
  kafu_buf_u8(&b, 0);
  assert_int_equal(kafu_node_ctx_decode(b.data, b.len, &d, &err), KAFU_E_INPUT);
  b.len--;
  size_t n_args_at = 1 + 4 + 8 + 8 + 4 + strlen("app.wasm");
  uint8_t saved = b.data[n_args_at + 3];
  b.data[n_args_at + 3] = 0x7f;
  assert_int_equal(kafu_node_ctx_decode(b.data, b.len, &d, &err), KAFU_E_INPUT);
  b.data[n_args_at + 3] = saved;
  b.data[n_args_at + 4 + 4] = '\0'; /* inside "alpha" */
  assert_int_equal(kafu_node_ctx_decode(b.data, b.len, &d, &err), KAFU_E_INPUT);
  b.data[n_args_at + 4 + 4] = 'a';
  b.data[0] = 2;
  assert_int_equal(kafu_node_ctx_decode(b.data, b.len, &d, &err), KAFU_E_INPUT);
  b.data[0] = 1;
  assert_int_equal(kafu_node_ctx_decode(b.data, b.len, &d, &err), KAFU_OK);
  kafu_node_ctx_free(&d);
  kafu_buf_free(&b);
}

static void test_chaos_pick(void **state) {
  int hits[3] = {0}, stays = 0;
  for (uint64_t n = 1; n <= 3000; n++) {
    int a = kafu_node_policy_chaos_pick(7, n, 1, 3);
    assert_int_equal(a, kafu_node_policy_chaos_pick(7, n, 1, 3)); /* deterministic */
    assert_true(a >= 0 && a < 3);
    hits[a]++;
    if (kafu_node_policy_chaos_pick(7, n, 10, 3) < 0) stays++;
  }
  for (int i = 0; i < 3; i++) assert_true(hits[i] > 800 && hits[i] < 1200);
  assert_true(stays > 2500 && stays < 2900); /* about 9 in 10 stay */
  /* Another seed, another sequence. */
  int same = 0;
  for (uint64_t n = 1; n <= 100; n++)
    same += kafu_node_policy_chaos_pick(7, n, 1, 3) == kafu_node_policy_chaos_pick(8, n, 1, 3);
  assert_true(same < 70);
  assert_int_equal(kafu_node_policy_chaos_pick(7, 1, 1, 0), -1);
}

static void test_annotation_policy(void **state) {
  kafu_config cfg;
  memset(&cfg, 0, sizeof cfg);
  kafu_node_policy pol = {.mode = KAFU_NODE_POLICY_ANNOTATIONS, .cfg = &cfg, .here = "cloud1"};
  kafu_site site = {.kind = KAFU_SITE_DEST, .func = "f", .node = "edge1", .file = ""};
  kafu_point pt = {.kind = KAFU_POINT_ENTER, .site_id = 3, .site = &site, .here = "cloud1",
                   .natural_dst = "edge1"};
  kafu_decision d = kafu_node_policy_decide(&pol, &pt);
  assert_int_equal(d.action, KAFU_MIGRATE);
  assert_string_equal(d.dst, "edge1");
  assert_string_equal(pol.function, "f");
  assert_int_equal(pol.reason, KAFU_MIGRATE_DEST);
  assert_int_equal(pol.site_id, 3);
  pt.kind = KAFU_POINT_LEAVE;
  pt.natural_dst = NULL; /* already where the caller was */
  assert_int_equal(kafu_node_policy_decide(&pol, &pt).action, KAFU_STAY);
  /* A poll inside an offload region moves only on request (no job: no). */
  pt.kind = KAFU_POINT_POLL;
  pt.natural_dst = "cloud2";
  assert_int_equal(kafu_node_policy_decide(&pol, &pt).action, KAFU_STAY);
  assert_int_equal(pol.n_points, 3);
}

static void test_trace_events(void **state) {
  kafu_node_trace t;
  memset(&t, 0, sizeof t);
  assert_int_equal(kafu_node_trace_event(&t, "start cloud1 start_us=1000"), KAFU_OK);
  assert_int_equal(kafu_node_trace_event(&t, "migrate cloud1 edge1 f dest raw=65536 wire=900 "
                                             "pause_us=300 start_us=2000 end_us=2300"),
                   KAFU_OK);
  assert_int_equal(kafu_node_trace_event(&t, "migrate edge1 cloud1 f return raw=65536 wire=800 "
                                             "pause_us=100 start_us=3000 end_us=3100"),
                   KAFU_OK);
  assert_int_equal(kafu_node_trace_event(&t, "migrate edge1 cloud1 f return raw=1"), KAFU_E_INPUT);
  assert_int_equal(kafu_node_trace_event(&t, "bogus"), KAFU_E_INPUT);
  kafu_node_trace_exit(&t, "cloud1", 4000);
  assert_int_equal(t.n_migs, 2);
  assert_string_equal(t.start_node, "cloud1");
  char buf[2048] = "";
  FILE *f = fmemopen(buf, sizeof buf - 1, "w");
  kafu_node_trace_summary(&t, f);
  fclose(f);
  assert_non_null(strstr(buf, "2 migrations"));
  assert_non_null(strstr(buf, "pause p50 0.100 ms, max 0.300 ms"));
  const char *total = strstr(buf, "total");
  assert_non_null(total);
  assert_non_null(strstr(total, " 131072 "));
  assert_non_null(strstr(total, " 1700\n"));
  kafu_node_trace_free(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ctx_round_trip),    cmocka_unit_test(test_ctx_hostile),
      cmocka_unit_test(test_chaos_pick),        cmocka_unit_test(test_annotation_policy),
      cmocka_unit_test(test_trace_events),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
