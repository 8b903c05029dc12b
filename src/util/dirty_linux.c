/* Write tracking on Linux: userfaultfd write-protect in async mode
 * (UFFD_FEATURE_WP_ASYNC, 6.7) marks a range read-only in the page tables;
 * the first write to a page faults, and the kernel itself makes it writable
 * again, with no thread of ours involved. PAGEMAP_SCAN (6.7) then lists the
 * pages that are writable ("written") and protects them again in the same
 * walk. Debian 12's kernel headers predate both, so the ABI constants are
 * spelled out here. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "util/dirty.h"

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif

/* <linux/fs.h>, Linux 6.7 */
struct kafu_page_region {
  uint64_t start, end, categories;
};
struct kafu_pm_scan_arg {
  uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
  uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define KAFU_PAGEMAP_SCAN _IOWR('f', 16, struct kafu_pm_scan_arg)
#define KAFU_PM_SCAN_WP_MATCHING (1u << 0)
#define KAFU_PM_SCAN_CHECK_WPASYNC (1u << 1)
#define KAFU_PAGE_IS_WRITTEN (1u << 1)

#define OS_PAGE 4096u
#define REGIONS 256

struct kafu_dirty {
  int uffd;
  int pagemap;
  const uint8_t *mem; /* tracked range as the caller named it */
  size_t len;
  uintptr_t lo, hi; /* registered: whole OS pages around it */
};

static int open_uffd(void) {
  int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
  if (fd < 0) return -1;
  struct uffdio_api api = {.api = UFFD_API,
                           .features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED};
  if (ioctl(fd, UFFDIO_API, &api) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

kafu_err kafu_dirty_open(kafu_dirty **out, kafu_error *err) {
  *out = NULL;
  kafu_dirty *d = calloc(1, sizeof *d);
  if (!d) return kafu_fail(err, KAFU_E_NOMEM, "dirty tracking: out of memory");
  d->uffd = open_uffd();
  if (d->uffd < 0) {
    int e = errno;
    free(d);
    return kafu_fail(err, KAFU_E_UNSUPPORTED,
                     "dirty tracking: userfaultfd with async write-protect (Linux 6.7) "
                     "unavailable: %s",
                     strerror(e));
  }
  d->pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (d->pagemap < 0) {
    int e = errno;
    close(d->uffd);
    free(d);
    return kafu_fail(err, KAFU_E_UNSUPPORTED, "dirty tracking: /proc/self/pagemap: %s",
                     strerror(e));
  }
  /* PAGEMAP_SCAN exists from 6.7: probe it on an empty range. */
  struct kafu_pm_scan_arg probe = {.size = sizeof probe};
  if (ioctl(d->pagemap, KAFU_PAGEMAP_SCAN, &probe) < 0 && errno == ENOTTY) {
    int e = errno;
    kafu_dirty_close(d);
    return kafu_fail(err, KAFU_E_UNSUPPORTED, "dirty tracking: PAGEMAP_SCAN (Linux 6.7): %s",
                     strerror(e));
  }
  *out = d;
  return KAFU_OK;
}

void kafu_dirty_disarm(kafu_dirty *d) {
  if (!d || d->hi == d->lo) return;
  struct uffdio_range r = {.start = d->lo, .len = d->hi - d->lo};
  ioctl(d->uffd, UFFDIO_UNREGISTER, &r); /* also lifts the protection */
  d->lo = d->hi = 0;
  d->mem = NULL;
  d->len = 0;
}

void kafu_dirty_close(kafu_dirty *d) {
  if (!d) return;
  kafu_dirty_disarm(d);
  close(d->uffd);
  close(d->pagemap);
  free(d);
}

kafu_err kafu_dirty_arm(kafu_dirty *d, const void *mem, size_t len, kafu_error *err) {
  kafu_dirty_disarm(d);
  if (!len) return KAFU_OK;
  uintptr_t lo = (uintptr_t)mem & ~(uintptr_t)(OS_PAGE - 1);
  uintptr_t hi = ((uintptr_t)mem + len + OS_PAGE - 1) & ~(uintptr_t)(OS_PAGE - 1);
  struct uffdio_register reg = {.range = {.start = lo, .len = hi - lo},
                                .mode = UFFDIO_REGISTER_MODE_WP};
  if (ioctl(d->uffd, UFFDIO_REGISTER, &reg) != 0)
    return kafu_fail(err, KAFU_E_IO, "dirty tracking: register %zu bytes: %s", len,
                     strerror(errno));
  struct uffdio_writeprotect wp = {.range = {.start = lo, .len = hi - lo},
                                   .mode = UFFDIO_WRITEPROTECT_MODE_WP};
  if (ioctl(d->uffd, UFFDIO_WRITEPROTECT, &wp) != 0) {
    int e = errno;
    struct uffdio_range r = {.start = lo, .len = hi - lo};
    ioctl(d->uffd, UFFDIO_UNREGISTER, &r);
    return kafu_fail(err, KAFU_E_IO, "dirty tracking: write-protect %zu bytes: %s", len,
                     strerror(e));
  }
  d->lo = lo;
  d->hi = hi;
  d->mem = mem;
  d->len = len;
  return KAFU_OK;
}

bool kafu_dirty_covers(const kafu_dirty *d, const void *mem, size_t len) {
  return d && d->hi != d->lo && d->mem == mem && d->len == len;
}

static void set_bit(uint8_t *bitmap, size_t i) {
  bitmap[i >> 3] |= (uint8_t)(1u << (i & 7));
}

/* OS pages [first, last) of the registered range were written: mark every
 * unit overlapping them. */
static void mark_units(const kafu_dirty *d, uint8_t *bitmap, size_t first, size_t last) {
  size_t units = (d->len + KAFU_DIRTY_UNIT - 1) / KAFU_DIRTY_UNIT;
  bool straddle = ((uintptr_t)d->mem & (OS_PAGE - 1)) != 0;
  for (size_t p = first; p < last; p++) {
    /* OS page p holds the tail of unit p-1 and, when the range is not
     * page aligned, the head of unit p (aligned: exactly unit p). */
    if (!straddle) {
      if (p < units) set_bit(bitmap, p);
      continue;
    }
    if (p >= 1 && p - 1 < units) set_bit(bitmap, p - 1);
    if (p < units) set_bit(bitmap, p);
  }
}

kafu_err kafu_dirty_scan(kafu_dirty *d, uint8_t *bitmap, size_t *n_dirty, kafu_error *err) {
  *n_dirty = 0;
  size_t units = (d->len + KAFU_DIRTY_UNIT - 1) / KAFU_DIRTY_UNIT;
  memset(bitmap, 0, (units + 7) / 8);
  if (d->hi == d->lo) return kafu_fail(err, KAFU_E_INTERNAL, "dirty tracking: nothing armed");
  struct kafu_page_region vec[REGIONS];
  uintptr_t at = d->lo;
  while (at < d->hi) {
    struct kafu_pm_scan_arg a = {
        .size = sizeof a,
        .flags = KAFU_PM_SCAN_WP_MATCHING | KAFU_PM_SCAN_CHECK_WPASYNC,
        .start = at,
        .end = d->hi,
        .vec = (uint64_t)(uintptr_t)vec,
        .vec_len = REGIONS,
        .category_mask = KAFU_PAGE_IS_WRITTEN,
        .return_mask = KAFU_PAGE_IS_WRITTEN,
    };
    long n = ioctl(d->pagemap, KAFU_PAGEMAP_SCAN, &a);
    if (n < 0) {
      int e = errno;
      kafu_dirty_disarm(d);
      return kafu_fail(err, KAFU_E_IO, "dirty tracking: PAGEMAP_SCAN: %s", strerror(e));
    }
    for (long k = 0; k < n; k++)
      mark_units(d, bitmap, (size_t)((vec[k].start - d->lo) / OS_PAGE),
                 (size_t)((vec[k].end - d->lo) / OS_PAGE));
    if (a.walk_end <= at) { /* no progress: never loop forever */
      kafu_dirty_disarm(d);
      return kafu_fail(err, KAFU_E_IO, "dirty tracking: PAGEMAP_SCAN made no progress");
    }
    at = (uintptr_t)a.walk_end;
  }
  size_t count = 0;
  for (size_t i = 0; i < (units + 7) / 8; i++)
    count += (size_t)__builtin_popcount(bitmap[i]);
  *n_dirty = count;
  return KAFU_OK;
}

kafu_err kafu_dirty_unprotect(kafu_dirty *d, size_t first, size_t n, kafu_error *err) {
  if (d->hi == d->lo) return kafu_fail(err, KAFU_E_INTERNAL, "dirty tracking: nothing armed");
  uintptr_t from = ((uintptr_t)d->mem + first * KAFU_DIRTY_UNIT) & ~(uintptr_t)(OS_PAGE - 1);
  uintptr_t to = (uintptr_t)d->mem + (first + n) * KAFU_DIRTY_UNIT;
  to = (to + OS_PAGE - 1) & ~(uintptr_t)(OS_PAGE - 1);
  if (from < d->lo || to > d->hi || from >= to)
    return kafu_fail(err, KAFU_E_INTERNAL, "dirty tracking: units %zu+%zu outside the range", first,
                     n);
  struct uffdio_writeprotect wp = {.range = {.start = from, .len = to - from}, .mode = 0};
  if (ioctl(d->uffd, UFFDIO_WRITEPROTECT, &wp) != 0) {
    int e = errno;
    kafu_dirty_disarm(d);
    return kafu_fail(err, KAFU_E_IO, "dirty tracking: un-protect: %s", strerror(e));
  }
  return KAFU_OK;
}

/* ---- what a tracked write costs here, measured once ---- */

#define CALIBRATE_PAGES 128
#define CALIBRATE_ROUNDS 5

static double g_fault_us, g_unprotect_us;
static pthread_once_t g_calibrate_once = PTHREAD_ONCE_INIT;

static double mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void calibrate(void) {
  kafu_dirty *d = NULL;
  if (kafu_dirty_open(&d, NULL)) return;
  size_t len = CALIBRATE_PAGES * OS_PAGE;
  volatile uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) goto out;
  for (size_t i = 0; i < len; i += OS_PAGE)
    m[i] = 1;
  /* The fastest of a few rounds: the first pays for cold paths, and a
   * busy machine (this runs beside a first restore) only slows rounds. */
  uint8_t bitmap[CALIBRATE_PAGES / 8];
  size_t n_dirty = 0;
  double best = 0;
  if (!kafu_dirty_arm(d, (const void *)m, len, NULL)) {
    for (int round = 0; round < CALIBRATE_ROUNDS; round++) {
      double t0 = mono_us();
      for (size_t i = 0; i < len; i += OS_PAGE)
        m[i] = (uint8_t)(2 + round);
      double us = (mono_us() - t0) / CALIBRATE_PAGES;
      if (round > 0 && (best == 0 || us < best)) best = us;
      if (kafu_dirty_scan(d, bitmap, &n_dirty, NULL)) break;
    }
    g_fault_us = best > 0 ? best : 0.01;
    /* Then lifting the protection of every other page, one ioctl each. */
    double t0 = mono_us();
    size_t n_unprotected = 0;
    for (size_t i = 0; i < CALIBRATE_PAGES; i += 2, n_unprotected++)
      if (kafu_dirty_unprotect(d, i, 1, NULL)) break;
    g_unprotect_us = n_unprotected ? (mono_us() - t0) / (double)n_unprotected : 0;
    if (g_unprotect_us <= 0) g_unprotect_us = 0.01;
  }
  kafu_dirty_disarm(d);
  munmap((void *)m, len);
out:
  kafu_dirty_close(d);
}

double kafu_dirty_fault_us(void) {
  pthread_once(&g_calibrate_once, calibrate);
  return g_fault_us;
}

double kafu_dirty_unprotect_us(void) {
  pthread_once(&g_calibrate_once, calibrate);
  return g_unprotect_us;
}
