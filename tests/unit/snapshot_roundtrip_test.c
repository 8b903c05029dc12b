/* Snapshot v1 round trips: full and delta, with and without zstd, random,
 * sparse and grown memory; every decoded field must equal what went in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "../snapshot/fixture.h"

static void assert_same(const kafu_snapshot *want, const kafu_snapshot *got) {
  assert_memory_equal(want->module_sha256, got->module_sha256, KAFU_SHA256_LEN);
  assert_int_equal(want->job_id, got->job_id);
  assert_int_equal(want->seq, got->seq);
  assert_int_equal(want->mig_stack_len, got->mig_stack_len);
  assert_memory_equal(want->mig_stack, got->mig_stack, want->mig_stack_len);
  assert_int_equal(want->state_base, got->state_base);
  assert_int_equal(want->state_len, got->state_len);
  assert_memory_equal(want->state, got->state, want->state_len);
  assert_int_equal(want->wasi_len, got->wasi_len);
  assert_memory_equal(want->wasi, got->wasi, want->wasi_len);
  assert_int_equal(want->mem_pages, got->mem_pages);
  size_t mem_len = (size_t)want->mem_pages * FX_WASM_PAGE;
  if (mem_len) assert_true(memcmp(want->memory, got->memory, mem_len) == 0);
}

/* Encodes, decodes and compares; returns the encoded size. */
static size_t round_trip(const kafu_snapshot *s, const kafu_snapshot_opts *opts) {
  kafu_buf out = {0};
  kafu_error err = {0};
  assert_int_equal(kafu_snapshot_encode(s, opts, &out, &err), KAFU_OK);
  kafu_snapshot got;
  kafu_err rc =
      kafu_snapshot_decode(out.data, out.len, s->module_sha256, opts ? opts->baseline : NULL,
                           opts ? opts->baseline_len : 0, &got, &err);
  if (rc) fail_msg("decode: %s", err.msg);
  assert_same(s, &got);
  kafu_snapshot_free(&got);
  size_t len = out.len;
  kafu_buf_free(&out);
  return len;
}

/* header + sections (fixture sizes) + page map + checksum, without pages */
static size_t overhead(uint32_t wasm_pages) {
  return FX_HEADER_LEN + 4 + 3 + 8 + 16 + 4 + 5 + 4 + wasm_pages * 2u + 8;
}

static void test_full_random(void **state) {
  (void)state;
  uint8_t *mem = fx_random_memory(4);
  kafu_snapshot s = fx_snapshot(mem, 4);
  assert_int_equal(round_trip(&s, NULL), overhead(4) + 4 * FX_WASM_PAGE);
  kafu_snapshot_opts z = {.compress = true};
  round_trip(&s, &z);
  free(mem);
}

static void test_full_sparse_elides_zero_pages(void **state) {
  (void)state;
  uint8_t *mem = fx_sparse_memory(8, 5);
  /* a page whose only non-zero byte is its last one must still be carried */
  memset(mem + 7 * FX_PAGE, 0, FX_PAGE);
  mem[8 * FX_PAGE - 1] = 1;
  size_t present = 0;
  for (size_t pg = 0; pg < 8 * 16; pg++) {
    size_t i = 0;
    while (i < FX_PAGE && mem[pg * FX_PAGE + i] == 0)
      i++;
    present += i < FX_PAGE;
  }
  assert_true(present > 0 && present < 8 * 16);
  kafu_snapshot s = fx_snapshot(mem, 8);
  assert_int_equal(round_trip(&s, NULL), overhead(8) + present * FX_PAGE);
  kafu_snapshot_opts z = {.compress = true, .level = 3};
  assert_true(round_trip(&s, &z) < overhead(8) + present * FX_PAGE);
  free(mem);
}

static void test_empty_and_zero_memory(void **state) {
  (void)state;
  kafu_snapshot s = fx_snapshot(NULL, 0);
  assert_int_equal(round_trip(&s, NULL), overhead(0));
  uint8_t *mem = calloc(1, 2 * FX_WASM_PAGE);
  s = fx_snapshot(mem, 2);
  assert_int_equal(round_trip(&s, NULL), overhead(2));
  kafu_snapshot_opts z = {.compress = true};
  round_trip(&s, &z);
  s.mig_stack_len = s.state_len = 0;
  s.wasi_len = 0;
  round_trip(&s, &z);
  free(mem);
}

static void test_encode_appends(void **state) {
  (void)state;
  uint8_t *mem = fx_sparse_memory(1, 3);
  kafu_snapshot s = fx_snapshot(mem, 1);
  kafu_buf out = {0};
  kafu_buf_append(&out, "prefix", 6);
  kafu_error err = {0};
  assert_int_equal(kafu_snapshot_encode(&s, NULL, &out, &err), KAFU_OK);
  assert_memory_equal(out.data, "prefix", 6);
  kafu_snapshot got;
  assert_int_equal(kafu_snapshot_decode(out.data + 6, out.len - 6, NULL, NULL, 0, &got, &err),
                   KAFU_OK);
  assert_same(&s, &got);
  kafu_snapshot_free(&got);
  kafu_buf_free(&out);
  free(mem);
}

/* 1% of the 4 KiB pages change by one byte; only those travel. */
static void test_delta_one_percent(void **state) {
  (void)state;
  const uint32_t pages = 64;
  size_t len = (size_t)pages * FX_WASM_PAGE;
  uint8_t *base = fx_sparse_memory(pages, 2);
  uint8_t *mem = malloc(len);
  memcpy(mem, base, len);
  size_t n_dirty = 0;
  for (size_t pg = 0; pg < len / FX_PAGE; pg += 100) {
    mem[pg * FX_PAGE + (fx_next() % FX_PAGE)] ^= 0x5a;
    n_dirty++;
  }
  kafu_snapshot s = fx_snapshot(mem, pages);
  kafu_snapshot_opts d = {.baseline = base, .baseline_len = len, .baseline_seq = 41};
  kafu_sha256(base, len, d.baseline_hash);
  assert_int_equal(round_trip(&s, &d), overhead(pages) + n_dirty * FX_PAGE);
  d.compress = true;
  assert_true(round_trip(&s, &d) < overhead(pages) + n_dirty * FX_PAGE);

  kafu_buf out = {0};
  kafu_error err = {0};
  assert_int_equal(kafu_snapshot_encode(&s, &d, &out, &err), KAFU_OK);
  uint64_t seq = 0;
  uint8_t hash[KAFU_SHA256_LEN];
  assert_true(kafu_snapshot_is_delta(out.data, out.len, &seq, hash));
  assert_int_equal(seq, 41);
  assert_memory_equal(hash, d.baseline_hash, KAFU_SHA256_LEN);
  kafu_buf_free(&out);
  d.baseline = NULL;
  assert_int_equal(kafu_snapshot_encode(&s, &d, &out, &err), KAFU_OK);
  assert_false(kafu_snapshot_is_delta(out.data, out.len, NULL, NULL));
  kafu_buf_free(&out);
  free(mem);
  free(base);
}

/* Memory grew by 3 wasm pages since the baseline: the grown pages that hold
 * data travel, the zero ones are implied. */
static void test_delta_memory_grown(void **state) {
  (void)state;
  const uint32_t base_pages = 5, pages = 8;
  uint8_t *base = fx_random_memory(base_pages);
  uint8_t *mem = calloc(1, (size_t)pages * FX_WASM_PAGE);
  memcpy(mem, base, (size_t)base_pages * FX_WASM_PAGE);
  mem[10] ^= 1;                                                /* one dirty old page */
  fx_fill_random(mem + (size_t)6 * FX_WASM_PAGE, 3 * FX_PAGE); /* three new data pages */
  kafu_snapshot s = fx_snapshot(mem, pages);
  kafu_snapshot_opts d = {
      .baseline = base, .baseline_len = (size_t)base_pages * FX_WASM_PAGE, .baseline_seq = 7};
  kafu_sha256(base, d.baseline_len, d.baseline_hash);
  assert_int_equal(round_trip(&s, &d), overhead(pages) + 4 * FX_PAGE);
  d.compress = true;
  round_trip(&s, &d);
  free(mem);
  free(base);
}

/* Wasm memory never shrinks, but the format allows a baseline bigger than
 * memory: only its first mem_pages matter. */
static void test_delta_memory_smaller_than_baseline(void **state) {
  (void)state;
  uint8_t *base = fx_random_memory(3);
  uint8_t *mem = malloc(FX_WASM_PAGE);
  memcpy(mem, base, FX_WASM_PAGE);
  mem[FX_WASM_PAGE - 1] ^= 0x80;
  kafu_snapshot s = fx_snapshot(mem, 1);
  kafu_snapshot_opts d = {.baseline = base, .baseline_len = 3 * FX_WASM_PAGE};
  kafu_sha256(base, d.baseline_len, d.baseline_hash);
  assert_int_equal(round_trip(&s, &d), overhead(1) + FX_PAGE);
  free(mem);
  free(base);
}

static void expect_decode_error(const kafu_buf *b, const uint8_t *baseline, size_t baseline_len,
                                const char *needle) {
  kafu_snapshot got;
  kafu_error err = {0};
  assert_int_equal(kafu_snapshot_decode(b->data, b->len, NULL, baseline, baseline_len, &got, &err),
                   KAFU_E_INPUT);
  if (!strstr(err.msg, needle)) fail_msg("message \"%s\" lacks \"%s\"", err.msg, needle);
  assert_null(got.memory);
}

static void test_delta_baseline_mismatch(void **state) {
  (void)state;
  const uint32_t pages = 2;
  size_t len = (size_t)pages * FX_WASM_PAGE;
  uint8_t *base = fx_random_memory(pages);
  uint8_t *mem = malloc(len);
  memcpy(mem, base, len);
  mem[5000] ^= 0xff;
  kafu_snapshot s = fx_snapshot(mem, pages);
  kafu_snapshot_opts d = {.baseline = base, .baseline_len = len, .baseline_seq = 3};
  kafu_sha256(base, len, d.baseline_hash);
  kafu_buf out = {0};
  kafu_error err = {0};
  assert_int_equal(kafu_snapshot_encode(&s, &d, &out, &err), KAFU_OK);
  expect_decode_error(&out, NULL, 0, "no baseline given");
  expect_decode_error(&out, base, len - FX_WASM_PAGE, "baseline mismatch");
  base[len - 1] ^= 1; /* the right size but not the image the delta was made against */
  expect_decode_error(&out, base, len, "baseline mismatch");
  kafu_buf_free(&out);
  free(mem);
  free(base);
}

/* Regression (found by fuzz_snapshot_decode): a delta of an empty memory
 * against an empty baseline passed NULL to memcpy. */
static void test_regression_delta_empty_memory(void **state) {
  (void)state;
  static const uint8_t no_pages[1];
  kafu_snapshot s = fx_snapshot(NULL, 0);
  kafu_snapshot_opts d = {.baseline = no_pages, .baseline_len = 0};
  kafu_sha256(no_pages, 0, d.baseline_hash);
  assert_int_equal(round_trip(&s, &d), overhead(0));
}

/* memory_for: hands out a caller buffer full of garbage, or fails. */
typedef struct dest {
  uint8_t *buf;
  size_t cap;
  uint32_t asked_pages;
} dest;

static uint8_t *give_memory(void *ud, uint32_t mem_pages, kafu_error *err) {
  dest *d = ud;
  d->asked_pages = mem_pages;
  if (!d->buf || (size_t)mem_pages * FX_WASM_PAGE > d->cap) {
    kafu_fail(err, KAFU_E_LIMIT, "test: no room for %u pages", mem_pages);
    return NULL;
  }
  return d->buf;
}

static void decode_into(const kafu_buf *b, kafu_snapshot_decode_opts *o, dest *d,
                        const kafu_snapshot *want) {
  kafu_snapshot got;
  kafu_error err = {0};
  o->memory_for = give_memory;
  o->memory_ud = d;
  if (kafu_snapshot_decode_ex(b->data, b->len, o, &got, &err)) fail_msg("decode: %s", err.msg);
  assert_null(got.memory);
  assert_int_equal(got.mem_pages, want->mem_pages);
  assert_int_equal(d->asked_pages, want->mem_pages);
  assert_true(memcmp(d->buf, want->memory, (size_t)want->mem_pages * FX_WASM_PAGE) == 0);
  assert_memory_equal(got.wasi, want->wasi, want->wasi_len);
  kafu_snapshot_free(&got);
}

static void test_decode_into_caller_memory(void **state) {
  (void)state;
  const uint32_t pages = 4;
  size_t len = (size_t)pages * FX_WASM_PAGE;
  uint8_t *mem = fx_sparse_memory(pages, 3);
  kafu_snapshot s = fx_snapshot(mem, pages);
  dest d = {.buf = malloc(len), .cap = len};
  for (int z = 0; z < 2; z++) {
    kafu_snapshot_opts eo = {.compress = z};
    kafu_buf b = {0};
    kafu_error err = {0};
    assert_int_equal(kafu_snapshot_encode(&s, &eo, &b, &err), KAFU_OK);
    memset(d.buf, 0xcc, len); /* elided zero pages must be written too */
    kafu_snapshot_decode_opts o = {.expected_sha256 = s.module_sha256};
    decode_into(&b, &o, &d, &s);
    /* refusals: the limit, and memory_for's own error */
    kafu_snapshot got;
    o.max_mem_pages = pages - 1;
    assert_int_equal(kafu_snapshot_decode_ex(b.data, b.len, &o, &got, &err), KAFU_E_LIMIT);
    assert_non_null(strstr(err.msg, "exceeds the limit of 3"));
    o.max_mem_pages = 0;
    d.cap = len - 1;
    assert_int_equal(kafu_snapshot_decode_ex(b.data, b.len, &o, &got, &err), KAFU_E_LIMIT);
    assert_string_equal(err.msg, "test: no room for 4 pages");
    assert_null(got.wasi);
    d.cap = len;
    kafu_buf_free(&b);
  }
  free(d.buf);
  free(mem);
}

/* The delta is applied onto the baseline buffer itself, memory having grown
 * past it, with the caller's trusted baseline hash. */
static void test_delta_in_place(void **state) {
  (void)state;
  const uint32_t base_pages = 3, pages = 5;
  size_t base_len = (size_t)base_pages * FX_WASM_PAGE, len = (size_t)pages * FX_WASM_PAGE;
  uint8_t *base = fx_sparse_memory(base_pages, 2);
  uint8_t *mem = calloc(1, len);
  memcpy(mem, base, base_len);
  for (size_t pg = 0; pg < len / FX_PAGE; pg += 7)
    mem[pg * FX_PAGE + 17] ^= 0x3c;
  kafu_snapshot s = fx_snapshot(mem, pages);
  kafu_snapshot_opts eo = {
      .baseline = base, .baseline_len = base_len, .baseline_seq = 9, .compress = true};
  kafu_sha256(base, base_len, eo.baseline_hash);
  kafu_buf b = {0};
  kafu_error err = {0};
  assert_int_equal(kafu_snapshot_encode(&s, &eo, &b, &err), KAFU_OK);

  dest d = {.buf = malloc(len), .cap = len};
  memset(d.buf, 0xcc, len);
  memcpy(d.buf, base, base_len);
  uint8_t wrong[KAFU_SHA256_LEN] = {0};
  kafu_snapshot_decode_opts o = {.baseline = d.buf,
                                 .baseline_len = base_len,
                                 .baseline_sha256 = wrong,
                                 .memory_for = give_memory,
                                 .memory_ud = &d};
  kafu_snapshot got;
  assert_int_equal(kafu_snapshot_decode_ex(b.data, b.len, &o, &got, &err), KAFU_E_INPUT);
  assert_non_null(strstr(err.msg, "baseline mismatch"));
  o.baseline_sha256 = eo.baseline_hash;
  decode_into(&b, &o, &d, &s);
  kafu_buf_free(&b);
  free(d.buf);
  free(mem);
  free(base);
}

/* Every level works, the slowest ones too (their window is clamped). */
static void test_zstd_levels(void **state) {
  (void)state;
  uint8_t *mem = fx_sparse_memory(2, 2);
  kafu_snapshot s = fx_snapshot(mem, 2);
  static const int levels[] = {-7, 1, 3, 19, 22};
  for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
    kafu_snapshot_opts z = {.compress = true, .level = levels[i]};
    round_trip(&s, &z);
  }
  kafu_snapshot_opts mt = {.compress = true, .threads = 2};
  round_trip(&s, &mt);
  free(mem);
}

/* Encoding what the format cannot hold fails cleanly and leaves out as it was. */
static void test_encode_refuses_bad_args(void **state) {
  (void)state;
  uint8_t page[FX_WASM_PAGE] = {1};
  kafu_snapshot s = fx_snapshot(page, 1);
  kafu_buf out = {0};
  kafu_buf_append(&out, "x", 1);
  kafu_error err = {0};
  s.mem_pages = 65537;
  assert_int_equal(kafu_snapshot_encode(&s, NULL, &out, &err), KAFU_E_LIMIT);
  s.mem_pages = 1;
  s.memory = NULL;
  assert_int_equal(kafu_snapshot_encode(&s, NULL, &out, &err), KAFU_E_INTERNAL);
  s.memory = page;
  kafu_snapshot_opts d = {.baseline = page, .baseline_len = 100};
  assert_int_equal(kafu_snapshot_encode(&s, &d, &out, &err), KAFU_E_INTERNAL);
  assert_non_null(strstr(err.msg, "not a whole number of wasm pages"));
  s.state_base = 0xfffffff8u;
  assert_int_equal(kafu_snapshot_encode(&s, NULL, &out, &err), KAFU_E_INTERNAL);
  assert_int_equal(out.len, 1);
  assert_false(kafu_snapshot_is_delta(out.data, out.len, NULL, NULL));
  assert_false(kafu_snapshot_is_delta(NULL, 0, NULL, NULL));
  kafu_buf_free(&out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_full_random),
      cmocka_unit_test(test_full_sparse_elides_zero_pages),
      cmocka_unit_test(test_empty_and_zero_memory),
      cmocka_unit_test(test_encode_appends),
      cmocka_unit_test(test_delta_one_percent),
      cmocka_unit_test(test_delta_memory_grown),
      cmocka_unit_test(test_delta_memory_smaller_than_baseline),
      cmocka_unit_test(test_delta_baseline_mismatch),
      cmocka_unit_test(test_regression_delta_empty_memory),
      cmocka_unit_test(test_decode_into_caller_memory),
      cmocka_unit_test(test_delta_in_place),
      cmocka_unit_test(test_zstd_levels),
      cmocka_unit_test(test_encode_refuses_bad_args),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
