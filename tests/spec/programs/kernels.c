/* Differential test program: the same output natively and under the
 * interpreter. Exercises integer/float arithmetic, 64-bit math, switch
 * (br_table), function pointers (call_indirect), qsort, memcpy/memset
 * (bulk memory when enabled), setjmp-free control flow, and printf. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rng = 12345;
static uint32_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return rng;
}

static int cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

static double op_add(double a, double b) { return a + b; }
static double op_mul(double a, double b) { return a * b; }
static double op_div(double a, double b) { return a / b; }
static double (*const ops[])(double, double) = {op_add, op_mul, op_div};

static const char *classify(int v) {
  switch (v % 7) {
  case 0: return "zero";
  case 1: return "one";
  case 2: return "two";
  case 3: return "three";
  case 4: return "four";
  case 5: return "five";
  default: return "six";
  }
}

static uint64_t fnv1a(const uint8_t *p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

#define N 64
static double a[N][N], b[N][N], c[N][N];

int main(void) {
  /* Sorting. */
  int *v = malloc(1000 * sizeof *v);
  for (int i = 0; i < 1000; i++) v[i] = (int)(next() % 100000) - 50000;
  qsort(v, 1000, sizeof *v, cmp_int);
  printf("sorted: %d %d %d\n", v[0], v[500], v[999]);
  /* Matrix multiply. */
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) {
      a[i][j] = (double)((i * 7 + j * 3) % 11) / 3.0;
      b[i][j] = (double)((i * 5 + j) % 13) / 7.0;
    }
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) {
      double s = 0;
      for (int k = 0; k < N; k++) s += a[i][k] * b[k][j];
      c[i][j] = s;
    }
  printf("gemm: %.6f %.6f %.6e\n", c[0][0], c[N / 2][N / 3], c[N - 1][N - 1]);
  /* Float functions. */
  double acc = 0;
  for (int i = 1; i < 200; i++) acc += sqrt((double)i) * sin(i * 0.1) + floor(i / 3.5) - fabs(cos(i));
  printf("math: %.9g %.3f %g\n", acc, ceil(-2.5), fmin(3.0, -0.0));
  float f = 1.0f;
  for (int i = 0; i < 30; i++) f = f * 1.37f - (float)i / 9.0f;
  printf("float: %.7g %d\n", (double)f, (int)f);
  /* 64-bit integers. */
  uint64_t x = 0x123456789abcdef0ull;
  int64_t y = -987654321012345ll;
  for (int i = 0; i < 50; i++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    y = y / 3 + (int64_t)(x >> 40) - (y % 1000);
  }
  printf("i64: %llu %lld %d %d\n", (unsigned long long)x, (long long)y, __builtin_popcountll(x),
         __builtin_clzll(x | 1));
  /* Function pointers and switch. */
  double r = 1.5;
  for (int i = 0; i < 30; i++) r = ops[i % 3](r, 1.25 + i);
  printf("ops: %.10g %s %s %s\n", r, classify(10), classify(13), classify(700));
  /* Bulk memory via libc. */
  uint8_t *buf = malloc(4096);
  memset(buf, 0xab, 4096);
  for (int i = 0; i < 4096; i += 7) buf[i] = (uint8_t)i;
  memmove(buf + 100, buf, 2000);
  memcpy(buf + 3000, buf + 10, 500);
  printf("hash: %016llx\n", (unsigned long long)fnv1a(buf, 4096));
  /* Conversions. */
  printf("conv: %d %u %lld %.3f %d\n", (int)-3.99, (unsigned)3.99e9, (long long)-1e15, (float)(1 << 24) + 1.0f,
         (int)(signed char)200);
  free(buf);
  free(v);
  return 0;
}
