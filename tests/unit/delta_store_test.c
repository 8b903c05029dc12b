/* The per-(job, peer) delta baseline store of a node (src/node/delta.c):
 * put/get of page tables, replacement while borrowed, dropping a pair,
 * freeing a job's baselines, and the byte budget. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/delta.h"

/* A table of n pages whose entries all derive from `tag`. */
static kafu_page_table table_of(size_t n, uint64_t tag) {
  kafu_page_table t = {0};
  assert_true(kafu_page_table_resize(&t, n));
  for (size_t i = 0; i < n; i++) t.h[i] = (kafu_page_hash){tag, i};
  return t;
}

static void put(kafu_node_baselines *b, uint64_t job, const char *peer, uint64_t seq,
                uint64_t tag, size_t n) {
  kafu_page_table t = table_of(n, tag);
  uint8_t id[KAFU_SHA256_LEN];
  kafu_page_table_id(&t, id);
  assert_true(kafu_node_baseline_put(b, job, peer, seq, &t, id));
  kafu_page_table_free(&t); /* the store holds its own copy */
}

static void test_put_and_get(void **state) {
  (void)state;
  kafu_node_baselines b;
  kafu_node_baselines_init(&b);
  put(&b, 7, "edge1", 3, 0xab, 16);
  kafu_node_baseline *e = kafu_node_baseline_get(&b, 7, "edge1");
  assert_non_null(e);
  assert_int_equal(e->seq, 3);
  assert_int_equal(e->table.n, 16);
  assert_int_equal(e->table.h[5].lo, 0xab);
  uint8_t id[KAFU_SHA256_LEN];
  kafu_page_table_id(&e->table, id);
  assert_memory_equal(id, e->id, KAFU_SHA256_LEN);
  kafu_node_baseline_release(&b, e);
  /* other peer, other job */
  assert_null(kafu_node_baseline_get(&b, 7, "edge2"));
  assert_null(kafu_node_baseline_get(&b, 8, "edge1"));
  size_t n = 0;
  assert_int_equal(kafu_node_baselines_bytes(&b, &n), 16 * sizeof(kafu_page_hash));
  assert_int_equal(n, 1);
  kafu_node_baselines_free(&b);
}

static void test_replace_while_borrowed(void **state) {
  (void)state;
  kafu_node_baselines b;
  kafu_node_baselines_init(&b);
  put(&b, 2, "edge1", 1, 0x11, 16);
  kafu_node_baseline *old = kafu_node_baseline_get(&b, 2, "edge1");
  put(&b, 2, "edge1", 2, 0x22, 32);
  /* the borrower still reads the old table */
  assert_int_equal(old->seq, 1);
  assert_int_equal(old->table.h[0].lo, 0x11);
  kafu_node_baseline *cur = kafu_node_baseline_get(&b, 2, "edge1");
  assert_int_equal(cur->seq, 2);
  assert_int_equal(cur->table.n, 32);
  assert_int_equal(kafu_node_baselines_bytes(&b, NULL), 32 * sizeof(kafu_page_hash));
  kafu_node_baseline_release(&b, old);
  kafu_node_baseline_release(&b, cur);
  kafu_node_baselines_free(&b);
}

static void test_drop_and_forget_job(void **state) {
  (void)state;
  kafu_node_baselines b;
  kafu_node_baselines_init(&b);
  put(&b, 4, "edge1", 1, 1, 16);
  put(&b, 4, "edge2", 1, 2, 16);
  put(&b, 5, "edge1", 1, 3, 16);
  kafu_node_baseline_drop(&b, 4, "edge1");
  assert_null(kafu_node_baseline_get(&b, 4, "edge1"));
  kafu_node_baseline *e = kafu_node_baseline_get(&b, 4, "edge2");
  assert_non_null(e);
  kafu_node_baselines_forget_job(&b, 4);
  assert_null(kafu_node_baseline_get(&b, 4, "edge2"));
  assert_int_equal(e->table.h[0].lo, 2); /* still readable by its borrower */
  kafu_node_baseline_release(&b, e);
  size_t n = 0;
  kafu_node_baselines_bytes(&b, &n);
  assert_int_equal(n, 1);
  kafu_node_baselines_free(&b);
}

/* Two tables that do not fit together: the older goes. One over the whole
 * budget is refused. */
static void test_budget(void **state) {
  (void)state;
  kafu_node_baselines b;
  kafu_node_baselines_init(&b);
  size_t n = KAFU_NODE_BASELINE_BUDGET / sizeof(kafu_page_hash) * 3 / 4;
  put(&b, 1, "edge1", 1, 1, n);
  put(&b, 2, "edge1", 1, 2, n);
  assert_null(kafu_node_baseline_get(&b, 1, "edge1"));
  kafu_node_baseline *e = kafu_node_baseline_get(&b, 2, "edge1");
  assert_non_null(e);
  kafu_node_baseline_release(&b, e);
  kafu_page_table big = table_of(KAFU_NODE_BASELINE_BUDGET / sizeof(kafu_page_hash) + 16, 9);
  uint8_t id[KAFU_SHA256_LEN] = {0};
  assert_false(kafu_node_baseline_put(&b, 3, "edge1", 1, &big, id));
  kafu_page_table_free(&big);
  kafu_node_baselines_free(&b);
}

/* A zero-filled store works without init (the daemon is calloc'd). */
static void test_zero_filled(void **state) {
  (void)state;
  kafu_node_baselines b;
  memset(&b, 0, sizeof b);
  assert_null(kafu_node_baseline_get(&b, 1, "x"));
  put(&b, 1, "x", 1, 1, 16);
  kafu_node_baselines_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_put_and_get),
      cmocka_unit_test(test_replace_while_borrowed),
      cmocka_unit_test(test_drop_and_forget_job),
      cmocka_unit_test(test_budget),
      cmocka_unit_test(test_zero_filled),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
