/* Test program: three DEST functions (nested, recursive, via a function
 * pointer) and one MAY_OFFLOAD function; annotated by snapify flags. */
#include <stdio.h>

__attribute__((noinline)) int leaf_edge(int x) { return x * 3 + 1; }

/* nested: calls another annotated function */
__attribute__((noinline)) int nested_dest(int x) { return leaf_edge(x) + leaf_edge(x + 1); }

/* recursive (not tail-recursive, so clang keeps the calls) */
__attribute__((noinline)) int fib_dest(int n) { return n < 2 ? n : fib_dest(n - 1) + fib_dest(n - 2); }

/* called through a function pointer */
__attribute__((noinline)) int ptr_dest(int x) { return x - 7; }
__attribute__((noinline)) int other_op(int x) { return x + 7; }

__attribute__((noinline)) static int helper_sum(const int *v, int n) {
  int s = 0;
  for (int i = 0; i < n; i++) s += v[i];
  return s;
}

__attribute__((noinline)) int offload_work(int n) {
  int v[64];
  int total = 0;
  for (int r = 0; r < n; r++) {
    for (int i = 0; i < 64; i++) v[i] = i * r;
    total += helper_sum(v, 64);
  }
  return total;
}

int (*volatile op_table[2])(int) = {ptr_dest, other_op};

int main(int argc, char **argv) {
  (void)argv;
  printf("nested %d\n", nested_dest(argc));
  printf("fib %d\n", fib_dest(15));
  printf("ptr %d %d\n", op_table[0](argc), op_table[1](argc));
  printf("offload %d\n", offload_work(100));
  return 0;
}
