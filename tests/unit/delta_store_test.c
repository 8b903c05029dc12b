/* The per-(job, peer) delta baseline store of a node (src/node/delta.c):
 * announce/fill/seal, lookups that wait for a baseline being hashed and give
 * up in bounded time, replacement while borrowed, failed transfers, and
 * freeing a job's baselines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "node/delta.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void keep(kafu_node_baselines *b, uint64_t job, const char *peer, uint64_t seq,
                 uint8_t fill_byte, size_t len) {
  uint8_t *mem = malloc(len);
  memset(mem, fill_byte, len);
  kafu_node_baseline *e = kafu_node_baseline_announce(b, job, peer, seq);
  assert_non_null(e);
  assert_true(kafu_node_baseline_fill(b, e, mem, len));
  free(mem); /* the store holds its own copy */
  kafu_node_baseline_seal(b, e, true);
}

static void test_keep_and_get(void **state) {
  (void)state;
  kafu_node_baselines b;
  kafu_node_baselines_init(&b);
  keep(&b, 7, "edge1", 3, 0xab, 65536);
  kafu_node_baseline *e = kafu_node_baseline_get(&b, 7, "edge1", 0);
  assert_non_null(e);
  assert_int_equal(e->seq, 3);
  assert_int_equal(e->len, 65536);
  assert_int_equal(e->mem[65535], 0xab);
  uint8_t want[KAFU_SHA256_LEN];
  kafu_sha256(e->mem, e->len, want);
  assert_memory_equal(e->sha256, want, KAFU_SHA256_LEN);
  kafu_node_baseline_release(&b, e);
  /* other peer, other job: none */
  assert_null(kafu_node_baseline_get(&b, 7, "edge2", 0));
  assert_null(kafu_node_baseline_get(&b, 8, "edge1", 0));
  size_t n = 0;
  assert_int_equal(kafu_node_baselines_bytes(&b, &n), 65536);
  assert_int_equal(n, 1);
  kafu_node_baselines_free(&b);
}

static void test_pending_waits_then_gives_up(void **state) {
  (void)state;
  kafu_node_baselines b;
  memset(&b, 0, sizeof b); /* a zero-filled store initializes itself */
  kafu_node_baseline *e = kafu_node_baseline_announce(&b, 1, "cloud1", 5);
  assert_non_null(e);
  double t0 = now_ms();
  assert_null(kafu_node_baseline_get(&b, 1, "cloud1", 100));
  double waited = now_ms() - t0;
  assert_true(waited >= 90 && waited < 2000);
  /* a failed transfer removes the pending entry */
  kafu_node_baseline_seal(&b, e, false);
  assert_null(kafu_node_baseline_get(&b, 1, "cloud1", 0));
  assert_int_equal(kafu_node_baselines_bytes(&b, NULL), 0);
  kafu_node_baselines_free(&b);
}

static void test_replace_while_borrowed(void **state) {
  (void)state;
  kafu_node_baselines b;
  kafu_node_baselines_init(&b);
  keep(&b, 2, "edge1", 1, 0x11, 65536);
  kafu_node_baseline *old = kafu_node_baseline_get(&b, 2, "edge1", 0);
  assert_non_null(old);
  keep(&b, 2, "edge1", 2, 0x22, 131072);
  /* the borrowed old image stays intact until released */
  assert_int_equal(old->seq, 1);
  assert_int_equal(old->mem[100], 0x11);
  kafu_node_baseline *cur = kafu_node_baseline_get(&b, 2, "edge1", 0);
  assert_int_equal(cur->seq, 2);
  assert_int_equal(cur->mem[100], 0x22);
  assert_int_equal(kafu_node_baselines_bytes(&b, NULL), 131072);
  kafu_node_baseline_release(&b, old);
  kafu_node_baseline_release(&b, cur);
  kafu_node_baselines_free(&b);
}

static void test_recycles_unborrowed_buffer(void **state) {
  (void)state;
  kafu_node_baselines b;
  kafu_node_baselines_init(&b);
  keep(&b, 3, "edge1", 1, 0x11, 65536);
  kafu_node_baseline *e = kafu_node_baseline_get(&b, 3, "edge1", 0);
  uintptr_t first = (uintptr_t)e->mem;
  kafu_node_baseline_release(&b, e);
  keep(&b, 3, "edge1", 2, 0x22, 65536);
  e = kafu_node_baseline_get(&b, 3, "edge1", 0);
  assert_true((uintptr_t)e->mem == first); /* the old image's pages were reused */
  assert_int_equal(e->mem[7], 0x22);
  assert_int_equal(e->seq, 2);
  kafu_node_baseline_release(&b, e);
  assert_int_equal(kafu_node_baselines_bytes(&b, NULL), 65536);
  kafu_node_baselines_free(&b);
}

static void test_forget_job(void **state) {
  (void)state;
  kafu_node_baselines b;
  kafu_node_baselines_init(&b);
  keep(&b, 4, "edge1", 1, 1, 65536);
  keep(&b, 4, "edge2", 1, 2, 65536);
  keep(&b, 5, "edge1", 1, 3, 65536);
  kafu_node_baselines_forget_job(&b, 4);
  assert_null(kafu_node_baseline_get(&b, 4, "edge1", 0));
  assert_null(kafu_node_baseline_get(&b, 4, "edge2", 0));
  kafu_node_baseline *e = kafu_node_baseline_get(&b, 5, "edge1", 0);
  assert_non_null(e);
  kafu_node_baseline_release(&b, e);
  size_t n = 0;
  assert_int_equal(kafu_node_baselines_bytes(&b, &n), 65536);
  assert_int_equal(n, 1);
  kafu_node_baselines_free(&b);
}

static void test_fill_refuses_nothing(void **state) {
  (void)state;
  kafu_node_baselines b;
  kafu_node_baselines_init(&b);
  kafu_node_baseline *e = kafu_node_baseline_announce(&b, 9, "x", 1);
  assert_false(kafu_node_baseline_fill(&b, e, NULL, 65536));
  kafu_node_baseline_seal(&b, e, false);
  assert_null(kafu_node_baseline_get(&b, 9, "x", 0));
  kafu_node_baselines_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_keep_and_get),
      cmocka_unit_test(test_pending_waits_then_gives_up),
      cmocka_unit_test(test_replace_while_borrowed),
      cmocka_unit_test(test_recycles_unborrowed_buffer),
      cmocka_unit_test(test_forget_job),
      cmocka_unit_test(test_fill_refuses_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
