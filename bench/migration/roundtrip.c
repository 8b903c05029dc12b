/* bench/migration: N KAFU_DEST round trips cloud1 -> edge1 -> cloud1 of a
 * small function touching a small heap, timed on cloud1 (one clock). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafu.h"

#define HEAP_BYTES 4096

static unsigned char *heap;

KAFU_DEST("edge1")
static unsigned bump(unsigned x) {
  unsigned sum = x;
  for (int i = 0; i < HEAP_BYTES; i += 64) sum += heap[i]++;
  return sum;
}

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 200;
  int warmup = 5;
  heap = calloc(1, HEAP_BYTES);
  unsigned acc = 0;
  for (int i = 0; i < warmup; i++) acc += bump((unsigned)i);
  double *rt = malloc(sizeof *rt * (size_t)n);
  double t0 = now_us();
  for (int i = 0; i < n; i++) {
    double a = now_us();
    acc += bump((unsigned)i);
    rt[i] = now_us() - a;
  }
  double total = now_us() - t0;
  /* sort for percentiles */
  for (int i = 1; i < n; i++) {
    double v = rt[i];
    int j = i - 1;
    while (j >= 0 && rt[j] > v) rt[j + 1] = rt[j], j--;
    rt[j + 1] = v;
  }
  printf("roundtrips %d mean_us %.1f p50_us %.1f p90_us %.1f min_us %.1f (acc %u, on %s)\n", n,
         total / n, rt[n / 2], rt[n * 9 / 10], rt[0], acc, kafu_node());
  return 0;
}
