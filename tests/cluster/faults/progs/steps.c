/* A job for fault tests: main (cloud1) keeps a heap of argv[1] MiB and, for
 * argv[2] steps, sends work to edge1 (KAFU_DEST) that dirties about 1% of the
 * heap's 4 KiB pages and sleeps argv[3] ms there, then prints a checksum on
 * cloud1. Before the first step it prints "start" and sleeps argv[4] ms on
 * cloud1, and after each step argv[5] ms (windows for killing nodes). The output names no node, so it is byte-identical to a native run
 * wherever each step ran. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kafu.h"

static uint8_t *heap;
static size_t heap_len;

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

KAFU_DEST("edge1")
static uint32_t work(int step, long ms) {
  size_t pages = heap_len / 4096, dirty = pages / 100 + 1;
  for (size_t i = 0; i < dirty; i++) {
    size_t page = (i * 7919u + (size_t)step * 104729u) % pages;
    heap[page * 4096 + (size_t)step % 4096] += (uint8_t)(step + 1);
  }
  sleep_ms(ms);
  uint32_t sum = 0;
  for (size_t i = 0; i < heap_len; i += 64) sum = sum * 31u + heap[i];
  return sum;
}

int main(int argc, char **argv) {
  long mib = argc > 1 ? atol(argv[1]) : 1;
  int steps = argc > 2 ? atoi(argv[2]) : 5;
  long ms = argc > 3 ? atol(argv[3]) : 0;
  long pre = argc > 4 ? atol(argv[4]) : 0;
  long between = argc > 5 ? atol(argv[5]) : 0;
  heap_len = (size_t)mib << 20;
  heap = malloc(heap_len);
  if (!heap) return 3;
  for (size_t i = 0; i < heap_len; i++) heap[i] = (uint8_t)(i * 2654435761u >> 13);
  printf("start\n");
  fflush(stdout);
  sleep_ms(pre);
  for (int s = 0; s < steps; s++) {
    uint32_t sum = work(s, ms);
    printf("step %d sum %08x\n", s, (unsigned)sum);
    fflush(stdout);
    sleep_ms(between);
  }
  printf("done\n");
  return 0;
}
