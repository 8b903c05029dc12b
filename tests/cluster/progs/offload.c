/* A KAFU_MAY_OFFLOAD region that spins on edge1 until `kafu offload` moves it
 * to cloud1 (it notices by kafu_node()), or 60 s pass. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kafu.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

KAFU_DEST("edge1")
KAFU_MAY_OFFLOAD("cloud1")
static int work(void) {
  printf("work starts on %s\n", kafu_node());
  fflush(stdout);
  double start = now_s();
  volatile unsigned sink = 0;
  for (unsigned i = 1;; i++) {
    sink += i;
    if ((i & 0xfffff) == 0) {
      if (strcmp(kafu_node(), "edge1")) break;
      if (now_s() - start > 60) break;
    }
  }
  printf("work ends on %s\n", kafu_node());
  return 0;
}

int main(void) {
  printf("main on %s\n", kafu_node());
  work();
  printf("main again on %s\n", kafu_node());
  return 0;
}
