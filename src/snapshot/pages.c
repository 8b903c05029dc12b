/* 4 KiB page maps: which pages a snapshot carries (non-zero pages, or pages
 * that differ from a baseline), and moving those pages in and out of memory
 * without intermediate copies. */
#include <string.h>

#include "snapshot/internal.h"

#define PAGE KAFU_SNAPSHOT_PAGE

static inline bool bit_get(const uint8_t *bitmap, size_t i) {
  return (bitmap[i >> 3] >> (i & 7)) & 1;
}

/* Word-wise OR over 256-byte strides: the compiler turns each stride into
 * vector ORs, and data pages usually bail out within the first stride. */
bool kafu_snap_page_is_zero(const uint8_t *page) {
  for (size_t off = 0; off < PAGE; off += 256) {
    uint64_t w[32];
    memcpy(w, page + off, sizeof w);
    uint64_t acc = 0;
    for (int i = 0; i < 32; i++)
      acc |= w[i];
    if (acc) return false;
  }
  return true;
}

size_t kafu_snap_map_full(const uint8_t *mem, size_t n_pages, uint8_t *bitmap) {
  size_t n_present = 0;
  for (size_t byte = 0; byte < n_pages / 8; byte++) {
    uint8_t bits = 0;
    for (unsigned b = 0; b < 8; b++) {
      if (!kafu_snap_page_is_zero(mem + (byte * 8 + b) * PAGE)) {
        bits |= (uint8_t)(1u << b);
        n_present++;
      }
    }
    bitmap[byte] = bits;
  }
  return n_present;
}

size_t kafu_snap_map_delta(const uint8_t *mem, size_t n_pages, const uint8_t *base,
                           size_t base_pages, uint8_t *bitmap) {
  size_t n_present = 0;
  for (size_t byte = 0; byte < n_pages / 8; byte++) {
    uint8_t bits = 0;
    for (unsigned b = 0; b < 8; b++) {
      size_t i = byte * 8 + b;
      bool differs = i < base_pages ? memcmp(mem + i * PAGE, base + i * PAGE, PAGE) != 0
                                    : !kafu_snap_page_is_zero(mem + i * PAGE);
      if (differs) {
        bits |= (uint8_t)(1u << b);
        n_present++;
      }
    }
    bitmap[byte] = bits;
  }
  return n_present;
}

size_t kafu_snap_count(const uint8_t *bitmap, size_t n_pages) {
  size_t n = 0;
  for (size_t byte = 0; byte < n_pages / 8; byte++)
    n += (size_t)__builtin_popcount(bitmap[byte]);
  return n;
}

size_t kafu_snap_next_run(const uint8_t *bitmap, size_t n_pages, size_t from, size_t *run_len) {
  size_t i = from;
  while (i < n_pages) { /* skip unmarked pages, a byte at a time where possible */
    if ((i & 7) == 0)
      while (i < n_pages && bitmap[i >> 3] == 0)
        i += 8;
    if (i >= n_pages || bit_get(bitmap, i)) break;
    i++;
  }
  if (i >= n_pages) {
    *run_len = 0;
    return n_pages;
  }
  size_t start = i;
  while (i < n_pages) {
    if ((i & 7) == 0)
      while (i < n_pages && bitmap[i >> 3] == 0xff)
        i += 8;
    if (i >= n_pages || !bit_get(bitmap, i)) break;
    i++;
  }
  *run_len = i - start;
  return start;
}

void kafu_snap_gather(const uint8_t *mem, const uint8_t *bitmap, size_t n_pages, uint8_t *dst) {
  size_t run_len;
  for (size_t i = kafu_snap_next_run(bitmap, n_pages, 0, &run_len); run_len;
       i = kafu_snap_next_run(bitmap, n_pages, i + run_len, &run_len)) {
    memcpy(dst, mem + i * PAGE, run_len * PAGE);
    dst += run_len * PAGE;
  }
}

void kafu_snap_scatter(uint8_t *mem, const uint8_t *bitmap, size_t n_pages, const uint8_t *src) {
  size_t run_len;
  for (size_t i = kafu_snap_next_run(bitmap, n_pages, 0, &run_len); run_len;
       i = kafu_snap_next_run(bitmap, n_pages, i + run_len, &run_len)) {
    memcpy(mem + i * PAGE, src, run_len * PAGE);
    src += run_len * PAGE;
  }
}

void kafu_snap_zero_gaps(uint8_t *mem, const uint8_t *bitmap, size_t n_pages, size_t from) {
  size_t run_len;
  size_t gap = from;
  for (size_t i = kafu_snap_next_run(bitmap, n_pages, from, &run_len); gap < n_pages;
       i = kafu_snap_next_run(bitmap, n_pages, i + run_len, &run_len)) {
    /* pages [gap, i) are unmarked; i == n_pages when no run is left */
    if (i > gap) memset(mem + gap * PAGE, 0, (i - gap) * PAGE);
    gap = i + run_len;
  }
}
