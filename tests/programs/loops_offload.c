/* Long nested loops in a MAY_OFFLOAD region: polls at loop heads, in the
 * annotated function and in what it calls. */
#include <stdint.h>
#include <stdio.h>

#include "kafu.h"

#define N 64

static double a[N][N], b[N][N], c[N][N];

static uint32_t mix(uint32_t h, uint32_t v) {
  h ^= v;
  h *= 16777619u;
  return h;
}

static void matmul(void) {
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) {
      double s = 0;
      for (int k = 0; k < N; k++) s += a[i][k] * b[k][j];
      c[i][j] = s;
    }
}

static int sieve(int limit) {
  static unsigned char composite[20000];
  int count = 0;
  for (int i = 2; i < limit; i++) {
    if (composite[i]) continue;
    count++;
    for (int j = i * 2; j < limit; j += i) composite[j] = 1;
  }
  return count;
}

KAFU_MAY_OFFLOAD("cloud1")
static uint32_t heavy(int rounds) {
  uint32_t h = 2166136261u;
  for (int r = 0; r < rounds; r++) {
    for (int i = 0; i < N; i++)
      for (int j = 0; j < N; j++) {
        a[i][j] = (double)((i * 7 + j * 3 + r) % 17) / 4.0;
        b[i][j] = (double)((i * 5 + j * 11 + r) % 13) / 8.0;
      }
    matmul();
    for (int i = 0; i < N; i++) h = mix(h, (uint32_t)(c[i][(i * 3) % N] * 64.0));
  }
  return h ^ (uint32_t)sieve(19000);
}

int main(void) {
  for (int step = 1; step <= 3; step++) printf("step %d: %08x\n", step, heavy(step * 2));
  return 0;
}
