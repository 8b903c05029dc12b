/* Binaryen 108's escaped internal names: escape matches Binaryen's rules
 * (backslash included), unescape inverts it. Regression: a name with <>(),
 * and spaces was not instrumented because the only-list held escaped names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "snapify/internal.h"

static void check(const char *human, const char *internal) {
  char *e = kafu_snapify_name_escape(human);
  assert_string_equal(e, internal);
  char *u = kafu_snapify_name_unescape(e);
  assert_string_equal(u, human);
  free(e);
  free(u);
}

static void test_escape_roundtrip(void **state) {
  (void)state;
  check("main", "main");
  check("_start.command_export", "_start.command_export");
  check("f$kafu_body", "f$kafu_body");
  check("weird<name>(int, int)", "weird<name>\\28int\\2c\\20int\\29");
  check("a\\b", "a\\5cb"); /* Binaryen escapes the backslash itself */
  check("caf\xc3\xa9", "caf\\c3\\a9");
  check("", "");
}

static void test_unescape_leaves_plain_names(void **state) {
  (void)state;
  char *u = kafu_snapify_name_unescape("x\\zz\\4");
  assert_string_equal(u, "x\\zz\\4"); /* not an escape: kept as is */
  free(u);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_escape_roundtrip),
      cmocka_unit_test(test_unescape_leaves_plain_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
