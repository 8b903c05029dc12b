/* The seed's Fig. 1: main runs in the cloud and prints a count per frame;
 * count_people runs on the edge, next to the camera, and may be offloaded to
 * the cloud while its inference runs when the edge is short of CPU.
 * Usage: people_counter [N_FRAMES [INTERVAL_MS]]   (camera preopened at /camera) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafu.h"

#define W 320
#define H 240
#define MIN_AREA 150 /* pixels: smaller blobs are sensor noise */
#define BLUR_PASSES 6

typedef struct image {
  int w, h;
  uint8_t *px;
} image;

static uint8_t background_px[W * H];
static int have_background;

static int read_pgm(const char *path, uint8_t *dst) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  int w = 0, h = 0, maxv = 0;
  int ok = fscanf(f, "P5 %d %d %d", &w, &h, &maxv) == 3 && w == W && h == H && maxv == 255 &&
           fgetc(f) != EOF && fread(dst, 1, W * H, f) == W * H;
  fclose(f);
  return ok ? 0 : -1;
}

/* Runs where the camera is. */
KAFU_DEST("edge1")
image get_image_from_camera(int frame) {
  image img = {W, H, malloc(W * H)};
  char path[64];
  if (!have_background && read_pgm("/camera/background.pgm", background_px) == 0)
    have_background = 1;
  snprintf(path, sizeof path, "/camera/frame_%03d.pgm", frame);
  if (!img.px || read_pgm(path, img.px) != 0) {
    fprintf(stderr, "camera: cannot read %s on %s\n", path, kafu_node());
    exit(1);
  }
  return img;
}

/* Box blur, a few passes: smooths the sensor noise. */
static void blur(uint8_t *px, uint8_t *tmp) {
  for (int pass = 0; pass < BLUR_PASSES; pass++) {
    for (int y = 1; y < H - 1; y++)
      for (int x = 1; x < W - 1; x++) {
        int s = 0;
        for (int dy = -1; dy <= 1; dy++)
          for (int dx = -1; dx <= 1; dx++) s += px[(y + dy) * W + x + dx];
        tmp[y * W + x] = (uint8_t)(s / 9);
      }
    for (int y = 1; y < H - 1; y++) memcpy(px + y * W + 1, tmp + y * W + 1, W - 2);
  }
}

/* Connected components of the foreground mask (4-neighbourhood, explicit
 * stack), counting those of at least MIN_AREA pixels. */
static int count_blobs(uint8_t *mask) {
  static int stack[W * H];
  int blobs = 0;
  for (int start = 0; start < W * H; start++) {
    if (!mask[start]) continue;
    int top = 0, area = 0;
    stack[top++] = start;
    mask[start] = 0;
    while (top) {
      int p = stack[--top], x = p % W, y = p / W;
      area++;
      const int nb[4] = {x > 0 ? p - 1 : -1, x < W - 1 ? p + 1 : -1, y > 0 ? p - W : -1,
                         y < H - 1 ? p + W : -1};
      for (int k = 0; k < 4; k++)
        if (nb[k] >= 0 && mask[nb[k]]) {
          mask[nb[k]] = 0;
          stack[top++] = nb[k];
        }
    }
    if (area >= MIN_AREA) blobs++;
  }
  return blobs;
}

/* Background subtraction, blur, threshold, components, size filter. */
static int inference(image img) {
  static uint8_t diff[W * H], tmp[W * H];
  for (int i = 0; i < W * H; i++) {
    int d = img.px[i] - background_px[i];
    diff[i] = (uint8_t)(d < 0 ? -d : d);
  }
  blur(diff, tmp);
  for (int i = 0; i < W * H; i++) diff[i] = diff[i] > 40;
  return count_blobs(diff);
}

KAFU_DEST("edge1")
KAFU_MAY_OFFLOAD("cloud1")
int count_people(int frame, char *where, size_t where_len) {
  image img = get_image_from_camera(frame);
  char camera_node[32];
  snprintf(camera_node, sizeof camera_node, "%s", kafu_node());
  const char *started = kafu_node();
  char start_node[32];
  snprintf(start_node, sizeof start_node, "%s", started);
  int n = inference(img);
  snprintf(where, where_len, "camera@%s inference@%s%s%s", camera_node, start_node,
           strcmp(start_node, kafu_node()) ? "->" : "", strcmp(start_node, kafu_node()) ? kafu_node() : "");
  free(img.px);
  return n;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

KAFU_DEST("cloud1")
int main(int argc, char **argv) {
  int frames = argc > 1 ? atoi(argv[1]) : 10;
  int interval_ms = argc > 2 ? atoi(argv[2]) : 1000;
  int total = 0;
  for (int i = 0; i < frames; i++) {
    char where[96];
    int n = count_people(i, where, sizeof where);
    total += n;
    printf("frame %03d count: %d   [%s, printed on %s]\n", i, n, where, kafu_node());
    fflush(stdout);
    if (interval_ms > 0 && i + 1 < frames) sleep_ms(interval_ms);
  }
  printf("total: %d people in %d frames\n", total, frames);
  return 0;
}
