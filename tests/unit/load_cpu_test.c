/* CPU load measurement: /proc/stat parsing (hostile), the busy fraction
 * between samples, and the sliding window of the meter, driven by a fake
 * stat file and a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "node/load.h"

static void test_parse(void **state) {
  (void)state;
  kafu_load_sample s;
  kafu_error err = {0};
  const char *text = "cpu  100 5 50 800 20 3 2 10 7 0\ncpu0 1 2 3 4 5 6 7 8 9 0\nintr 1\n";
  assert_int_equal(kafu_load_parse(text, strlen(text), &s, &err), KAFU_OK);
  /* total = 100+5+50+800+20+3+2+10 (guest fields excluded), busy = total - idle - iowait */
  assert_int_equal(s.total, 990);
  assert_int_equal(s.busy, 170);
  const char *old_kernel = "cpu 1 2 3 4\n";
  assert_int_equal(kafu_load_parse(old_kernel, strlen(old_kernel), &s, &err), KAFU_OK);
  assert_int_equal(s.total, 10);
  assert_int_equal(s.busy, 6);

  const struct {
    const char *text;
    const char *want;
  } bad[] = {
      {"", "/proc/stat: does not start with the aggregate \"cpu \" line"},
      {"cpu0 1 2 3 4\n", "/proc/stat: does not start with the aggregate \"cpu \" line"},
      {"cpu 1 2 3\n", "/proc/stat: cpu line has 3 fields, need 4"},
      {"cpu 1 2 x 4\n", "/proc/stat: cpu line: not a number"},
      {"cpu 1 2 -3 4\n", "/proc/stat: cpu line: not a number"},
      {"cpu 99999999999999999999 1 1 1\n", "/proc/stat: cpu line: number too large"},
      {"cpu 18446744073709551615 1 1 1\n", "/proc/stat: cpu line: sum too large"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(kafu_load_parse(bad[i].text, strlen(bad[i].text), &s, &err), KAFU_E_INPUT);
    assert_string_equal(err.msg, bad[i].want);
  }
  /* A cut line stops at the end of the given bytes, not at a NUL. */
  assert_int_equal(kafu_load_parse("cpu 1 2 3 4", 9, &s, &err), KAFU_E_INPUT);
}

static void test_between(void **state) {
  (void)state;
  kafu_load_sample a = {100, 1000}, b = {400, 1400}, same = {100, 1000}, back = {50, 1100};
  assert_true(kafu_load_between(&a, &b) > 0.749 && kafu_load_between(&a, &b) < 0.751);
  assert_true(kafu_load_between(&a, &same) < 0);
  assert_true(kafu_load_between(&a, &back) < 0);
  assert_int_equal(kafu_load_permille(0.75), 750);
  assert_int_equal(kafu_load_permille(-1), 0);
  assert_int_equal(kafu_load_permille(1.5), 1000);
}

static char stat_path[] = "/tmp/kafu-load-test-XXXXXX";

static void write_stat(uint64_t busy, uint64_t idle) {
  FILE *f = fopen(stat_path, "w");
  assert_non_null(f);
  fprintf(f, "cpu  %llu 0 0 %llu 0 0 0 0 0 0\ncpu0 0 0 0 0\n", (unsigned long long)busy, (unsigned long long)idle);
  assert_int_equal(fclose(f), 0);
}

static void test_meter_window(void **state) {
  (void)state;
  int fd = mkstemp(stat_path);
  assert_true(fd >= 0);
  close(fd);
  kafu_load_meter m;
  kafu_load_meter_init(&m, 500, stat_path);
  kafu_error err = {0};
  double load;

  write_stat(0, 0);
  assert_int_equal(kafu_load_meter_update(&m, 0, &load, &err), KAFU_OK);
  assert_true(load < 0); /* nothing to compare with yet */

  /* 0..100 ms: idle. Only 100 ms of history: compared with the oldest. */
  write_stat(0, 100);
  assert_int_equal(kafu_load_meter_update(&m, 100, &load, &err), KAFU_OK);
  assert_true(load == 0.0);

  /* Busy from 100 ms on, sampled every 100 ms. */
  uint64_t busy = 0, idle = 100;
  for (int t = 200; t <= 1000; t += 100) {
    busy += 100;
    write_stat(busy, idle);
    assert_int_equal(kafu_load_meter_update(&m, t, &load, &err), KAFU_OK);
  }
  /* At 1000 ms the window (500 ms) is all busy. */
  assert_true(load == 1.0);

  /* Idle again: after 300 ms, the last 500 ms were 40 % busy. */
  for (int t = 1100; t <= 1300; t += 100) {
    idle += 100;
    write_stat(busy, idle);
    assert_int_equal(kafu_load_meter_update(&m, t, &load, &err), KAFU_OK);
  }
  assert_true(load > 0.399 && load < 0.401);

  /* A stat file that disappears is an I/O error, and the meter keeps going. */
  unlink(stat_path);
  assert_int_equal(kafu_load_meter_update(&m, 1400, &load, &err), KAFU_E_IO);
  assert_non_null(strstr(err.msg, "No such file or directory"));
}

/* The real /proc/stat parses and gives a fraction. */
static void test_real_proc_stat(void **state) {
  (void)state;
  kafu_load_sample a, b;
  kafu_error err = {0};
  if (kafu_load_read(NULL, &a, &err) == KAFU_E_IO) skip(); /* no procfs here */
  volatile uint64_t spin = 0;
  for (int i = 0; i < 20000000; i++) spin += (uint64_t)i;
  usleep(20000);
  assert_int_equal(kafu_load_read(NULL, &b, &err), KAFU_OK);
  assert_true(b.total >= a.total);
  double load = kafu_load_between(&a, &b);
  assert_true(load == -1.0 || (load >= 0.0 && load <= 1.0));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse),
      cmocka_unit_test(test_between),
      cmocka_unit_test(test_meter_window),
      cmocka_unit_test(test_real_proc_stat),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
