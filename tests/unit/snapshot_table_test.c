/* Page-hash tables as delta baselines: encoding against a table, keeping the
 * encoded image's table, applying a delta in place into a buffer that holds
 * the baseline (also when growing moves it), and decoders bringing a table
 * up to date. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>
#include <xxhash.h>

#include "../snapshot/fixture.h"

static void assert_table_of(const kafu_page_table *t, const uint8_t *mem, size_t len) {
  kafu_page_table want = {0};
  assert_true(kafu_page_table_build(&want, mem, len));
  assert_int_equal(t->n, want.n);
  if (want.n) assert_memory_equal(t->h, want.h, want.n * sizeof *want.h);
  kafu_page_table_free(&want);
}

/* Dirties one 4 KiB page in `every` (one byte each). */
static void dirty(uint8_t *mem, size_t len, unsigned every) {
  for (size_t pg = 0; pg < len / FX_PAGE; pg += every)
    mem[pg * FX_PAGE + (pg % 97)] ^= 0x5a;
}

static void test_build_zero_hash_and_id(void **state) {
  (void)state;
  uint8_t *mem = fx_sparse_memory(2, 3);
  kafu_page_table t = {0};
  assert_true(kafu_page_table_build(&t, mem, 2 * FX_WASM_PAGE));
  assert_int_equal(t.n, 32);
  for (size_t i = 0; i < t.n; i++) {
    kafu_page_hash h = kafu_page_hash_of(mem + i * FX_PAGE);
    assert_true(h.lo == t.h[i].lo && h.hi == t.h[i].hi);
  }
  /* The format's definition: a page hash is XXH3-128 (whichever vector
   * unit computes it), and the id's first half is XXH3-128 of the table. */
  XXH128_hash_t ref = XXH3_128bits(mem + 3 * FX_PAGE, FX_PAGE);
  assert_true(t.h[3].lo == ref.low64 && t.h[3].hi == ref.high64);
  uint8_t id0[KAFU_SHA256_LEN];
  kafu_page_table_id(&t, id0);
  XXH128_hash_t idref = XXH3_128bits(t.h, t.n * sizeof *t.h);
  for (int i = 0; i < 8; i++)
    assert_int_equal(id0[i], (uint8_t)(idref.low64 >> (8 * i)));
  static const uint8_t zero[FX_PAGE];
  kafu_page_hash z = kafu_page_hash_of(zero), zz = kafu_page_hash_zero();
  assert_true(z.lo == zz.lo && z.hi == zz.hi);
  uint8_t id1[KAFU_SHA256_LEN], id2[KAFU_SHA256_LEN];
  kafu_page_table_id(&t, id1);
  mem[5 * FX_PAGE + 7] ^= 1;
  assert_true(kafu_page_table_build(&t, mem, 2 * FX_WASM_PAGE));
  kafu_page_table_id(&t, id2);
  assert_memory_not_equal(id1, id2, KAFU_SHA256_LEN);
  kafu_page_table_free(&t);
  free(mem);
}

/* The receiver's buffer, grown by memory_for with realloc (which may move
 * it), as an interpreter instance's memory would be. */
typedef struct grow_buf {
  uint8_t *buf;
  size_t len;
} grow_buf;

static uint8_t *grow_memory_for(void *ud, uint32_t mem_pages, kafu_error *err) {
  grow_buf *g = ud;
  size_t want = (size_t)mem_pages * FX_WASM_PAGE;
  if (want < g->len) {
    kafu_fail(err, KAFU_E_INPUT, "smaller");
    return NULL;
  }
  if (want > g->len) {
    uint8_t *moved = malloc(want); /* always moves: the worst case */
    memcpy(moved, g->buf, g->len);
    memset(moved + g->len, 0, want - g->len);
    memset(g->buf, 0xee, g->len); /* stale bytes must not be read */
    free(g->buf);
    g->buf = moved;
    g->len = want;
  }
  return g->buf;
}

/* Source: full encode with table_out, then a delta against that table, the
 * delta's own table_out aliasing the baseline table. Receiver: full decode
 * (table rebuilt), then the delta in place (table updated). */
static void run_pair(uint32_t pages, uint32_t grown_pages, bool compress) {
  size_t len = (size_t)pages * FX_WASM_PAGE, grown = (size_t)grown_pages * FX_WASM_PAGE;
  uint8_t *src = calloc(1, grown);
  uint8_t *init = fx_sparse_memory(pages, 2);
  memcpy(src, init, len);
  free(init);
  kafu_error err = {0};

  kafu_snapshot s = fx_snapshot(src, pages);
  kafu_page_table src_t = {0};
  kafu_snapshot_opts o = {.compress = compress, .table_out = &src_t};
  kafu_buf full = {0};
  assert_int_equal(kafu_snapshot_encode(&s, &o, &full, &err), KAFU_OK);
  assert_table_of(&src_t, src, len);

  /* The receiver's buffer starts as garbage: a full decode overwrites it. */
  grow_buf g = {malloc(len), len};
  fx_fill_random(g.buf, len);
  kafu_page_table dst_t = {0};
  kafu_snapshot got;
  kafu_snapshot_decode_opts d = {.table = &dst_t, .memory_for = grow_memory_for, .memory_ud = &g};
  assert_int_equal(kafu_snapshot_decode_ex(full.data, full.len, &d, &got, &err), KAFU_OK);
  assert_memory_equal(g.buf, src, len);
  assert_table_of(&dst_t, g.buf, len);
  kafu_snapshot_free(&got);

  uint8_t base_id[KAFU_SHA256_LEN];
  kafu_page_table_id(&src_t, base_id);
  dirty(src, len, 10);
  if (grown > len) fx_fill_random(src + len, FX_PAGE); /* a new non-zero page */
  s = fx_snapshot(src, grown_pages);
  kafu_snapshot_opts od = {
      .compress = compress, .baseline_table = &src_t, .table_out = &src_t, .baseline_seq = 1};
  memcpy(od.baseline_hash, base_id, KAFU_SHA256_LEN);
  kafu_buf delta = {0};
  assert_int_equal(kafu_snapshot_encode(&s, &od, &delta, &err), KAFU_OK);
  assert_true(kafu_snapshot_is_delta(delta.data, delta.len, NULL, NULL));
  assert_true(delta.len < full.len / 2);
  assert_table_of(&src_t, src, grown);

  d = (kafu_snapshot_decode_opts){.baseline_in_memory = true,
                                  .baseline_len = len,
                                  .baseline_sha256 = base_id,
                                  .table = &dst_t,
                                  .memory_for = grow_memory_for,
                                  .memory_ud = &g};
  if (kafu_snapshot_decode_ex(delta.data, delta.len, &d, &got, &err)) fail_msg("%s", err.msg);
  assert_int_equal(g.len, grown);
  assert_memory_equal(g.buf, src, grown);
  assert_table_of(&dst_t, g.buf, grown);
  kafu_snapshot_free(&got);

  /* A wrong identity is refused before the buffer is touched. */
  uint8_t *before = malloc(g.len);
  memcpy(before, g.buf, g.len);
  uint8_t other[KAFU_SHA256_LEN];
  memcpy(other, base_id, sizeof other);
  other[0] ^= 1;
  d.baseline_sha256 = other;
  d.baseline_len = len;
  assert_int_equal(kafu_snapshot_decode_ex(delta.data, delta.len, &d, &got, &err), KAFU_E_INPUT);
  assert_non_null(strstr(err.msg, "baseline mismatch"));
  assert_memory_equal(g.buf, before, g.len);
  free(before);

  kafu_buf_free(&full);
  kafu_buf_free(&delta);
  kafu_page_table_free(&src_t);
  kafu_page_table_free(&dst_t);
  free(src);
  free(g.buf);
}

static void test_pair_raw(void **state) {
  (void)state;
  run_pair(4, 4, false);
}

static void test_pair_zstd_grown(void **state) {
  (void)state;
  run_pair(4, 6, true);
}

/* Big enough for the two-thread hashing path. */
static void test_pair_large(void **state) {
  (void)state;
  run_pair(160, 161, false);
}

/* A delta table must match the baseline's size; a mismatch is a caller bug. */
static void test_decode_table_size_mismatch(void **state) {
  (void)state;
  uint8_t *mem = fx_sparse_memory(2, 2);
  kafu_snapshot s = fx_snapshot(mem, 2);
  kafu_page_table t = {0};
  assert_true(kafu_page_table_build(&t, mem, 2 * FX_WASM_PAGE));
  kafu_snapshot_opts o = {.baseline_table = &t};
  kafu_page_table_id(&t, o.baseline_hash);
  kafu_buf out = {0};
  kafu_error err = {0};
  assert_int_equal(kafu_snapshot_encode(&s, &o, &out, &err), KAFU_OK);
  kafu_page_table small = {0};
  assert_true(kafu_page_table_resize(&small, 16));
  kafu_snapshot got;
  kafu_snapshot_decode_opts d = {.baseline = mem,
                                 .baseline_len = 2 * FX_WASM_PAGE,
                                 .baseline_sha256 = o.baseline_hash,
                                 .table = &small};
  assert_int_equal(kafu_snapshot_decode_ex(out.data, out.len, &d, &got, &err), KAFU_E_INTERNAL);
  kafu_buf_free(&out);
  kafu_page_table_free(&t);
  kafu_page_table_free(&small);
  free(mem);
}

/* A dirty hint: pages outside it are taken from table_out unread, so a page
 * left out of the hint (a tracker miss) is not sent; pages in it, and past
 * dirty_n, are read. This pins both halves of the contract. */
static void test_dirty_hint(void **state) {
  (void)state;
  uint32_t pages = 4;
  size_t len = (size_t)pages * FX_WASM_PAGE, n = len / FX_PAGE;
  uint8_t *mem = fx_sparse_memory(pages, 2);
  kafu_page_table base = {0}, cur = {0};
  assert_true(kafu_page_table_build(&base, mem, len));
  assert_true(kafu_page_table_copy(&cur, &base));
  mem[3 * FX_PAGE] ^= 1;  /* in the hint */
  mem[9 * FX_PAGE] ^= 1;  /* left out of it: must not be seen */
  mem[60 * FX_PAGE] ^= 1; /* past dirty_n: read */
  uint8_t *hint = calloc(1, n / 8);
  hint[3 / 8] |= 1u << (3 % 8);
  kafu_snapshot s = fx_snapshot(mem, pages);
  kafu_snapshot_opts o = {.baseline_table = &base, .table_out = &cur, .dirty = hint, .dirty_n = 48};
  kafu_page_table_id(&base, o.baseline_hash);
  kafu_buf out = {0};
  kafu_error err = {0};
  assert_int_equal(kafu_snapshot_encode(&s, &o, &out, &err), KAFU_OK);
  uint8_t *back = malloc(len);
  memcpy(back, mem, len);
  back[3 * FX_PAGE] ^= 1;
  back[9 * FX_PAGE] ^= 1;
  back[60 * FX_PAGE] ^= 1; /* the baseline image */
  kafu_snapshot got;
  kafu_snapshot_decode_opts d = {
      .baseline = back, .baseline_len = len, .baseline_sha256 = o.baseline_hash};
  assert_int_equal(kafu_snapshot_decode_ex(out.data, out.len, &d, &got, &err), KAFU_OK);
  assert_int_equal(got.memory[3 * FX_PAGE], mem[3 * FX_PAGE]);
  assert_int_equal(got.memory[60 * FX_PAGE], mem[60 * FX_PAGE]);
  assert_int_not_equal(got.memory[9 * FX_PAGE], mem[9 * FX_PAGE]);
  /* table_out took the hint's pages and kept page 9's stale entry. */
  kafu_page_hash h3 = kafu_page_hash_of(mem + 3 * FX_PAGE);
  assert_true(cur.h[3].lo == h3.lo && cur.h[3].hi == h3.hi);
  assert_true(cur.h[9].lo == base.h[9].lo && cur.h[9].hi == base.h[9].hi);
  assert_int_equal(cur.track_tag, 0); /* changed tables lose their tag */
  kafu_snapshot_free(&got);
  kafu_buf_free(&out);
  kafu_page_table_free(&base);
  kafu_page_table_free(&cur);
  free(hint);
  free(back);
  free(mem);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_build_zero_hash_and_id),
      cmocka_unit_test(test_pair_raw),
      cmocka_unit_test(test_pair_zstd_grown),
      cmocka_unit_test(test_pair_large),
      cmocka_unit_test(test_decode_table_size_mismatch),
      cmocka_unit_test(test_dirty_hint),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
