/* kafu cc's section-level wasm reader/rewriter: function names, the address
 * behind a global export, custom section replacement, and truncated or
 * corrupted inputs (objects given on the command line are outside bytes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cc/wasm_sect.h"

/* Appends a section with id and payload. */
static void section(kafu_buf *b, uint8_t id, const kafu_buf *payload) {
  kafu_buf_u8(b, id);
  kafu_buf_uleb(b, payload->len);
  kafu_buf_append(b, payload->data, payload->len);
}

static void name_str(kafu_buf *b, const char *s) {
  kafu_buf_uleb(b, strlen(s));
  kafu_buf_append(b, s, strlen(s));
}

/* A module with one imported global, two defined globals (the second is
 * exported as kafu_state_region = 0x1230), a name section naming two
 * functions, and a custom "kafu_annot" section. */
static kafu_buf sample_module(void) {
  kafu_buf m = {0}, p = {0};
  static const uint8_t header[8] = {0, 'a', 's', 'm', 1, 0, 0, 0};
  kafu_buf_append(&m, header, 8);
  /* import section: env.g (global i32 const) and env.mem (memory min 1) */
  kafu_buf_uleb(&p, 2);
  name_str(&p, "env");
  name_str(&p, "g");
  kafu_buf_u8(&p, 3);
  kafu_buf_u8(&p, 0x7f);
  kafu_buf_u8(&p, 0);
  name_str(&p, "env");
  name_str(&p, "mem");
  kafu_buf_u8(&p, 2);
  kafu_buf_u8(&p, 0);
  kafu_buf_uleb(&p, 1);
  section(&m, 2, &p);
  kafu_buf_free(&p);
  /* global section: i64 mutable = 7, i32 const = 0x1230 */
  kafu_buf_uleb(&p, 2);
  kafu_buf_u8(&p, 0x7e);
  kafu_buf_u8(&p, 1);
  kafu_buf_u8(&p, 0x42);
  kafu_buf_uleb(&p, 7);
  kafu_buf_u8(&p, 0x0b);
  kafu_buf_u8(&p, 0x7f);
  kafu_buf_u8(&p, 0);
  kafu_buf_u8(&p, 0x41);
  kafu_buf_append(&p, "\xb0\x24", 2); /* sleb 0x1230 */
  kafu_buf_u8(&p, 0x0b);
  section(&m, 6, &p);
  kafu_buf_free(&p);
  /* export section: kafu_state_region -> global 2 */
  kafu_buf_uleb(&p, 1);
  name_str(&p, "kafu_state_region");
  kafu_buf_u8(&p, 3);
  kafu_buf_uleb(&p, 2);
  section(&m, 7, &p);
  kafu_buf_free(&p);
  /* custom "kafu_annot" */
  name_str(&p, "kafu_annot");
  kafu_buf_append(&p, "KAFA\0\0\0\0", 8);
  section(&m, 0, &p);
  kafu_buf_free(&p);
  /* custom "name": module name subsection (0), then function names (1) */
  kafu_buf sub = {0};
  name_str(&p, "name");
  name_str(&sub, "mod");
  kafu_buf_u8(&p, 0);
  kafu_buf_uleb(&p, sub.len);
  kafu_buf_append(&p, sub.data, sub.len);
  kafu_buf_free(&sub);
  kafu_buf_uleb(&sub, 2);
  kafu_buf_uleb(&sub, 0);
  name_str(&sub, "main");
  kafu_buf_uleb(&sub, 1);
  name_str(&sub, "my func");
  kafu_buf_u8(&p, 1);
  kafu_buf_uleb(&p, sub.len);
  kafu_buf_append(&p, sub.data, sub.len);
  kafu_buf_free(&sub);
  section(&m, 0, &p);
  kafu_buf_free(&p);
  return m;
}

typedef struct {
  char seen[4][32];
  int n;
} names_seen;

static void collect(const char *name, size_t len, void *arg) {
  names_seen *s = arg;
  if (s->n < 4 && len < 32) {
    memcpy(s->seen[s->n], name, len);
    s->seen[s->n][len] = '\0';
    s->n++;
  }
}

static void test_read(void **state) {
  (void)state;
  kafu_buf m = sample_module();
  assert_false(m.failed);
  kafu_cc_sections secs;
  kafu_error err = {0};
  assert_int_equal(kafu_cc_wasm_sections(m.data, m.len, "m.wasm", &secs, &err), KAFU_OK);
  assert_int_equal(secs.n, 5);
  assert_string_equal(secs.v[3].name, "kafu_annot");
  assert_int_equal(secs.v[3].payload_len, 8);
  assert_memory_equal(m.data + secs.v[3].payload, "KAFA", 4);
  names_seen seen = {0};
  assert_true(kafu_cc_wasm_func_names(m.data, &secs, collect, &seen));
  assert_int_equal(seen.n, 2);
  assert_string_equal(seen.seen[0], "main");
  assert_string_equal(seen.seen[1], "my func");
  uint32_t addr = 0;
  assert_int_equal(
      kafu_cc_wasm_export_address(m.data, &secs, "kafu_state_region", "m.wasm", &addr, &err),
      KAFU_OK);
  assert_int_equal(addr, 0x1230);
  assert_int_equal(kafu_cc_wasm_export_address(m.data, &secs, "nope", "m.wasm", &addr, &err),
                   KAFU_E_INPUT);
  assert_non_null(strstr(err.msg, "nope"));
  kafu_cc_sections_free(&secs);
  kafu_buf_free(&m);
}

static void test_rewrite(void **state) {
  (void)state;
  kafu_buf m = sample_module(), out = {0};
  kafu_cc_sections secs, again;
  kafu_error err = {0};
  assert_int_equal(kafu_cc_wasm_sections(m.data, m.len, "m.wasm", &secs, &err), KAFU_OK);
  static const char *const drop[] = {"kafu_annot", "kafu"};
  static const uint8_t payload[300] = {1, 2, 3}; /* long enough for a 2-byte size */
  kafu_cc_wasm_rewrite(m.data, &secs, drop, 2, "kafu", payload, sizeof payload, &out);
  assert_false(out.failed);
  assert_int_equal(kafu_cc_wasm_sections(out.data, out.len, "out.wasm", &again, &err), KAFU_OK);
  assert_int_equal(again.n, 5);
  for (size_t i = 0; i < again.n; i++)
    assert_string_not_equal(again.v[i].name, "kafu_annot");
  assert_string_equal(again.v[4].name, "kafu");
  assert_int_equal(again.v[4].payload_len, sizeof payload);
  assert_memory_equal(out.data + again.v[4].payload, payload, sizeof payload);
  /* Everything else is copied verbatim. */
  assert_int_equal(out.len, m.len - secs.v[3].size + again.v[4].size);
  kafu_cc_sections_free(&secs);
  kafu_cc_sections_free(&again);
  kafu_buf_free(&m);
  kafu_buf_free(&out);
}

/* Every prefix and every single-byte corruption is handled without crashing;
 * prefixes that cut a section are errors. */
static void test_hostile(void **state) {
  (void)state;
  kafu_buf m = sample_module();
  kafu_error err = {0};
  for (size_t cut = 0; cut < m.len; cut++) {
    kafu_cc_sections secs;
    kafu_err rc = kafu_cc_wasm_sections(m.data, cut, "cut.wasm", &secs, &err);
    if (rc == KAFU_OK) {
      names_seen seen = {0};
      uint32_t addr;
      kafu_cc_wasm_func_names(m.data, &secs, collect, &seen);
      kafu_cc_wasm_export_address(m.data, &secs, "kafu_state_region", "cut.wasm", &addr, &err);
      kafu_cc_sections_free(&secs);
    } else {
      assert_int_equal(rc, KAFU_E_INPUT);
    }
  }
  uint8_t *copy = malloc(m.len);
  assert_non_null(copy);
  for (size_t at = 8; at < m.len; at++) {
    for (int bit = 0; bit < 8; bit++) {
      memcpy(copy, m.data, m.len);
      copy[at] ^= (uint8_t)(1u << bit);
      kafu_cc_sections secs;
      if (kafu_cc_wasm_sections(copy, m.len, "flip.wasm", &secs, &err) != KAFU_OK) continue;
      names_seen seen = {0};
      uint32_t addr;
      kafu_cc_wasm_func_names(copy, &secs, collect, &seen);
      kafu_cc_wasm_export_address(copy, &secs, "kafu_state_region", "flip.wasm", &addr, &err);
      kafu_cc_sections_free(&secs);
    }
  }
  free(copy);
  kafu_cc_sections secs;
  assert_int_equal(
      kafu_cc_wasm_sections((const uint8_t *)"\0asm\2\0\0\0", 8, "v2.wasm", &secs, &err),
      KAFU_E_INPUT);
  assert_non_null(strstr(err.msg, "v2.wasm"));
  kafu_buf_free(&m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_read),
      cmocka_unit_test(test_rewrite),
      cmocka_unit_test(test_hostile),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
