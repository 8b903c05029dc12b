/* CPU lists for nodes.*.cpus (node/affinity.h): parsing hostile text,
 * formatting back, and pinning this process for real. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "node/affinity.h"
#include "node/load.h"

static void roundtrip(const char *text, const char *want, unsigned count) {
  kafu_cpuset set;
  kafu_error err = {0};
  char out[256];
  assert_int_equal(kafu_affinity_parse(text, &set, &err), KAFU_OK);
  kafu_cpuset_format(&set, out, sizeof out);
  assert_string_equal(out, want);
  assert_int_equal(kafu_cpuset_count(&set), count);
}

static void test_parse_ok(void **state) {
  (void)state;
  roundtrip("1", "1", 1);
  roundtrip("0-3", "0-3", 4);
  roundtrip(" 0, 2 - 3 ,7", "0,2-3,7", 4);
  roundtrip("5,1-2,2", "1-2,5", 3);
  roundtrip("1023", "1023", 1);
  roundtrip("63-64", "63-64", 2);
}

static void test_parse_bad(void **state) {
  (void)state;
  const struct {
    const char *text, *want;
  } bad[] = {
      {"", "bad CPU list '': empty"},
      {"  ", "bad CPU list '  ': empty"},
      {"1-", "bad CPU list '1-': expected a CPU number 0..1023 at ''"},
      {"-1", "bad CPU list '-1': expected a CPU number 0..1023 at '-1'"},
      {"3-1", "bad CPU list '3-1': range 3-1 runs backwards"},
      {"1,,2", "bad CPU list '1,,2': expected a CPU number 0..1023 at ',2'"},
      {"1;2", "bad CPU list '1;2': unexpected ';'"},
      {"1024", "bad CPU list '1024': expected a CPU number 0..1023 at '1024'"},
      {"99999999999999999999", "bad CPU list '99999999999999999999': expected a CPU number 0..1023 at '9999999999999999'"},
      {"0x1", "bad CPU list '0x1': unexpected 'x'"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    kafu_cpuset set;
    kafu_error err = {0};
    assert_int_equal(kafu_affinity_parse(bad[i].text, &set, &err), KAFU_E_INPUT);
    assert_string_equal(err.msg, bad[i].want);
  }
}

/* Pinning changes what sched_getaffinity reports, and a pinned meter reads
 * the CPU's own line. Restores the original mask. */
static void test_pin_for_real(void **state) {
  (void)state;
  kafu_cpuset all, one, now;
  kafu_error err = {0};
  if (kafu_affinity_current(&all, &err) || kafu_cpuset_count(&all) < 1) skip();
  unsigned first = 0;
  while (!kafu_cpuset_has(&all, first)) first++;
  memset(&one, 0, sizeof one);
  one.bits[first / 64] = 1ull << (first % 64);
  assert_int_equal(kafu_affinity_apply(&one, &err), KAFU_OK);
  assert_int_equal(kafu_affinity_current(&now, &err), KAFU_OK);
  assert_int_equal(kafu_cpuset_count(&now), 1);
  assert_true(kafu_cpuset_has(&now, first));

  kafu_load_meter m;
  kafu_load_meter_init(&m, 50, NULL);
  m.cpus = &one;
  m.self_stat_path = "/proc/self/stat";
  double load = 0;
  if (kafu_load_meter_update(&m, 0, &load, &err) == KAFU_E_IO) skip(); /* no procfs */
  assert_true(load < 0);
  usleep(60 * 1000);
  assert_int_equal(kafu_load_meter_update(&m, 60, &load, &err), KAFU_OK);
  assert_true(load == -1.0 || (load >= 0.0 && load <= 1.0));

  /* No usable CPU: refused, mask unchanged. */
  kafu_cpuset none;
  memset(&none, 0, sizeof none);
  none.bits[1023 / 64] = 1ull << (1023 % 64);
  assert_int_equal(kafu_affinity_apply(&none, &err), KAFU_E_INPUT);
  assert_non_null(strstr(err.msg, "cannot pin to CPUs 1023"));
  assert_int_equal(kafu_affinity_apply(&all, &err), KAFU_OK);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_ok),
      cmocka_unit_test(test_parse_bad),
      cmocka_unit_test(test_pin_for_real),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
