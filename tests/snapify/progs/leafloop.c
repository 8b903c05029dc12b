/* Test program: the only annotated function is a leaf called from a printf
 * loop in main; stdio internals must stay uninstrumented. */
#include <stdio.h>

__attribute__((noinline)) int leaf(int x) { return x * x + 1; }

int main(void) {
  for (int i = 0; i < 10; i++) printf("%d %d\n", i, leaf(i));
  return 0;
}
