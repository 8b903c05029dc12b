/* Write tracking (util/dirty.h): the units written since the last scan,
 * exactly, for page-aligned and unaligned ranges, writes by the kernel
 * (read(2) into the range), and a scan that makes them clean again. Skips
 * when the kernel lacks async userfaultfd write-protect or PAGEMAP_SCAN. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/dirty.h"

#define UNIT KAFU_DIRTY_UNIT

static kafu_dirty *open_or_skip(void) {
  kafu_dirty *d = NULL;
  kafu_error err = {0};
  kafu_err rc = kafu_dirty_open(&d, &err);
  if (rc == KAFU_E_UNSUPPORTED) {
    print_message("skipped: %s\n", err.msg);
    skip();
  }
  assert_int_equal(rc, KAFU_OK);
  return d;
}

static bool bit(const uint8_t *bitmap, size_t i) {
  return (bitmap[i >> 3] >> (i & 7)) & 1;
}

/* Writes one byte into each listed unit, scans, and checks the bitmap is
 * exactly those units (offset: where in the unit the byte goes). */
static void write_and_check(kafu_dirty *d, uint8_t *mem, size_t units, const size_t *which,
                            size_t n_which, size_t offset) {
  for (size_t k = 0; k < n_which; k++)
    mem[which[k] * UNIT + offset]++;
  uint8_t *bitmap = calloc(1, (units + 7) / 8);
  size_t n_dirty = 0;
  kafu_error err = {0};
  assert_int_equal(kafu_dirty_scan(d, bitmap, &n_dirty, &err), KAFU_OK);
  for (size_t i = 0; i < units; i++) {
    bool want = false;
    for (size_t k = 0; k < n_which; k++)
      want |= which[k] == i;
    if (bit(bitmap, i) != want) fail_msg("unit %zu: dirty %d, written %d", i, bit(bitmap, i), want);
  }
  assert_int_equal(n_dirty, n_which);
  /* The scan made them clean: nothing was written since. */
  assert_int_equal(kafu_dirty_scan(d, bitmap, &n_dirty, &err), KAFU_OK);
  assert_int_equal(n_dirty, 0);
  free(bitmap);
}

static void test_aligned(void **state) {
  (void)state;
  kafu_dirty *d = open_or_skip();
  size_t units = 64, len = units * UNIT;
  uint8_t *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  assert_true(mem != MAP_FAILED);
  memset(mem, 1, len / 2); /* half populated, half never touched */
  kafu_error err = {0};
  assert_int_equal(kafu_dirty_arm(d, mem, len, &err), KAFU_OK);
  assert_true(kafu_dirty_covers(d, mem, len));
  assert_false(kafu_dirty_covers(d, mem, len - UNIT));
  static const size_t first[] = {0, 5, 31, 32, 63};
  write_and_check(d, mem, units, first, 5, 100);
  static const size_t second[] = {7, 40};
  write_and_check(d, mem, units, second, 2, UNIT - 1);
  kafu_dirty_close(d);
  munmap(mem, len);
}

/* A range that does not start on a page: a unit spans two OS pages, and a
 * write into its second page must still mark it (and its neighbour, which
 * shares that page). */
static void test_unaligned(void **state) {
  (void)state;
  kafu_dirty *d = open_or_skip();
  size_t units = 16, len = units * UNIT;
  uint8_t *map =
      mmap(NULL, len + 2 * UNIT, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  assert_true(map != MAP_FAILED);
  uint8_t *mem = map + 16;
  memset(map, 1, len + 2 * UNIT);
  kafu_error err = {0};
  assert_int_equal(kafu_dirty_arm(d, mem, len, &err), KAFU_OK);
  mem[3 * UNIT] = 9; /* head of unit 3: OS page 3 also holds unit 2's tail */
  uint8_t bitmap[2] = {0};
  size_t n_dirty = 0;
  assert_int_equal(kafu_dirty_scan(d, bitmap, &n_dirty, &err), KAFU_OK);
  assert_true(bit(bitmap, 3) && bit(bitmap, 2));
  assert_int_equal(n_dirty, 2);
  mem[len - 1] = 9; /* the last unit's tail is on the page after the range */
  assert_int_equal(kafu_dirty_scan(d, bitmap, &n_dirty, &err), KAFU_OK);
  assert_true(bit(bitmap, units - 1));
  assert_int_equal(n_dirty, 1);
  kafu_dirty_close(d);
  munmap(map, len + 2 * UNIT);
}

/* The kernel writing into the range (read(2), as WASI fd_read does) counts. */
static void test_kernel_write(void **state) {
  (void)state;
  kafu_dirty *d = open_or_skip();
  size_t units = 8, len = units * UNIT;
  uint8_t *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  assert_true(mem != MAP_FAILED);
  kafu_error err = {0};
  assert_int_equal(kafu_dirty_arm(d, mem, len, &err), KAFU_OK);
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  assert_int_equal(write(fds[1], "hello", 5), 5);
  assert_int_equal(read(fds[0], mem + 6 * UNIT + 10, 5), 5);
  close(fds[0]);
  close(fds[1]);
  uint8_t bitmap[1] = {0};
  size_t n_dirty = 0;
  assert_int_equal(kafu_dirty_scan(d, bitmap, &n_dirty, &err), KAFU_OK);
  assert_int_equal(bitmap[0], 1u << 6);
  assert_memory_equal(mem + 6 * UNIT + 10, "hello", 5);
  kafu_dirty_close(d);
  munmap(mem, len);
}

/* Disarming lifts the protection: writes are plain writes again, and
 * re-arming starts clean. */
static void test_rearm(void **state) {
  (void)state;
  kafu_dirty *d = open_or_skip();
  size_t units = 8, len = units * UNIT;
  uint8_t *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  kafu_error err = {0};
  assert_int_equal(kafu_dirty_arm(d, mem, len, &err), KAFU_OK);
  mem[0] = 1;
  kafu_dirty_disarm(d);
  assert_false(kafu_dirty_covers(d, mem, len));
  mem[UNIT] = 1;
  assert_int_equal(kafu_dirty_arm(d, mem, len, &err), KAFU_OK);
  mem[2 * UNIT] = 1;
  uint8_t bitmap[1] = {0};
  size_t n_dirty = 0;
  assert_int_equal(kafu_dirty_scan(d, bitmap, &n_dirty, &err), KAFU_OK);
  assert_int_equal(bitmap[0], 1u << 2);
  assert_true(kafu_dirty_fault_us() > 0);
  kafu_dirty_close(d);
  munmap(mem, len);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_aligned),
      cmocka_unit_test(test_unaligned),
      cmocka_unit_test(test_kernel_write),
      cmocka_unit_test(test_rearm),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
