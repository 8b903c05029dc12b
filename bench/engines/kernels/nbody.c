/* N-body simulation (the benchmarks-game kernel): double arithmetic and sqrt. */
#include <math.h>
#include <stdio.h>
#define NB 5
static double x[NB], y[NB], z[NB], vx[NB], vy[NB], vz[NB], m[NB];
int main(void) {
  for (int i = 0; i < NB; i++) {
    x[i] = i * 1.1; y[i] = i * 0.7 - 1; z[i] = i * 0.3;
    vx[i] = 0.01 * i; vy[i] = -0.02 * i; vz[i] = 0.005 * i; m[i] = 1.0 + i * 0.1;
  }
  for (int s = 0; s < 5000000; s++) {
    for (int i = 0; i < NB; i++)
      for (int j = i + 1; j < NB; j++) {
        double dx = x[i] - x[j], dy = y[i] - y[j], dz = z[i] - z[j];
        double d2 = dx * dx + dy * dy + dz * dz + 1.0;
        double mag = 0.001 / (d2 * sqrt(d2));
        vx[i] -= dx * m[j] * mag; vy[i] -= dy * m[j] * mag; vz[i] -= dz * m[j] * mag;
        vx[j] += dx * m[i] * mag; vy[j] += dy * m[i] * mag; vz[j] += dz * m[i] * mag;
      }
    for (int i = 0; i < NB; i++) { x[i] += 0.001 * vx[i]; y[i] += 0.001 * vy[i]; z[i] += 0.001 * vz[i]; }
  }
  printf("%.9f %.9f\n", x[0], vy[4]);
  return 0;
}
