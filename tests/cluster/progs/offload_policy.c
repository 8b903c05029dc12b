/* Where KAFU_MAY_OFFLOAD work runs under a node's offload.policy: main on
 * cloud1 calls stage() on edge1, which calls heavy(), a MAY_OFFLOAD("cloud2")
 * region that spins for MS milliseconds (its loops poll) and optionally calls
 * a KAFU_DEST("edge1") function from inside the region. Every step prints
 * kafu_node(). stage() sleeps PAUSE_MS before heavy() (outside the region:
 * no polls), so a test can change the cluster first.
 * Usage: offload_policy [MS [ROUNDS [NESTED [PAUSE_MS]]]] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kafu.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void spin(double ms) {
  double end = now_ms() + ms;
  volatile unsigned sink = 0;
  for (unsigned i = 1;; i++) {
    sink += i;
    if ((i & 0xffff) == 0 && now_ms() > end) break;
  }
}

KAFU_DEST("edge1")
static void nested(void) { printf("nested runs on %s\n", kafu_node()); }

KAFU_MAY_OFFLOAD("cloud2")
static void heavy(int ms, int call_nested) {
  printf("heavy enters on %s\n", kafu_node());
  fflush(stdout);
  spin(ms);
  printf("heavy loop ends on %s\n", kafu_node());
  if (call_nested) {
    nested();
    printf("heavy after nested on %s\n", kafu_node());
  }
}

KAFU_DEST("edge1")
static void stage(int ms, int call_nested, int pause_ms) {
  printf("stage on %s\n", kafu_node());
  fflush(stdout);
  if (pause_ms > 0) {
    struct timespec ts = {pause_ms / 1000, (long)(pause_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
  }
  heavy(ms, call_nested);
  printf("stage after heavy on %s\n", kafu_node());
}

int main(int argc, char **argv) {
  int ms = argc > 1 ? atoi(argv[1]) : 300;
  int rounds = argc > 2 ? atoi(argv[2]) : 1;
  int call_nested = argc > 3 ? atoi(argv[3]) : 0;
  int pause_ms = argc > 4 ? atoi(argv[4]) : 0;
  printf("main on %s\n", kafu_node());
  for (int r = 0; r < rounds; r++) stage(ms, call_nested, pause_ms);
  printf("main after on %s\n", kafu_node());
  return 0;
}
