/* Allocation-failure injection through the snapshot allocator hook: the n-th
 * allocation fails, for every n until encode/decode succeed; each failure
 * must be KAFU_E_NOMEM with nothing leaked and old sizes matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "../snapshot/fixture.h"

static long allocs_left; /* the allocation that finds this at 0 fails */
static long n_allocs;
static size_t live_bytes;
static long live_blocks;

static void *failing_alloc(void *ud, void *ptr, size_t old_size, size_t new_size) {
  (void)ud;
  if (new_size == 0) {
    if (ptr) {
      assert_true(live_bytes >= old_size);
      live_bytes -= old_size;
      live_blocks--;
    }
    return kafu_snapshot_default_alloc(NULL, ptr, old_size, 0);
  }
  if (allocs_left-- == 0) return NULL;
  void *p = kafu_snapshot_default_alloc(NULL, ptr, old_size, new_size);
  if (p) {
    live_bytes += new_size - old_size;
    if (!ptr) live_blocks++;
    n_allocs++;
  }
  return p;
}

static int setup(void **state) {
  (void)state;
  kafu_snapshot_set_allocator(failing_alloc, NULL);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  kafu_snapshot_set_allocator(NULL, NULL);
  return 0;
}

/* Runs encode (and decode of its result) with failure points 0, 1, 2, ...
 * until the call succeeds; returns how many failure points were hit. */
static long sweep(const kafu_snapshot *s, const kafu_snapshot_opts *opts) {
  kafu_buf good = {0};
  kafu_error err = {0};
  long failures = 0;
  for (long fail_at = 0;; fail_at++) {
    allocs_left = fail_at;
    kafu_buf out = {0};
    kafu_err rc = kafu_snapshot_encode(s, opts, &out, &err);
    assert_int_equal(live_bytes, 0);
    assert_int_equal(live_blocks, 0);
    if (rc == KAFU_OK) {
      good = out;
      break;
    }
    assert_int_equal(rc, KAFU_E_NOMEM);
    assert_int_equal(out.len, 0);
    kafu_buf_free(&out);
    failures++;
  }
  for (long fail_at = 0;; fail_at++) {
    allocs_left = fail_at;
    kafu_snapshot got;
    kafu_err rc = kafu_snapshot_decode(good.data, good.len, NULL, opts ? opts->baseline : NULL,
                                       opts ? opts->baseline_len : 0, &got, &err);
    if (rc == KAFU_OK) {
      assert_int_equal(got.mem_pages, s->mem_pages);
      assert_true(memcmp(got.memory, s->memory, (size_t)s->mem_pages * FX_WASM_PAGE) == 0);
      kafu_snapshot_free(&got);
      assert_int_equal(live_bytes, 0);
      break;
    }
    assert_int_equal(rc, KAFU_E_NOMEM);
    assert_null(got.memory);
    assert_null(got.mig_stack);
    assert_null(got.wasi);
    assert_int_equal(live_bytes, 0);
    failures++;
  }
  allocs_left = -1; /* never fail again */
  kafu_buf_free(&good);
  return failures;
}

static void test_full(void **state) {
  (void)state;
  uint8_t *mem = fx_sparse_memory(2, 3);
  kafu_snapshot s = fx_snapshot(mem, 2);
  /* encode: the page map; decode: three sections and memory */
  assert_true(sweep(&s, NULL) >= 5);
  free(mem);
}

static void test_compressed(void **state) {
  (void)state;
  uint8_t *mem = fx_sparse_memory(2, 3);
  kafu_snapshot s = fx_snapshot(mem, 2);
  kafu_snapshot_opts z = {.compress = true};
  n_allocs = 0;
  /* zstd's own context allocations go through the hook as well */
  assert_true(sweep(&s, &z) >= 7);
  assert_true(n_allocs > 7);
  free(mem);
}

static void test_delta(void **state) {
  (void)state;
  uint8_t *base = fx_sparse_memory(2, 2);
  uint8_t *mem = calloc(1, 3 * FX_WASM_PAGE);
  memcpy(mem, base, 2 * FX_WASM_PAGE);
  mem[3 * FX_WASM_PAGE - 1] = 9;
  mem[100] ^= 1;
  kafu_snapshot s = fx_snapshot(mem, 3);
  kafu_snapshot_opts d = {.baseline = base, .baseline_len = 2 * FX_WASM_PAGE, .compress = true};
  kafu_sha256(base, d.baseline_len, d.baseline_hash);
  assert_true(sweep(&s, &d) >= 7);
  free(mem);
  free(base);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_full, setup, teardown),
      cmocka_unit_test_setup_teardown(test_compressed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_delta, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
