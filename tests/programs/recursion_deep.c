/* Deep recursion (10,000 frames) with migration points at the bottom and at
 * a few levels on the way, so every migration unwinds and rewinds a deep
 * Asyncify stack; needs a large state region. The recursion goes through a
 * volatile function pointer so the compiler cannot turn it into a loop. */
// kafucc: --state-size=2097152
// slow-always
#include <stdio.h>

#include "kafu.h"

KAFU_DEST("edge1")
static int probe(int n) { return n % 7 + 1; }

static long long depth_sum(int n);
static long long (*volatile recurse)(int) = depth_sum;

static long long depth_sum(int n) {
  if (n == 0) return probe(0);
  volatile int pad[4] = {n, n * 2, n * 3, n * 4};
  long long below = recurse(n - 1);
  if (n % 2500 == 0) below += probe(n);
  return pad[n % 4] + below * 3 % 1000000007;
}

int main(void) {
  printf("sum(100)=%lld\n", depth_sum(100));
  printf("sum(10000)=%lld\n", depth_sum(10000));
  return 0;
}
