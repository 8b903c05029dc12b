/* The snapshot decoder against hostile bytes: each malformed case is refused
 * with its own message, every truncation and every bit flip of a small
 * snapshot is refused, and nothing reads out of bounds (run under ASan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>
#include <zstd.h>

#include "../snapshot/fixture.h"

/* Fixture layout: header 112, mig len 0x70, mig bytes, state base 0x77,
 * state len 0x7b, state bytes, wasi len 0x8f, wasi bytes, mem pages 0x98,
 * page map 0x9c. */
#define OFF_MIG_LEN 0x70
#define OFF_WASI_LEN 0x8f
#define OFF_MEM_PAGES 0x98
#define OFF_MAP 0x9c

static kafu_buf encode_small(bool compress) {
  static uint8_t mem[2 * FX_WASM_PAGE];
  memset(mem, 0, sizeof mem);
  for (size_t i = 0; i < 3 * FX_PAGE; i++)
    mem[FX_PAGE + i] = (uint8_t)(i * 7 + (i >> 9));
  mem[sizeof mem - 1] = 0x77;
  kafu_snapshot s = fx_snapshot(mem, 2);
  kafu_snapshot_opts opts = {.compress = compress};
  kafu_buf out = {0};
  kafu_error err = {0};
  assert_int_equal(kafu_snapshot_encode(&s, &opts, &out, &err), KAFU_OK);
  return out;
}

static const uint8_t *fx_module(void) {
  static kafu_snapshot s;
  s = fx_snapshot(NULL, 0);
  return s.module_sha256;
}

/* Decodes and returns the message; asserts KAFU_E_INPUT and a clean out. */
static const char *refuse(const uint8_t *bytes, size_t len, const uint8_t *module) {
  static kafu_error err;
  kafu_snapshot got;
  memset(&err, 0, sizeof err);
  assert_int_equal(kafu_snapshot_decode(bytes, len, module, NULL, 0, &got, &err), KAFU_E_INPUT);
  assert_null(got.memory);
  assert_null(got.mig_stack);
  assert_true(strncmp(err.msg, "snapshot: ", 10) == 0);
  return err.msg;
}

static void assert_has(const char *msg, const char *needle) {
  if (!strstr(msg, needle)) fail_msg("message \"%s\" lacks \"%s\"", msg, needle);
}

static void test_accepts_the_fixture(void **state) {
  (void)state;
  for (int z = 0; z < 2; z++) {
    kafu_buf b = encode_small(z);
    kafu_snapshot got;
    kafu_error err = {0};
    assert_int_equal(kafu_snapshot_decode(b.data, b.len, fx_module(), NULL, 0, &got, &err),
                     KAFU_OK);
    assert_int_equal(got.mem_pages, 2);
    assert_int_equal(got.memory[2 * FX_WASM_PAGE - 1], 0x77);
    kafu_snapshot_free(&got);
    kafu_buf_free(&b);
  }
}

static void test_bad_magic(void **state) {
  (void)state;
  kafu_buf b = encode_small(false);
  b.data[0] = 'X';
  fx_seal(b.data, b.len);
  assert_string_equal(refuse(b.data, b.len, NULL), "snapshot: bad magic (not a Kafu snapshot)");
  assert_has(refuse((const uint8_t *)"PK\3\4", 4, NULL), "bad magic");
  kafu_buf_free(&b);
}

static void test_wrong_version(void **state) {
  (void)state;
  kafu_buf b = encode_small(false);
  b.data[8] = 2;
  fx_seal(b.data, b.len);
  assert_string_equal(refuse(b.data, b.len, NULL),
                      "snapshot: unsupported version 2 (this build reads version 1)");
  kafu_buf_free(&b);
}

static void test_unknown_flags(void **state) {
  (void)state;
  kafu_buf b = encode_small(false);
  b.data[10] |= 0x80;
  fx_seal(b.data, b.len);
  assert_has(refuse(b.data, b.len, NULL), "unknown flags 0x80");
  kafu_buf_free(&b);
}

static void test_module_hash_mismatch(void **state) {
  (void)state;
  kafu_buf b = encode_small(true);
  uint8_t other[KAFU_SHA256_LEN];
  memcpy(other, fx_module(), sizeof other);
  other[31] ^= 1;
  assert_string_equal(refuse(b.data, b.len, other),
                      "snapshot: module hash mismatch (snapshot is for module 4041424344454647..., "
                      "this module is 4041424344454647...)");
  kafu_buf_free(&b);
}

static void test_oversize_page_count(void **state) {
  (void)state;
  kafu_buf b = encode_small(false);
  fx_put_u32(b.data + OFF_MEM_PAGES, 65537);
  fx_seal(b.data, b.len);
  assert_string_equal(refuse(b.data, b.len, NULL),
                      "snapshot: memory of 65537 pages at offset 0x98 exceeds the wasm limit of "
                      "65536");
  /* a legal count whose page map the input does not hold */
  fx_put_u32(b.data + OFF_MEM_PAGES, 65536);
  assert_string_equal(refuse(b.data, b.len, NULL),
                      "snapshot: truncated at offset 0x9c (memory page map)");
  kafu_buf_free(&b);
}

static void test_lengths_beyond_input(void **state) {
  (void)state;
  kafu_buf b = encode_small(false);
  fx_put_u32(b.data + OFF_MIG_LEN, 0xfffffff0u);
  fx_seal(b.data, b.len);
  assert_has(refuse(b.data, b.len, NULL),
             "migration stack at offset 0x74 declares 4294967280 bytes but only");
  kafu_buf_free(&b);
  b = encode_small(false);
  fx_put_u32(b.data + OFF_WASI_LEN, 1u << 30);
  fx_seal(b.data, b.len);
  assert_has(refuse(b.data, b.len, NULL), "WASI state at offset 0x93 declares 1073741824 bytes");
  kafu_buf_free(&b);
  /* the page map claims more pages than the payload holds */
  b = encode_small(false);
  memset(b.data + OFF_MAP, 0xff, 4);
  fx_seal(b.data, b.len);
  assert_has(refuse(b.data, b.len, NULL), "(memory pages)");
  kafu_buf_free(&b);
  /* the compressed frame length runs past the input */
  b = encode_small(true);
  size_t frame_len_at = OFF_MAP + 4;
  for (int i = 0; i < 8; i++)
    b.data[frame_len_at + i] = 0xee;
  fx_seal(b.data, b.len);
  assert_has(refuse(b.data, b.len, NULL), "compressed pages at offset 0xa0 declare");
  kafu_buf_free(&b);
}

static void test_truncated_at_memory_section(void **state) {
  (void)state;
  kafu_buf b = encode_small(false);
  assert_string_equal(refuse(b.data, OFF_MEM_PAGES + 2, NULL),
                      "snapshot: truncated at offset 0x98 (memory section)");
  assert_string_equal(refuse(b.data, OFF_MIG_LEN + 1, NULL),
                      "snapshot: truncated at offset 0x70 (migration stack)");
  assert_string_equal(refuse(b.data, b.len - 3, NULL),
                      "snapshot: truncated at offset 0x40a0 (checksum)");
  kafu_buf_free(&b);
}

static void test_every_truncation_refused(void **state) {
  (void)state;
  for (int z = 0; z < 2; z++) {
    kafu_buf b = encode_small(z);
    for (size_t len = 0; len < b.len; len++) {
      /* a fresh copy of exactly len bytes so ASan sees any over-read */
      uint8_t *copy = malloc(len ? len : 1);
      memcpy(copy, b.data, len);
      const char *msg = refuse(copy, len, NULL);
      if (len >= 8 && !strstr(msg, "truncated") && !strstr(msg, "declare") &&
          !strstr(msg, "checksum"))
        fail_msg("length %zu: unexpected message \"%s\"", len, msg);
      free(copy);
    }
    kafu_buf_free(&b);
  }
}

static void test_extra_bytes_refused(void **state) {
  (void)state;
  kafu_buf b = encode_small(false);
  kafu_buf_append(&b, "\0\0\0\0", 4);
  assert_has(refuse(b.data, b.len, NULL), "4 unexpected bytes before the checksum");
  kafu_buf_free(&b);
}

static void test_bit_flips_refused(void **state) {
  (void)state;
  for (int z = 0; z < 2; z++) {
    kafu_buf b = encode_small(z);
    size_t payload_at = OFF_MAP + 4 + (z ? 8 : 0);
    for (size_t bit = 0; bit < b.len * 8; bit++) {
      b.data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
      const char *msg = refuse(b.data, b.len, NULL);
      /* flips in the payload and in the opaque sections only the checksum sees */
      if (bit / 8 >= payload_at && bit / 8 < b.len - 8) assert_has(msg, "checksum mismatch");
      b.data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    kafu_buf_free(&b);
  }
}

/* A sealed snapshot whose zstd frame is valid but holds the wrong amount. */
static void test_compressed_size_capped(void **state) {
  (void)state;
  kafu_buf b = encode_small(true);
  /* drop one page from the map: the frame now declares 4096 bytes too many */
  b.data[OFF_MAP + 3] = 0;
  fx_seal(b.data, b.len);
  assert_has(refuse(b.data, b.len, NULL), "declare 16384 bytes, the page map needs 12288");
  kafu_buf_free(&b);

  /* frames without a content size: one page too many, one too few */
  for (int extra = -1; extra <= 1; extra += 2) {
    b = encode_small(false);
    size_t payload_at = OFF_MAP + 4, raw = 4 * FX_PAGE;
    size_t n = raw + (size_t)(extra * (int)FX_PAGE);
    uint8_t *src = calloc(1, n);
    memset(src, 0x33, n);
    size_t cap = ZSTD_compressBound(n);
    uint8_t *frame = malloc(cap);
    ZSTD_CCtx *c = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0);
    ZSTD_outBuffer o = {frame, cap, 0};
    ZSTD_inBuffer in = {src, n, 0};
    assert_int_equal(ZSTD_compressStream2(c, &o, &in, ZSTD_e_end), 0);
    ZSTD_freeCCtx(c);
    assert_true(ZSTD_getFrameContentSize(frame, o.pos) == ZSTD_CONTENTSIZE_UNKNOWN);
    kafu_buf forged = {0};
    kafu_buf_append(&forged, b.data, payload_at);
    forged.data[10] |= 1; /* compressed */
    kafu_buf_u64le(&forged, o.pos);
    kafu_buf_append(&forged, frame, o.pos);
    kafu_buf_u64le(&forged, 0);
    fx_seal(forged.data, forged.len);
    assert_has(refuse(forged.data, forged.len, NULL),
               extra > 0 ? "decompress to more than the declared 16384 bytes"
                         : "end after 12288 of the 16384 declared bytes");
    kafu_buf_free(&forged);
    free(frame);
    free(src);
    kafu_buf_free(&b);
  }
}

/* A frame asking for a 128 MiB window is refused before zstd allocates it. */
static void test_zstd_window_capped(void **state) {
  (void)state;
  kafu_buf b = encode_small(false);
  size_t payload_at = OFF_MAP + 4, raw = 4 * FX_PAGE;
  ZSTD_CCtx *c = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, 27);
  ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0);
  size_t cap = ZSTD_compressBound(raw);
  uint8_t *frame = malloc(cap);
  ZSTD_outBuffer o = {frame, cap, 0};
  ZSTD_inBuffer in = {b.data + payload_at, raw, 0}; /* the four carried pages */
  while (in.pos < in.size)
    ZSTD_compressStream2(c, &o, &in, ZSTD_e_continue);
  ZSTD_inBuffer none = {NULL, 0, 0};
  while (ZSTD_compressStream2(c, &o, &none, ZSTD_e_end) != 0) {
  }
  ZSTD_freeCCtx(c);
  kafu_buf forged = {0};
  kafu_buf_append(&forged, b.data, payload_at);
  forged.data[10] |= 1;
  kafu_buf_u64le(&forged, o.pos);
  kafu_buf_append(&forged, frame, o.pos);
  kafu_buf_u64le(&forged, 0);
  fx_seal(forged.data, forged.len);
  assert_has(refuse(forged.data, forged.len, NULL), "zstd: Frame requires too much memory");
  kafu_buf_free(&forged);
  free(frame);
  kafu_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_accepts_the_fixture),
      cmocka_unit_test(test_bad_magic),
      cmocka_unit_test(test_wrong_version),
      cmocka_unit_test(test_unknown_flags),
      cmocka_unit_test(test_module_hash_mismatch),
      cmocka_unit_test(test_oversize_page_count),
      cmocka_unit_test(test_lengths_beyond_input),
      cmocka_unit_test(test_truncated_at_memory_section),
      cmocka_unit_test(test_every_truncation_refused),
      cmocka_unit_test(test_extra_bytes_refused),
      cmocka_unit_test(test_bit_flips_refused),
      cmocka_unit_test(test_compressed_size_capped),
      cmocka_unit_test(test_zstd_window_capped),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
