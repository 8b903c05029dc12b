/* kafu cc's command line: where each clang flag goes, Kafu's own options
 * anywhere, and the refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cc/cc.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static bool argv_has(const kafu_cc_argv *a, const char *s) {
  for (size_t i = 0; i < a->n; i++)
    if (!strcmp(a->v[i], s)) return true;
  return false;
}

static void test_flags_sorted(void **state) {
  (void)state;
  char *argv[] = {"cc",
                  "-O2",
                  "-v",
                  "main.c",
                  "-I",
                  "inc",
                  "-DX=1",
                  "-g",
                  "--state-size",
                  "128K",
                  "lib.o",
                  "-lm",
                  "-Wl,--stack-size=65536",
                  "-L",
                  "libs",
                  "--policy=always",
                  "-std=c11",
                  "-o",
                  "app.wasm",
                  "--no-snapify",
                  "-isystem",
                  "sys",
                  "other.c",
                  "-mbulk-memory"};
  kafu_cc_options o;
  kafu_error err = {0};
  assert_int_equal(kafu_cc_parse_args(ARGC(argv), argv, &o, &err), KAFU_OK);
  assert_string_equal(o.output, "app.wasm");
  assert_true(o.verbose);
  assert_true(o.debug);
  assert_true(o.no_snapify);
  assert_true(o.has_archives);
  assert_false(o.compile_only);
  assert_int_equal(o.state_size, 128 * 1024);
  assert_int_equal(o.policy, KAFU_POLICY_ALWAYS);
  /* Inputs keep their order; -l stays among them. */
  assert_int_equal(o.inputs.n, 4);
  assert_string_equal(o.inputs.v[0], "main.c");
  assert_true(o.is_source[0]);
  assert_string_equal(o.inputs.v[1], "lib.o");
  assert_false(o.is_source[1]);
  assert_string_equal(o.inputs.v[2], "-lm");
  assert_string_equal(o.inputs.v[3], "other.c");
  assert_true(o.is_source[3]);
  assert_true(argv_has(&o.compile_flags, "-O2"));
  assert_true(argv_has(&o.compile_flags, "-Iinc"));
  assert_true(argv_has(&o.compile_flags, "-DX=1"));
  assert_true(argv_has(&o.compile_flags, "-std=c11"));
  assert_true(argv_has(&o.compile_flags, "-isystem"));
  assert_true(argv_has(&o.compile_flags, "sys"));
  assert_true(argv_has(&o.codegen_flags, "-O2"));
  assert_true(argv_has(&o.codegen_flags, "-g"));
  assert_false(argv_has(&o.codegen_flags, "-Iinc"));
  /* -O never reaches the link: clang would run wasm-opt and drop names. */
  assert_false(argv_has(&o.link_flags, "-O2"));
  assert_true(argv_has(&o.link_flags, "-Wl,--stack-size=65536"));
  assert_true(argv_has(&o.link_flags, "-Llibs"));
  assert_true(argv_has(&o.link_flags, "-mbulk-memory"));
  kafu_cc_options_free(&o);
}

static void test_compile_only(void **state) {
  (void)state;
  char *ok_argv[] = {"cc", "-c", "a.c", "-o", "a.o"};
  kafu_cc_options o;
  kafu_error err = {0};
  assert_int_equal(kafu_cc_parse_args(ARGC(ok_argv), ok_argv, &o, &err), KAFU_OK);
  assert_true(o.compile_only);
  assert_int_equal(o.state_size, KAFU_STATE_SIZE_DEFAULT);
  kafu_cc_options_free(&o);

  char *two_argv[] = {"cc", "-c", "a.c", "b.c", "-o", "x.o"};
  assert_int_equal(kafu_cc_parse_args(ARGC(two_argv), two_argv, &o, &err), KAFU_E_INPUT);
  assert_non_null(strstr(err.msg, "x.o"));
  kafu_cc_options_free(&o);

  char *obj_argv[] = {"cc", "-c", "a.c", "b.o"};
  assert_int_equal(kafu_cc_parse_args(ARGC(obj_argv), obj_argv, &o, &err), KAFU_E_INPUT);
  assert_non_null(strstr(err.msg, "b.o"));
  kafu_cc_options_free(&o);
}

static void expect_refused(char **argv, int argc, const char *needle) {
  kafu_cc_options o;
  kafu_error err = {0};
  assert_int_equal(kafu_cc_parse_args(argc, argv, &o, &err), KAFU_E_INPUT);
  assert_non_null(strstr(err.msg, needle));
  kafu_cc_options_free(&o);
}

static void test_refusals(void **state) {
  (void)state;
  char *a1[] = {"cc", "a.c", "--target=x86_64-linux-gnu"};
  expect_refused(a1, ARGC(a1), "--target");
  char *a2[] = {"cc", "a.c", "--state-size", "100"};
  expect_refused(a2, ARGC(a2), "--state-size 100");
  char *a3[] = {"cc", "a.c", "--state-size=65537"};
  expect_refused(a3, ARGC(a3), "65537");
  char *a4[] = {"cc", "a.c", "--policy", "never"};
  expect_refused(a4, ARGC(a4), "never");
  char *a5[] = {"cc", "notes.txt"};
  expect_refused(a5, ARGC(a5), "notes.txt");
  char *a6[] = {"cc", "a.c", "-o"};
  expect_refused(a6, ARGC(a6), "-o");
  char *a7[] = {"cc"};
  expect_refused(a7, ARGC(a7), "no input");
  char *a8[] = {"cc", "a.c", "--frobnicate"};
  expect_refused(a8, ARGC(a8), "--frobnicate");
  char *a9[] = {"cc", "a.c", "--policy"};
  expect_refused(a9, ARGC(a9), "--policy");
}

static void test_help(void **state) {
  (void)state;
  char *argv[] = {"cc", "--help"};
  kafu_cc_options o;
  kafu_error err = {0};
  assert_int_equal(kafu_cc_parse_args(ARGC(argv), argv, &o, &err), KAFU_OK);
  assert_true(o.help);
  kafu_cc_options_free(&o);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_flags_sorted),
      cmocka_unit_test(test_compile_only),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_help),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
