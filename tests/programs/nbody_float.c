/* Floating point: a small n-body simulation, printed with fixed precision. */
#include <math.h>
#include <stdio.h>

#include "kafu.h"

#define BODIES 5

typedef struct {
  double x, y, z, vx, vy, vz, m;
} body;

static body bodies[BODIES] = {
    {0, 0, 0, 0, 0, 0, 39.47},
    {4.84, -1.16, -0.10, 0.606, 2.81, -0.02, 0.037},
    {8.34, 4.12, -0.40, -1.01, 1.82, 0.008, 0.011},
    {12.89, -15.11, -0.22, 1.08, 0.868, -0.01, 0.0017},
    {15.37, -25.91, 0.17, 0.979, 0.594, -0.034, 0.002},
};

static double energy(void) {
  double e = 0;
  for (int i = 0; i < BODIES; i++) {
    body *b = &bodies[i];
    e += 0.5 * b->m * (b->vx * b->vx + b->vy * b->vy + b->vz * b->vz);
    for (int j = i + 1; j < BODIES; j++) {
      double dx = b->x - bodies[j].x, dy = b->y - bodies[j].y, dz = b->z - bodies[j].z;
      e -= b->m * bodies[j].m / sqrt(dx * dx + dy * dy + dz * dz);
    }
  }
  return e;
}

KAFU_MAY_OFFLOAD("cloud1")
static void advance(int steps, double dt) {
  for (int s = 0; s < steps; s++) {
    for (int i = 0; i < BODIES; i++)
      for (int j = i + 1; j < BODIES; j++) {
        double dx = bodies[i].x - bodies[j].x, dy = bodies[i].y - bodies[j].y,
               dz = bodies[i].z - bodies[j].z;
        double d2 = dx * dx + dy * dy + dz * dz;
        double mag = dt / (d2 * sqrt(d2));
        bodies[i].vx -= dx * bodies[j].m * mag;
        bodies[i].vy -= dy * bodies[j].m * mag;
        bodies[i].vz -= dz * bodies[j].m * mag;
        bodies[j].vx += dx * bodies[i].m * mag;
        bodies[j].vy += dy * bodies[i].m * mag;
        bodies[j].vz += dz * bodies[i].m * mag;
      }
    for (int i = 0; i < BODIES; i++) {
      bodies[i].x += dt * bodies[i].vx;
      bodies[i].y += dt * bodies[i].vy;
      bodies[i].z += dt * bodies[i].vz;
    }
  }
}

int main(void) {
  printf("energy before: %.9f\n", energy());
  for (int round = 0; round < 4; round++) {
    advance(500, 0.01);
    printf("round %d: energy %.9f x0 %.6f\n", round, energy(), bodies[1].x);
  }
  return 0;
}
