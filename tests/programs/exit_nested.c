/* exit() called deep inside nested annotated functions, with buffered
 * output that must still be flushed exactly once. */
#include <stdio.h>
#include <stdlib.h>

#include "kafu.h"

KAFU_DEST("edge1")
static void inner(int level) {
  printf("inner level %d\n", level);
  if (level == 3) {
    printf("exiting from level %d\n", level);
    exit(42);
  }
  inner(level + 1);
}

KAFU_DEST("cloud1")
static void outer(void) {
  printf("outer start\n");
  inner(0);
  printf("never printed\n");
}

int main(void) {
  printf("main start\n");
  outer();
  return 0;
}
