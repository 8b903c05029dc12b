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

static int zstd_threads; /* --threads */
static int zstd_level;   /* --level */

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

/* CPU time of the process: on a shared, overloaded machine it shows what
 * the work costs when the scheduler is taken out (zstd workers included). */
static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
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
      for (size_t i = 0; i < PAGE; i += 4, v += (uint32_t)(next_rand() & 7))
        memcpy(p + i, &v, 4);
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
  double enc_s, dec_s, cpu_s; /* best wall times; best CPU time of encode + decode */
  size_t encoded;
} result;

/* Buffers a runtime keeps between migrations: the output buffer and the
 * memory it decodes into (the instance's memory). */
typedef struct kept {
  kafu_buf out;
  uint8_t *memory;
  size_t memory_cap;
} kept;

static uint8_t *kept_memory(void *ud, uint32_t mem_pages, kafu_error *err) {
  kept *k = ud;
  size_t need = (size_t)mem_pages * KAFU_SNAPSHOT_WASM_PAGE;
  if (need > k->memory_cap) {
    kafu_fail(err, KAFU_E_NOMEM, "bench: memory too small");
    return NULL;
  }
  return k->memory;
}

/* One encode + decode + check. With k NULL the API allocates everything
 * fresh (and a delta decode hashes the baseline); with k the buffers are
 * reused and the baseline hash is the one kept with the baseline. */
static int measure(const kafu_snapshot *s, const kafu_snapshot_opts *opts, kept *k, int reps,
                   result *r) {
  r->enc_s = r->dec_s = r->cpu_s = 1e30;
  size_t mem_len = (size_t)s->mem_pages * KAFU_SNAPSHOT_WASM_PAGE;
  for (int rep = 0; rep < reps; rep++) {
    kafu_buf fresh = {0};
    kafu_buf *out = k ? &k->out : &fresh;
    out->len = 0;
    kafu_error err;
    double c0 = cpu_now();
    double t0 = now();
    if (kafu_snapshot_encode(s, opts, out, &err)) {
      fprintf(stderr, "encode: %s\n", err.msg);
      return 1;
    }
    double t1 = now();
    kafu_snapshot got;
    kafu_snapshot_decode_opts dopts = {.expected_sha256 = s->module_sha256,
                                       .baseline = opts->baseline,
                                       .baseline_len = opts->baseline_len};
    if (k) {
      dopts.memory_for = kept_memory;
      dopts.memory_ud = k;
      if (opts->baseline) dopts.baseline_sha256 = opts->baseline_hash;
    }
    if (kafu_snapshot_decode_ex(out->data, out->len, &dopts, &got, &err)) {
      fprintf(stderr, "decode: %s\n", err.msg);
      return 1;
    }
    double t2 = now();
    double c2 = cpu_now();
    if (memcmp(k ? k->memory : got.memory, s->memory, mem_len)) {
      fprintf(stderr, "decode: memory differs\n");
      return 1;
    }
    kafu_snapshot_free(&got);
    r->encoded = out->len;
    kafu_buf_free(&fresh);
    if (t1 - t0 < r->enc_s) r->enc_s = t1 - t0;
    if (t2 - t1 < r->dec_s) r->dec_s = t2 - t1;
    if (c2 - c0 < r->cpu_s) r->cpu_s = c2 - c0;
  }
  return 0;
}

static void print_row(size_t heap_mb, const char *mode, const result *r) {
  double bytes = (double)heap_mb * MB;
  printf("| %zu MB | %s | %.0f | %.0f | %.0f | %.2f | %.0f | %.1f%% |\n", heap_mb, mode,
         bytes / r->enc_s / 1e6, bytes / r->dec_s / 1e6, bytes / (r->enc_s + r->dec_s) / 1e6,
         (r->enc_s + r->dec_s) * 1e3, bytes / r->cpu_s / 1e6, 100.0 * (double)r->encoded / bytes);
}

static int run_sizes(const size_t *sizes, size_t n_sizes, int reps, bool reuse) {
  printf("| heap | mode | encode MB/s | decode MB/s | end-to-end MB/s | enc+dec ms | end-to-end "
         "MB/s by CPU time | size |\n");
  printf("|---|---|---|---|---|---|---|---|\n");
  for (size_t i = 0; i < n_sizes; i++) {
    size_t len = sizes[i] * MB;
    rng = 0x243f6a8885a308d3ull ^ len; /* the same heap in every table */
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
    kafu_snapshot_opts full = {0};
    kafu_snapshot_opts full_z = {.compress = true, .level = zstd_level, .threads = zstd_threads};
    kafu_snapshot_opts delta = {.baseline = base, .baseline_len = len, .baseline_seq = 1};
    kafu_sha256(base, len, delta.baseline_hash); /* the runtime keeps it with the baseline */
    kafu_snapshot_opts delta_z = delta;
    delta_z.compress = true;
    delta_z.level = zstd_level;
    delta_z.threads = zstd_threads;
    struct {
      const char *name;
      kafu_snapshot_opts *opts;
    } modes[] = {
        {"full", &full}, {"full+zstd", &full_z}, {"delta 1%", &delta}, {"delta 1%+zstd", &delta_z}};
    kept k = {.memory = malloc(len), .memory_cap = len};
    if (!k.memory) return 1;
    memset(k.memory, 0xcc, len);
    int n_reps = len >= 256u * MB ? (reps < 3 ? reps : 3) : reps;
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
      result r;
      if (measure(&s, modes[m].opts, reuse ? &k : NULL, n_reps, &r)) return 1;
      print_row(sizes[i], modes[m].name, &r);
      fflush(stdout);
    }
    kafu_buf_free(&k.out);
    free(k.memory);
    free(base);
    free(mem);
  }
  return 0;
}

/* Full+zstd at several levels on one heap, to pick the default level. */
static int run_levels(size_t heap_mb, int reps) {
  static const int levels[] = {-10, -5, -3, -1, 1, 2, 3, 6};
  size_t len = heap_mb * MB;
  rng = 0x243f6a8885a308d3ull ^ len;
  uint8_t *mem = malloc(len);
  if (!mem) return 1;
  fill_heap(mem, len);
  kafu_snapshot s;
  memset(&s, 0, sizeof s);
  s.memory = mem;
  s.mem_pages = (uint32_t)(len / KAFU_SNAPSHOT_WASM_PAGE);
  kept k = {.memory = malloc(len), .memory_cap = len};
  if (!k.memory) return 1;
  memset(k.memory, 0xcc, len);
  printf("Full+zstd by level, reused buffers.\n\n");
  printf("| heap | zstd level | encode MB/s | decode MB/s | end-to-end MB/s | enc+dec ms | "
         "end-to-end MB/s by CPU time | size |\n");
  printf("|---|---|---|---|---|---|---|---|\n");
  for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
    kafu_snapshot_opts z = {.compress = true, .level = levels[i], .threads = zstd_threads};
    result r;
    if (measure(&s, &z, &k, reps, &r)) return 1;
    char name[32];
    snprintf(name, sizeof name, "%d", levels[i]);
    print_row(heap_mb, name, &r);
    fflush(stdout);
  }
  kafu_buf_free(&k.out);
  free(k.memory);
  free(mem);
  return 0;
}

int main(int argc, char **argv) {
  size_t sizes[8] = {1, 16, 64, 256};
  size_t n_sizes = 4;
  int reps = 5;
  bool levels = false, fresh = true, reused = true;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
      reps = atoi(argv[++i]);
    } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
      zstd_threads = atoi(argv[++i]);
    } else if (!strcmp(argv[i], "--level") && i + 1 < argc) {
      zstd_level = atoi(argv[++i]);
    } else if (!strcmp(argv[i], "--fresh")) {
      reused = false;
    } else if (!strcmp(argv[i], "--reused")) {
      fresh = false;
    } else if (!strcmp(argv[i], "--levels")) {
      levels = true;
    } else if (!strcmp(argv[i], "--sizes") && i + 1 < argc) {
      n_sizes = 0;
      for (char *tok = strtok(argv[++i], ","); tok && n_sizes < 8; tok = strtok(NULL, ","))
        sizes[n_sizes++] = (size_t)strtoul(tok, NULL, 10);
    } else {
      fprintf(
          stderr,
          "usage: bench_checkpoint [--sizes 1,16,64,256] [--reps N] [--fresh|--reused] [--levels]\n"
          "                       [--level L] [--threads N]\n");
      return 2;
    }
  }
  if (reps < 1) reps = 1;
  printf("Throughput = heap size / time (best of %d; 3 at 256 MB). size = encoded / heap.\n"
         "zstd level %d (0 = default %d), %d worker threads.\n\n",
         reps, zstd_level, KAFU_SNAPSHOT_DEFAULT_LEVEL, zstd_threads);
  if (levels) return run_levels(64, reps);
  if (fresh) {
    printf(
        "Fresh buffers: kafu_snapshot_encode into a new kafu_buf, kafu_snapshot_decode into new\n"
        "memory; a delta decode hashes the baseline (SHA-256).\n\n");
    if (run_sizes(sizes, n_sizes, reps, false)) return 1;
    printf("\n");
  }
  if (reused) {
    printf("Reused buffers (what a runtime that keeps them pays): encode into a kept kafu_buf,\n"
           "kafu_snapshot_decode_ex into kept memory with the baseline hash kept alongside.\n\n");
    if (run_sizes(sizes, n_sizes, reps, true)) return 1;
  }
  return 0;
}
