/* The kafu custom section: round trip, every malformed payload refused with
 * a message (all truncations, bad magic/version/kind, oversized counts,
 * embedded NULs, trailing bytes), and finding the section in wasm bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "snapify/meta.h"

static kafu_meta sample(void) {
  kafu_meta m = {0};
  m.flags = KAFU_META_FLAG_SNAPIFIED;
  assert_int_equal(kafu_meta_add_site(&m, KAFU_SITE_DEST, "detect", "edge1", "app.c", 12), 0);
  assert_int_equal(kafu_meta_add_site(&m, KAFU_SITE_OFFLOAD, "count", "cloud1", "", 0), 1);
  m.state_base = 0x1000;
  m.state_size = 65536;
  m.n_globals = 3;
  m.code_size_before = 1000;
  m.code_size_after = 1100;
  m.n_funcs = 40;
  m.n_instrumented = 2;
  m.instrumented = calloc(2, sizeof *m.instrumented);
  m.instrumented[0] = strdup("main");
  m.instrumented[1] = strdup("detect");
  return m;
}

static kafu_buf encode(const kafu_meta *m) {
  kafu_buf b = {0};
  kafu_meta_encode(m, &b);
  assert_false(b.failed);
  return b;
}

static void test_roundtrip(void **state) {
  (void)state;
  kafu_meta m = sample(), d = {0};
  kafu_buf b = encode(&m);
  kafu_error err = {0};
  assert_int_equal(kafu_meta_decode(b.data, b.len, &d, &err), KAFU_OK);
  assert_int_equal(d.flags, KAFU_META_FLAG_SNAPIFIED);
  assert_int_equal(d.n_sites, 2);
  assert_int_equal(d.sites[0].kind, KAFU_SITE_DEST);
  assert_string_equal(d.sites[0].func, "detect");
  assert_string_equal(d.sites[0].node, "edge1");
  assert_string_equal(d.sites[0].file, "app.c");
  assert_int_equal(d.sites[0].line, 12);
  assert_int_equal(d.sites[1].kind, KAFU_SITE_OFFLOAD);
  assert_string_equal(d.sites[1].node, "cloud1");
  assert_int_equal(d.state_base, 0x1000);
  assert_int_equal(d.state_size, 65536);
  assert_int_equal(d.n_globals, 3);
  assert_int_equal(d.code_size_before, 1000);
  assert_int_equal(d.code_size_after, 1100);
  assert_int_equal(d.n_funcs, 40);
  assert_int_equal(d.n_instrumented, 2);
  assert_string_equal(d.instrumented[1], "detect");
  /* re-encoding gives the same bytes */
  kafu_buf b2 = encode(&d);
  assert_int_equal(b2.len, b.len);
  assert_memory_equal(b2.data, b.data, b.len);
  kafu_buf_free(&b);
  kafu_buf_free(&b2);
  kafu_meta_free(&m);
  kafu_meta_free(&d);
}

/* The exact byte layout of docs/abi.md for a one-site section. */
static void test_layout(void **state) {
  (void)state;
  kafu_meta m = {0};
  kafu_meta_add_site(&m, KAFU_SITE_DEST, "f", "n1", "", 7);
  m.state_size = 0x10000;
  kafu_buf b = encode(&m);
  static const uint8_t want[] = {
      'K', 'A', 'F', 'U', 1, 0, 1, 0, 0, 0,          /* magic, version, flags, n_sites */
      1, 1, 0, 0, 0, 'f', 2, 0, 0, 0, 'n', '1', 0, 0, 0, 0, 7, 0, 0, 0, /* site */
      0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0,            /* base, size, n_globals */
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 /* sizes, n_funcs, n_instr */
  };
  assert_int_equal(b.len, sizeof want);
  assert_memory_equal(b.data, want, sizeof want);
  kafu_buf_free(&b);
  kafu_meta_free(&m);
}

static void expect_bad(const uint8_t *p, size_t len, const char *needle) {
  kafu_meta d = {0};
  kafu_error err = {0};
  assert_int_equal(kafu_meta_decode(p, len, &d, &err), KAFU_E_INPUT);
  assert_non_null(strstr(err.msg, "kafu section"));
  if (needle && !strstr(err.msg, needle)) fail_msg("message '%s' lacks '%s'", err.msg, needle);
  assert_int_equal(d.n_sites, 0); /* out untouched */
}

static void test_every_truncation_refused(void **state) {
  (void)state;
  kafu_meta m = sample();
  kafu_buf b = encode(&m);
  for (size_t len = 0; len < b.len; len++) {
    uint8_t *copy = malloc(len ? len : 1); /* exact size so ASan sees overreads */
    memcpy(copy, b.data, len);
    expect_bad(copy, len, NULL);
    free(copy);
  }
  kafu_buf_free(&b);
  kafu_meta_free(&m);
}

static void test_malformed_fields(void **state) {
  (void)state;
  kafu_meta m = sample();
  kafu_buf b = encode(&m);
  uint8_t *p = malloc(b.len + 1);

  memcpy(p, b.data, b.len);
  p[0] = 'X';
  expect_bad(p, b.len, "bad magic");

  memcpy(p, b.data, b.len);
  p[4] = 2;
  expect_bad(p, b.len, "unsupported version 2");

  memcpy(p, b.data, b.len);
  p[10] = 9; /* first site's kind */
  expect_bad(p, b.len, "unknown kind 9");

  memcpy(p, b.data, b.len);
  p[6] = 0xff; p[7] = 0xff; p[8] = 0xff; p[9] = 0x7f; /* n_sites huge */
  expect_bad(p, b.len, "site count");

  memcpy(p, b.data, b.len);
  p[11] = 0xf0; p[12] = 0xff; p[13] = 0xff; p[14] = 0xff; /* func length huge */
  expect_bad(p, b.len, "past the end");

  memcpy(p, b.data, b.len);
  p[16] = 0; /* a NUL inside "detect" */
  expect_bad(p, b.len, "NUL");

  memcpy(p, b.data, b.len);
  p[b.len] = 0;
  expect_bad(p, b.len + 1, "trailing");

  /* n_instrumented (4 bytes before the two names "main", "detect") huge */
  size_t n_instr_off = b.len - (4 + 4) - (4 + 6) - 4;
  memcpy(p, b.data, b.len);
  assert_int_equal(p[n_instr_off], 2);
  p[n_instr_off + 3] = 0x7f;
  expect_bad(p, b.len, "instrumented count");

  free(p);
  kafu_buf_free(&b);
  kafu_meta_free(&m);
}

static void test_empty_func_name_refused(void **state) {
  (void)state;
  kafu_meta m = {0};
  kafu_meta_add_site(&m, KAFU_SITE_DEST, "", "n", "", 0);
  kafu_buf b = encode(&m);
  expect_bad(b.data, b.len, "empty function name");
  kafu_buf_free(&b);
  kafu_meta_free(&m);
}

/* A minimal module: header, a type section, then custom sections. */
static kafu_buf module_with(const kafu_buf *payload, int copies) {
  kafu_buf w = {0};
  static const uint8_t head[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 1, 1, 0};
  kafu_buf_append(&w, head, sizeof head);
  static const uint8_t other[] = {0, 4, 3, 'f', 'o', 'o'};
  kafu_buf_append(&w, other, sizeof other);
  for (int i = 0; i < copies; i++) {
    kafu_buf_u8(&w, 0);
    kafu_buf_uleb(&w, 5 + payload->len);
    kafu_buf_uleb(&w, 4);
    kafu_buf_append(&w, "kafu", 4);
    kafu_buf_append(&w, payload->data, payload->len);
  }
  return w;
}

static void test_read_from_module(void **state) {
  (void)state;
  kafu_meta m = sample(), d = {0};
  kafu_buf b = encode(&m);
  kafu_error err = {0};
  bool found = false;

  kafu_buf none = module_with(&b, 0);
  assert_int_equal(kafu_meta_read(none.data, none.len, &d, &found, &err), KAFU_OK);
  assert_false(found);

  kafu_buf one = module_with(&b, 1);
  assert_int_equal(kafu_meta_read(one.data, one.len, &d, &found, &err), KAFU_OK);
  assert_true(found);
  assert_string_equal(d.sites[1].func, "count");
  kafu_meta_free(&d);

  kafu_buf two = module_with(&b, 2);
  assert_int_equal(kafu_meta_read(two.data, two.len, &d, &found, &err), KAFU_E_INPUT);
  assert_non_null(strstr(err.msg, "more than one kafu section"));

  /* every truncation of the module is refused or (before the section starts) not found */
  for (size_t len = 0; len < one.len; len++) {
    uint8_t *copy = malloc(len ? len : 1);
    memcpy(copy, one.data, len);
    kafu_meta t = {0};
    kafu_err rc = kafu_meta_read(copy, len, &t, &found, &err);
    assert_true(rc == KAFU_E_INPUT || (rc == KAFU_OK && !found));
    free(copy);
  }

  static const uint8_t not_wasm[] = "#!/bin/sh\necho hi\n";
  assert_int_equal(kafu_meta_read(not_wasm, sizeof not_wasm, &d, &found, &err), KAFU_E_INPUT);
  assert_non_null(strstr(err.msg, "not a wasm module"));

  kafu_buf_free(&none);
  kafu_buf_free(&one);
  kafu_buf_free(&two);
  kafu_buf_free(&b);
  kafu_meta_free(&m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip),
      cmocka_unit_test(test_layout),
      cmocka_unit_test(test_every_truncation_refused),
      cmocka_unit_test(test_malformed_fields),
      cmocka_unit_test(test_empty_func_name_refused),
      cmocka_unit_test(test_read_from_module),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
