/* Deep recursion (10,000 frames) with migration points at every level, which
 * needs a large state region. */
// kafucc: --state-size=2097152
#include <stdio.h>

#include "kafu.h"

KAFU_DEST("edge1")
static long long depth_sum(int n) {
  if (n == 0) return 0;
  volatile int pad[4] = {n, n * 2, n * 3, n * 4};
  return pad[n % 4] + depth_sum(n - 1);
}

int main(void) {
  printf("sum(100)=%lld\n", depth_sum(100));
  printf("sum(10000)=%lld\n", depth_sum(10000));
  return 0;
}
