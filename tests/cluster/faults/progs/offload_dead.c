/* A KAFU_MAY_OFFLOAD("edge2") region on edge1 that spins for argv[1] ms
 * (default 4000) unless it finds itself moved; used with edge2 dead, so the
 * offload must fail and the work continue on edge1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafu.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

KAFU_DEST("edge1")
KAFU_MAY_OFFLOAD("edge2")
static unsigned work(double ms) {
  printf("work starts on %s\n", kafu_node());
  fflush(stdout);
  double start = now_ms();
  unsigned sum = 0;
  for (unsigned i = 1;; i++) {
    sum += i * i;
    if ((i & 0xffff) == 0 && (strcmp(kafu_node(), "edge1") || now_ms() - start > ms)) break;
  }
  printf("work ends on %s\n", kafu_node());
  return sum != 0;
}

int main(int argc, char **argv) {
  double ms = argc > 1 ? atof(argv[1]) : 4000;
  printf("main on %s\n", kafu_node());
  unsigned r = work(ms);
  printf("main again on %s (%u)\n", kafu_node(), r);
  return 0;
}
