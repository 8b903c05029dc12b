/* AOT engine tool discovery: without a C compiler the load fails with a
 * message that names the package to install. Runs in its own process because
 * tools are looked up once per process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/engine.h"

/* The smallest valid module: magic and version. */
static const uint8_t empty_module[] = {0, 'a', 's', 'm', 1, 0, 0, 0};

static void test_no_compiler_names_package(void **state) {
  char *saved_path = strdup(getenv("PATH") ? getenv("PATH") : "");
  setenv("PATH", "/nonexistent-kafu-test-dir", 1);
  unsetenv("KAFU_CC");
  kafu_engine_module *mod = NULL;
  kafu_error err = {0};
  kafu_err rc =
      kafu_engine_find("aot")->load(empty_module, sizeof empty_module, "empty.wasm", &mod, &err);
  setenv("PATH", saved_path, 1);
  free(saved_path);
  assert_int_equal(rc, KAFU_E_UNSUPPORTED);
  assert_null(mod);
  assert_non_null(strstr(err.msg, "no C compiler found"));
  assert_non_null(strstr(err.msg, "install the gcc package"));
}

static void test_bad_kafu_cc_is_named(void **state) {
  setenv("KAFU_CC", "/nonexistent/cc", 1);
  kafu_engine_module *mod = NULL;
  kafu_error err = {0};
  kafu_err rc =
      kafu_engine_find("aot")->load(empty_module, sizeof empty_module, "empty.wasm", &mod, &err);
  unsetenv("KAFU_CC");
  assert_int_equal(rc, KAFU_E_UNSUPPORTED);
  assert_non_null(strstr(err.msg, "KAFU_CC=/nonexistent/cc"));
}

int main(void) {
  if (!kafu_engine_find("aot")) {
    fprintf(stderr, "aot engine not built\n");
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_no_compiler_names_package),
      cmocka_unit_test(test_bad_kafu_cc_is_named),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
