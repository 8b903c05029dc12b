/* Unit tests for the Wasm binary decoder (src/wasm/decode.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wasm/module.h"

/* (module (type (func (param i32 i32) (result i32))) (import "env" "f" (func (param i32)))
 *  (memory 1 2) (global (mut i32) (i32.const 7))
 *  (func $add (export "add") (type 0) local.get 0 local.get 1 i32.add)
 *  (data (i32.const 8) "hi")) with a name section */
static const uint8_t T1[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x0b, 0x02, 0x60, 0x02, 0x7f, 0x7f,
    0x01, 0x7f, 0x60, 0x01, 0x7f, 0x00, 0x02, 0x09, 0x01, 0x03, 0x65, 0x6e, 0x76, 0x01, 0x66,
    0x00, 0x01, 0x03, 0x02, 0x01, 0x00, 0x05, 0x04, 0x01, 0x01, 0x01, 0x02, 0x06, 0x06, 0x01,
    0x7f, 0x01, 0x41, 0x07, 0x0b, 0x07, 0x07, 0x01, 0x03, 0x61, 0x64, 0x64, 0x00, 0x01, 0x0a,
    0x09, 0x01, 0x07, 0x00, 0x20, 0x00, 0x20, 0x01, 0x6a, 0x0b, 0x0b, 0x08, 0x01, 0x00, 0x41,
    0x08, 0x0b, 0x02, 0x68, 0x69, 0x00, 0x14, 0x04, 0x6e, 0x61, 0x6d, 0x65, 0x01, 0x06, 0x01,
    0x01, 0x03, 0x61, 0x64, 0x64, 0x02, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00};

static void decodes_structure(void **state) {
  (void)state;
  kafu_wasm_module *m = NULL;
  kafu_error err = {0};
  assert_int_equal(kafu_wasm_decode(T1, sizeof T1, "t1.wasm", &m, &err), KAFU_OK);
  assert_int_equal(m->n_types, 2);
  assert_int_equal(m->types[0].n_params, 2);
  assert_int_equal(m->types[0].results[0], 0x7f);
  assert_int_equal(m->n_imports, 1);
  assert_string_equal(m->imports[0].module, "env");
  assert_string_equal(m->imports[0].name, "f");
  assert_int_equal(m->n_func_imports, 1);
  assert_int_equal(m->n_funcs, 2);
  assert_int_equal(m->func_types[1], 0);
  const kafu_wasm_export *e = kafu_wasm_find_export(m, "add", KAFU_EXT_FUNC);
  assert_non_null(e);
  assert_int_equal(e->index, 1);
  assert_null(kafu_wasm_find_export(m, "add", KAFU_EXT_MEMORY));
  assert_non_null(kafu_wasm_find_custom(m, "name"));
  assert_string_equal(kafu_wasm_func_name(m, 1), "add");
  assert_int_equal(m->ext->n_memories, 1);
  assert_int_equal(m->ext->memories[0].limits.max, 2);
  assert_int_equal(m->ext->n_globals, 1);
  assert_int_equal(m->ext->globals[0].init.value, 7);
  assert_int_equal(m->ext->n_datas, 1);
  assert_memory_equal(m->ext->datas[0].bytes, "hi", 2);
  assert_int_equal(m->ext->n_bodies, 1);
  assert_int_equal(m->ext->bodies[0].code_len, 6);
  kafu_wasm_module_free(m);
}

/* Every truncation of a valid module is refused with a message, never a crash. */
static void truncations_refused(void **state) {
  (void)state;
  for (size_t n = 0; n < sizeof T1 - 1; n++) {
    kafu_wasm_module *m = NULL;
    kafu_error err = {0};
    kafu_err rc = kafu_wasm_decode(T1, n, "t1.wasm", &m, &err);
    /* Only cuts at these section boundaries leave a well-formed module. */
    bool boundary = n == 8 || n == 21 || n == 32 || n == 70 || n == 80;
    if (n >= 8 && !boundary) {
      assert_int_equal(rc, KAFU_E_INPUT);
      assert_non_null(strstr(err.msg, "t1.wasm: "));
    }
    if (rc == KAFU_OK) kafu_wasm_module_free(m);
    else assert_null(m);
  }
}

static void bad_magic_and_section_named(void **state) {
  (void)state;
  uint8_t buf[sizeof T1];
  memcpy(buf, T1, sizeof T1);
  buf[1] = 'b';
  kafu_wasm_module *m = NULL;
  kafu_error err = {0};
  assert_int_equal(kafu_wasm_decode(buf, sizeof buf, "x.wasm", &m, &err), KAFU_E_INPUT);
  assert_non_null(strstr(err.msg, "magic"));
  memcpy(buf, T1, sizeof T1);
  buf[13] = 0x40; /* a param type that is no value type */
  assert_int_equal(kafu_wasm_decode(buf, sizeof buf, "x.wasm", &m, &err), KAFU_E_INPUT);
  assert_non_null(strstr(err.msg, "section 1 (type)"));
  fprintf(stderr, "%s\n", err.msg);
  assert_non_null(strstr(err.msg, "offset 0xd"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(decodes_structure),
      cmocka_unit_test(truncations_refused),
      cmocka_unit_test(bad_magic_and_section_named),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
