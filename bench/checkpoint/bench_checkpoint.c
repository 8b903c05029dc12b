/* Snapshot encode/decode throughput on synthetic heaps that mix zero pages,
 * compressible data and random bytes; prints markdown tables. Throughput is
 * heap bytes per second (not encoded bytes), best of --reps runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "snapshot/snapshot.h"

#define MB (1024u * 1024u)
#define PAGE KAFU_SNAPSHOT_PAGE

static uint64_t rng = 0x243f6a8885a308d3ull;

static uint64_t next_rand(void) { /* xorshift64* */
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return rng * 0x2545f4914f6cdd1dull;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Page mix modelled on a C heap after a while: 40% never touched (zero),
 * 25% arrays of small integers, 15% text, 10% random (compressed or
 * encrypted data), 10% half-used allocator chunks. */
static void fill_heap(uint8_t *mem, size_t len) {
  for (size_t off = 0; off < len; off += PAGE) {
    uint8_t *p = mem + off;
    unsigned kind = (unsigned)(next_rand() % 100);
    if (kind < 40) {
      memset(p, 0, PAGE);
    } else if (kind < 65) {
      uint32_t v = (uint32_t)next_rand() & 0xffff;
      for (size_t i = 0; i < PAGE; i += 4, v += (uint32_t)(next_rand() & 7)) memcpy(p + i, &v, 4);
    } else if (kind < 80) {
      static const char words[] = "the quick brown fox jumps over the lazy dog kafu edge cloud ";
      for (size_t i = 0; i < PAGE; i++)
        p[i] = (uint8_t)words[(i + (next_rand() & 3)) % (sizeof words - 1)];
    } else if (kind < 90) {
      for (size_t i = 0; i < PAGE; i += 8) {
        uint64_t r = next_rand();
        memcpy(p + i, &r, 8);
      }
    } else {
      memset(p, 0, PAGE);
      for (size_t i = 0; i < PAGE / 2; i += 8) {
        uint64_t ptr = 0x10000 + (next_rand() & 0xfffff8);
        memcpy(p + i, &ptr, 8);
      }
    }
  }
}

/* Changes one word in `percent`% of the 4 KiB pages. */
static void dirty_pages(uint8_t *mem, size_t len, unsigned percent) {
  for (size_t off = 0; off < len; off += PAGE)
    if (next_rand() % 100 < percent) mem[off + (next_rand() % PAGE)] ^= 0xa5;
}

typedef struct result {
  double enc_s, dec_s;
  size_t encoded;
} result;

static int measure(const kafu_snapshot *s, const kafu_snapshot_opts *opts, int reps, result *r) {
  r->enc_s = r->dec_s = 1e30;
  for (int rep = 0; rep < reps; rep++) {
    kafu_buf out = {0};
    kafu_error err;
    double t0 = now();
    if (kafu_snapshot_encode(s, opts, &out, &err)) {
      fprintf(stderr, "encode: %s\n", err.msg);
      return 1;
    }
    double t1 = now();
    kafu_snapshot got;
    if (kafu_snapshot_decode(out.data, out.len, s->module_sha256, opts->baseline,
                             opts->baseline_len, &got, &err)) {
      fprintf(stderr, "decode: %s\n", err.msg);
      return 1;
    }
    double t2 = now();
    if (memcmp(got.memory, s->memory, (size_t)s->mem_pages * KAFU_SNAPSHOT_WASM_PAGE)) {
      fprintf(stderr, "decode: memory differs\n");
      return 1;
    }
    kafu_snapshot_free(&got);
    r->encoded = out.len;
    kafu_buf_free(&out);
    if (t1 - t0 < r->enc_s) r->enc_s = t1 - t0;
    if (t2 - t1 < r->dec_s) r->dec_s = t2 - t1;
  }
  return 0;
}

static void print_row(size_t heap_mb, const char *mode, const result *r) {
  double bytes = (double)heap_mb * MB;
  printf("| %zu MB | %s | %.0f | %.0f | %.0f | %.2f | %.1f%% |\n", heap_mb, mode,
         bytes / r->enc_s / 1e6, bytes / r->dec_s / 1e6, bytes / (r->enc_s + r->dec_s) / 1e6,
         (r->enc_s + r->dec_s) * 1e3, 100.0 * (double)r->encoded / bytes);
}

static int run_sizes(const size_t *sizes, size_t n_sizes, int reps) {
  printf("| heap | mode | encode MB/s | decode MB/s | end-to-end MB/s | enc+dec ms | size |\n");
  printf("|---|---|---|---|---|---|---|\n");
  for (size_t i = 0; i < n_sizes; i++) {
    size_t len = sizes[i] * MB;
    uint8_t *base = malloc(len), *mem = malloc(len);
    if (!base || !mem) return 1;
    fill_heap(base, len);
    memcpy(mem, base, len);
    dirty_pages(mem, len, 1);
    kafu_snapshot s;
    memset(&s, 0, sizeof s);
    s.memory = mem;
    s.mem_pages = (uint32_t)(len / KAFU_SNAPSHOT_WASM_PAGE);
    s.seq = 2;
    kafu_snapshot_opts full = {0}, full_z = {.compress = true};
    kafu_snapshot_opts delta = {.baseline = base, .baseline_len = len, .baseline_seq = 1};
    kafu_sha256(base, len, delta.baseline_hash); /* the runtime keeps it with the baseline */
    kafu_snapshot_opts delta_z = delta;
    delta_z.compress = true;
    struct {
      const char *name;
      kafu_snapshot_opts *opts;
    } modes[] = {{"full", &full}, {"full+zstd", &full_z}, {"delta 1%", &delta},
                 {"delta 1%+zstd", &delta_z}};
    int n_reps = len >= 256u * MB ? (reps < 3 ? reps : 3) : reps;
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
      result r;
      if (measure(&s, modes[m].opts, n_reps, &r)) return 1;
      print_row(sizes[i], modes[m].name, &r);
      fflush(stdout);
    }
    free(base);
    free(mem);
  }
  return 0;
}

/* Full+zstd at several levels on one heap, to pick the default level. */
static int run_levels(size_t heap_mb, int reps) {
  static const int levels[] = {-5, -1, 1, 2, 3, 6};
  size_t len = heap_mb * MB;
  uint8_t *mem = malloc(len);
  if (!mem) return 1;
  fill_heap(mem, len);
  kafu_snapshot s;
  memset(&s, 0, sizeof s);
  s.memory = mem;
  s.mem_pages = (uint32_t)(len / KAFU_SNAPSHOT_WASM_PAGE);
  printf("| heap | zstd level | encode MB/s | decode MB/s | end-to-end MB/s | enc+dec ms | size |\n");
  printf("|---|---|---|---|---|---|---|\n");
  for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
    kafu_snapshot_opts z = {.compress = true, .level = levels[i]};
    result r;
    if (measure(&s, &z, reps, &r)) return 1;
    char name[32];
    snprintf(name, sizeof name, "%d", levels[i]);
    print_row(heap_mb, name, &r);
    fflush(stdout);
  }
  free(mem);
  return 0;
}

int main(int argc, char **argv) {
  size_t sizes[8] = {1, 16, 64, 256};
  size_t n_sizes = 4;
  int reps = 5;
  bool levels = false;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
      reps = atoi(argv[++i]);
    } else if (!strcmp(argv[i], "--levels")) {
      levels = true;
    } else if (!strcmp(argv[i], "--sizes") && i + 1 < argc) {
      n_sizes = 0;
      for (char *tok = strtok(argv[++i], ","); tok && n_sizes < 8; tok = strtok(NULL, ","))
        sizes[n_sizes++] = (size_t)strtoul(tok, NULL, 10);
    } else {
      fprintf(stderr, "usage: bench_checkpoint [--sizes 1,16,64,256] [--reps N] [--levels]\n");
      return 2;
    }
  }
  if (reps < 1) reps = 1;
  printf("Throughput = heap size / time (best of %d; 3 at 256 MB). size = encoded / heap.\n\n",
         reps);
  if (levels) return run_levels(64, reps);
  return run_sizes(sizes, n_sizes, reps);
}
