/* Compute kernels for bench/overhead: each runs one hot kernel function
 * marked with KERNEL_ANNOT (empty, KAFU_DEST or KAFU_MAY_OFFLOAD, chosen at
 * build time) and prints a checksum so the work cannot be optimized away.
 * The CPU time of the kernel calls alone (process start and module load
 * excluded) goes to stderr as "cpu_s NAME TOTAL BEST" (see run()). At scale 1
 * each kernel takes about 1-2 s under the aot engine on the bench machine. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>

#include "kafu.h"

#ifndef KERNEL_ANNOT
#define KERNEL_ANNOT
#endif

#define MM 320
static double A[MM][MM], B[MM][MM], C[MM][MM];

KERNEL_ANNOT
static double matmul(int reps) {
  for (int i = 0; i < MM; i++)
    for (int j = 0; j < MM; j++) {
      A[i][j] = (double)((i * j) % 7) / 7.0;
      B[i][j] = (double)((i + j) % 5) / 5.0;
    }
  for (int r = 0; r < reps; r++)
    for (int i = 0; i < MM; i++)
      for (int k = 0; k < MM; k++) {
        double a = A[i][k];
        for (int j = 0; j < MM; j++) C[i][j] += a * B[k][j];
      }
  double s = 0;
  for (int i = 0; i < MM; i++) s += C[i][i];
  return s;
}

#define ST 512
static float G[ST][ST], H[ST][ST];

KERNEL_ANNOT
static double stencil(int steps) {
  for (int i = 0; i < ST; i++)
    for (int j = 0; j < ST; j++) G[i][j] = (float)((i * 13 + j * 7) % 100);
  for (int t = 0; t < steps; t++) {
    for (int i = 1; i < ST - 1; i++)
      for (int j = 1; j < ST - 1; j++)
        H[i][j] = 0.2f * (G[i][j] + G[i - 1][j] + G[i + 1][j] + G[i][j - 1] + G[i][j + 1]);
    for (int i = 1; i < ST - 1; i++)
      for (int j = 1; j < ST - 1; j++) G[i][j] = H[i][j];
  }
  double s = 0;
  for (int i = 0; i < ST; i++) s += G[i][i];
  return s;
}

static uint32_t rng_state = 12345;
static uint32_t rng(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return rng_state;
}

static void merge_sort(uint32_t *a, uint32_t *tmp, int n) {
  if (n < 2) return;
  int h = n / 2;
  merge_sort(a, tmp, h);
  merge_sort(a + h, tmp, n - h);
  int i = 0, j = h, k = 0;
  while (i < h && j < n) tmp[k++] = a[i] <= a[j] ? a[i++] : a[j++];
  while (i < h) tmp[k++] = a[i++];
  while (j < n) tmp[k++] = a[j++];
  memcpy(a, tmp, (size_t)n * sizeof *a);
}

KERNEL_ANNOT
static double sort(int n) {
  uint32_t *a = malloc((size_t)n * sizeof *a), *t = malloc((size_t)n * sizeof *t);
  for (int i = 0; i < n; i++) a[i] = rng();
  merge_sort(a, t, n);
  double s = 0;
  for (int i = 0; i < n; i += 997) s += a[i] % 1000;
  free(a);
  free(t);
  return s;
}

KERNEL_ANNOT
static double hashing(int mb) {
  static uint8_t buf[1 << 16];
  for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)(i * 131);
  uint64_t h = 1469598103934665603ull;
  for (int r = 0; r < mb * 16; r++)
    for (size_t i = 0; i < sizeof buf; i++) h = (h ^ buf[i]) * 1099511628211ull;
  return (double)(h % 1000003);
}

#define NB 64
static double px[NB], py[NB], pz[NB], vx[NB], vy[NB], vz[NB], m[NB];

KERNEL_ANNOT
static double nbody(int steps) {
  for (int i = 0; i < NB; i++) {
    px[i] = i * 1.5; py[i] = (i % 7) * 2.0; pz[i] = (i % 3) * 0.5;
    vx[i] = vy[i] = vz[i] = 0; m[i] = 1.0 + (i % 5);
  }
  for (int s = 0; s < steps; s++) {
    for (int i = 0; i < NB; i++)
      for (int j = 0; j < NB; j++) {
        if (i == j) continue;
        double dx = px[j] - px[i], dy = py[j] - py[i], dz = pz[j] - pz[i];
        double d2 = dx * dx + dy * dy + dz * dz + 0.01;
        double f = m[j] / (d2 * sqrt(d2));
        vx[i] += dx * f * 0.001; vy[i] += dy * f * 0.001; vz[i] += dz * f * 0.001;
      }
    for (int i = 0; i < NB; i++) { px[i] += vx[i]; py[i] += vy[i]; pz[i] += vz[i]; }
  }
  return px[0] + py[1] + pz[2];
}

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Runs one kernel CALLS times if `which` selects it and reports its CPU time:
 * the sum over the calls and CALLS times the fastest call. On a shared
 * machine the second is the steadier estimate: co-runners only ever add time,
 * and a short call is more likely to find a quiet moment than a long run. */
#define CALLS 10
static double run(const char *which, const char *name, double (*kernel)(int), int arg) {
  if (strcmp(which, name) && strcmp(which, "all")) return 0;
  double r = 0, total = 0, best = 1e30;
  for (int c = 0; c < CALLS; c++) {
    double t0 = cpu_now();
    r += kernel(arg);
    double dt = cpu_now() - t0;
    total += dt;
    if (dt < best) best = dt;
  }
  fprintf(stderr, "cpu_s %s %.6f %.6f\n", name, total, best * CALLS);
  return r;
}

int main(int argc, char **argv) {
  const char *which = argc > 1 ? argv[1] : "all";
  int scale = argc > 2 ? atoi(argv[2]) : 1;
  double r = 0;
  r += run(which, "matmul", matmul, 8 * scale);
  r += run(which, "stencil", stencil, 400 * scale);
  r += run(which, "sort", sort, 2400000 * scale);
  r += run(which, "hashing", hashing, 120 * scale);
  r += run(which, "nbody", nbody, 7500 * scale);
  printf("%s %.3f\n", which, r);
  return 0;
}
