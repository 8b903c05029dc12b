/* A real WASI program for the interpreter: stdio, argv, heap, deep recursion
 * and a non-zero exit code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int depth(int n) { return n == 0 ? 0 : 1 + depth(n - 1); }

int main(int argc, char **argv) {
  char *buf = malloc(64);
  snprintf(buf, 64, "argc=%d last=%s", argc, argv[argc - 1]);
  printf("hello from interp: %s\n", buf);
  printf("depth=%d\n", depth(10000));
  fprintf(stderr, "to stderr\n");
  free(buf);
  return 3;
}
