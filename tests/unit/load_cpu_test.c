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
  kafu_load_sample a = {100, 1000, 0}, b = {400, 1400, 0}, same = {100, 1000, 0}, back = {50, 1100, 0};
  assert_true(kafu_load_between(&a, &b) > 0.749 && kafu_load_between(&a, &b) < 0.751);
  assert_true(kafu_load_between(&a, &same) < 0);
  assert_true(kafu_load_between(&a, &back) < 0);
  assert_int_equal(kafu_load_permille(0.75), 750);
  assert_int_equal(kafu_load_permille(-1), 0);
  assert_int_equal(kafu_load_permille(1.5), 1000);
}

/* Pinned nodes: only the cpuN lines of their CPUs count. */
static void test_parse_cpus(void **state) {
  (void)state;
  const char *text = "cpu  300 0 0 700 0 0 0 0 0 0\n"
                     "cpu0 100 0 0 300 0 0 0 0 0 0\n"
                     "cpu1 200 0 0 400 0 0 0 0 0 0\n"
                     "cpu12 7 0 0 3 0 0 0 0 0 0\n"
                     "intr 1 2 3\n"
                     "cpu3 9 9 9 9\n"; /* not a cpu line any more: after intr */
  const char *lines = strchr(text, '\n') + 1;
  kafu_cpuset set;
  kafu_load_sample s;
  kafu_error err = {0};
  assert_int_equal(kafu_affinity_parse("1", &set, &err), KAFU_OK);
  assert_int_equal(kafu_load_parse_cpus(lines, strlen(lines), &set, &s, &err), KAFU_OK);
  assert_int_equal(s.total, 600);
  assert_int_equal(s.busy, 200);
  assert_int_equal(kafu_affinity_parse("0-1,12", &set, &err), KAFU_OK);
  assert_int_equal(kafu_load_parse_cpus(lines, strlen(lines), &set, &s, &err), KAFU_OK);
  assert_int_equal(s.total, 1010);
  assert_int_equal(s.busy, 307);
  assert_int_equal(kafu_affinity_parse("1,3", &set, &err), KAFU_OK);
  assert_int_equal(kafu_load_parse_cpus(lines, strlen(lines), &set, &s, &err), KAFU_E_INPUT);
  assert_string_equal(err.msg, "/proc/stat: no line for cpu3");
  const char *bad = "cpu1 1 2 x 4\n";
  assert_int_equal(kafu_affinity_parse("1", &set, &err), KAFU_OK);
  assert_int_equal(kafu_load_parse_cpus(bad, strlen(bad), &set, &s, &err), KAFU_E_INPUT);
  assert_string_equal(err.msg, "/proc/stat: cpu line: not a number");
}

static void test_parse_self(void **state) {
  (void)state;
  uint64_t ticks = 0;
  kafu_error err = {0};
  /* A command name with spaces and ')' in it. */
  const char *text = "1234 (ka fu) x) S 1 1234 1234 0 -1 4194560 100 0 0 0 25 17 0 0 20 0 3 0\n";
  assert_int_equal(kafu_load_parse_self(text, strlen(text), &ticks, &err), KAFU_OK);
  assert_int_equal(ticks, 42);
  const char *short_text = "1 (a) S 1 2 3\n";
  assert_int_equal(kafu_load_parse_self(short_text, strlen(short_text), &ticks, &err), KAFU_E_INPUT);
  const char *no_paren = "1 a S 1 2 3 4 5 6 7 8 9 10 11 12 13\n";
  assert_int_equal(kafu_load_parse_self(no_paren, strlen(no_paren), &ticks, &err), KAFU_E_INPUT);
  const char *bad = "1 (a) S 1 1 1 0 -1 0 0 0 0 0 2x 3 0\n";
  assert_int_equal(kafu_load_parse_self(bad, strlen(bad), &ticks, &err), KAFU_E_INPUT);
  assert_string_equal(err.msg, "/proc/self/stat: field 14: not a number");
}

/* Our own ticks are left out: a job keeping its CPU busy alone reads near 0;
 * a competitor sharing the CPU with it reads as fully loaded. */
static void test_between_others(void **state) {
  (void)state;
  kafu_load_sample a = {0, 0, 0};
  kafu_load_sample alone = {100, 100, 99};  /* we used 99 of 100 ticks */
  kafu_load_sample shared = {100, 100, 50}; /* we got half, the hog half */
  kafu_load_sample idle = {0, 100, 0};
  kafu_load_sample hog_only = {100, 100, 0};
  assert_true(kafu_load_between_others(&a, &alone) < 0.03);
  assert_true(kafu_load_between_others(&a, &shared) == 1.0);
  assert_true(kafu_load_between_others(&a, &idle) == 0.0);
  assert_true(kafu_load_between_others(&a, &hog_only) == 1.0);
  assert_true(kafu_load_between_others(&a, &a) < 0);
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
      cmocka_unit_test(test_parse_cpus),
      cmocka_unit_test(test_parse_self),
      cmocka_unit_test(test_between_others),
      cmocka_unit_test(test_real_proc_stat),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
