/* The seed's Fig. 1 shape: nested and recursive KAFU_DEST functions, one
 * reached through a function pointer, with both annotations on one. */
#include <stdio.h>
#include <string.h>

#include "kafu.h"

KAFU_DEST("edge1")
static int get_frame(int i, unsigned char *buf, int n) {
  for (int k = 0; k < n; k++) buf[k] = (unsigned char)((i * 31 + k * 7) % 251);
  return n;
}

KAFU_DEST("cloud1")
static int fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

KAFU_DEST("edge1")
KAFU_MAY_OFFLOAD("cloud1")
static int count_people(int frame) {
  unsigned char buf[256];
  int n = get_frame(frame, buf, (int)sizeof buf);
  int people = 0;
  for (int k = 0; k < n; k++)
    if (buf[k] > 200) people++;
  return people + fib(frame % 12);
}

KAFU_DEST(edge2_task, "edge2")
static int edge2_task(int x) { return x * 3 + 1; }

static int apply(int (*fn)(int), int v) { return fn(v); }

int main(void) {
  int total = 0;
  for (int i = 0; i < 6; i++) {
    int c = count_people(i);
    total += c;
    printf("count: %d\n", c);
  }
  int (*fp)(int) = edge2_task;
  printf("through pointer: %d\n", apply(fp, total));
  printf("total: %d\n", total);
  return 0;
}
