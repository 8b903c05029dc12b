/* Generates the people counter's camera: PGM frames with a known number of
 * people-shaped blobs (a body ellipse and a head disc) on a textured, noisy
 * background, plus the empty background frame and truth.txt with the counts.
 * Deterministic for a given seed. Usage: gen_frames DIR N_FRAMES [SEED] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define W 320
#define H 240

static uint32_t rng_state;
static uint32_t rng(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return rng_state;
}

static void background(uint8_t *img) {
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) img[y * W + x] = (uint8_t)(60 + (x / 8 + y / 6) % 40);
}

static void add_noise(uint8_t *img) {
  for (int i = 0; i < W * H; i++) {
    int v = img[i] + (int)(rng() % 9) - 4;
    img[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
  }
}

static void ellipse(uint8_t *img, int cx, int cy, int rx, int ry, uint8_t shade) {
  for (int y = cy - ry; y <= cy + ry; y++)
    for (int x = cx - rx; x <= cx + rx; x++) {
      if (x < 0 || y < 0 || x >= W || y >= H) continue;
      long dx = x - cx, dy = y - cy;
      if (dx * dx * ry * ry + dy * dy * rx * rx <= (long)rx * rx * ry * ry) img[y * W + x] = shade;
    }
}

static int write_pgm(const char *path, const uint8_t *img) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  fprintf(f, "P5\n%d %d\n255\n", W, H);
  fwrite(img, 1, W * H, f);
  return fclose(f);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: gen_frames DIR N_FRAMES [SEED]\n");
    return 2;
  }
  const char *dir = argv[1];
  int n = atoi(argv[2]);
  rng_state = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 10) : 2024u;
  if (!rng_state) rng_state = 1;
  static uint8_t img[W * H];
  char path[4096];
  background(img);
  snprintf(path, sizeof path, "%s/background.pgm", dir);
  if (write_pgm(path, img)) {
    perror(path);
    return 1;
  }
  snprintf(path, sizeof path, "%s/truth.txt", dir);
  FILE *truth = fopen(path, "w");
  if (!truth) {
    perror(path);
    return 1;
  }
  for (int i = 0; i < n; i++) {
    background(img);
    int people = (int)(rng() % 7);
    int placed = 0, xs[8], ys[8];
    for (int tries = 0; placed < people && tries < 200; tries++) {
      int cx = 20 + (int)(rng() % (W - 40)), cy = 40 + (int)(rng() % (H - 70));
      int clash = 0;
      for (int k = 0; k < placed; k++)
        if (abs(xs[k] - cx) < 40 && abs(ys[k] - cy) < 60) clash = 1;
      if (clash) continue;
      uint8_t shade = (uint8_t)(170 + rng() % 60);
      ellipse(img, cx, cy, 9 + (int)(rng() % 4), 20 + (int)(rng() % 5), shade); /* body */
      ellipse(img, cx, cy - 27, 6, 6, shade);                                  /* head */
      xs[placed] = cx;
      ys[placed] = cy;
      placed++;
    }
    add_noise(img);
    /* a few specks of sensor noise that the size filter must reject */
    for (int s = 0; s < 5; s++) ellipse(img, (int)(rng() % W), (int)(rng() % H), 1, 1, 250);
    snprintf(path, sizeof path, "%s/frame_%03d.pgm", dir, i);
    if (write_pgm(path, img)) {
      perror(path);
      return 1;
    }
    fprintf(truth, "%d\n", placed);
  }
  fclose(truth);
  return 0;
}
