/* The program bench_ckpt_runtime checkpoints (built with kafu cc by
 * bench/checkpoint/run): fills a heap of MiB megabytes, then reaches the
 * migration point at the entry of checkpoint_here() `reps` times, dirtying
 * ~1% of the pages after each, and prints a checksum of the whole heap.
 * usage: heap_app MiB reps
 * Heap content per 4 KiB page: 1/2 random bytes, 1/4 slowly increasing u32s,
 * 1/8 repeated text records, 1/8 zero. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafu.h"

#define PAGE 4096u

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t next_random(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static void fill_page(uint8_t *page, size_t index) {
  switch (index % 8) {
  case 0:
  case 2:
  case 4:
  case 6:
    for (unsigned i = 0; i < PAGE; i += 8) {
      uint64_t r = next_random();
      memcpy(page + i, &r, 8);
    }
    break;
  case 1:
  case 5: {
    uint32_t base = (uint32_t)index * 16;
    for (unsigned i = 0; i < PAGE; i += 4) {
      uint32_t v = base + i / 64;
      memcpy(page + i, &v, 4);
    }
    break;
  }
  case 3: {
    char record[64];
    int n =
        snprintf(record, sizeof record, "user-%06zu;edge1;active;count=%zu;\n", index, index % 97);
    for (unsigned i = 0; i + (unsigned)n <= PAGE; i += (unsigned)n)
      memcpy(page + i, record, n);
    break;
  }
  default: memset(page, 0, PAGE);
  }
}

/* FNV-1a over the first 128 bytes of every page (where the dirtying writes
 * go) and one word in 64 elsewhere: cheap on the interpreter, yet it sees
 * every page. */
static uint64_t checksum(const uint8_t *heap, size_t len) {
  uint64_t h = 14695981039346656037ull;
  for (size_t page = 0; page + PAGE <= len; page += PAGE)
    for (unsigned i = 0; i < PAGE; i += i < 128 ? 8 : 512) {
      uint64_t w;
      memcpy(&w, heap + page + i, 8);
      h = (h ^ w) * 1099511628211ull;
    }
  return h;
}

/* The migration point: the host checkpoints at entry. The volatile store
 * keeps clang from dropping calls whose result is unused. */
static volatile int checkpoints_reached;

KAFU_DEST("bench")
static int checkpoint_here(int rep) {
  checkpoints_reached = rep + 1;
  return checkpoints_reached;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: heap_app MiB reps\n");
    return 2;
  }
  size_t len = (size_t)atoi(argv[1]) << 20;
  int reps = atoi(argv[2]);
  if (reps < 0 || reps > 120) reps = 120; /* dirtying writes stay in each page's first 128 bytes */
  /* page-aligned, so that the zero and repetitive pages are whole 4 KiB
   * snapshot pages */
  uint8_t *heap = aligned_alloc(PAGE, len);
  if (!heap) {
    fprintf(stderr, "heap_app: cannot allocate %zu bytes\n", len);
    return 1;
  }
  size_t n_pages = len / PAGE;
  for (size_t p = 0; p < n_pages; p++)
    fill_page(heap + p * PAGE, p);
  int done = 0;
  for (int rep = 0; rep < reps; rep++) {
    done = checkpoint_here(rep);
    /* dirty ~1% of the pages, differently after every checkpoint */
    for (size_t p = (size_t)rep % 100; p < n_pages; p += 100)
      heap[p * PAGE + (size_t)rep] ^= 0x5a;
  }
  printf("heap %zu MiB, %d checkpoints, checksum %016llx\n", len >> 20, done,
         (unsigned long long)checksum(heap, len));
  free(heap);
  return 0;
}
