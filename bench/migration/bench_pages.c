/* bench/migration part 2, the memory path of one migration without the
 * daemon: encode (source) → loopback TCP → decode into a fresh buffer
 * (destination), for a heap of H MiB with 1% of its 4 KiB pages dirtied since
 * the baseline. Configurations, all in the same run on the same data:
 *   full        kafu snapshot, every non-zero page
 *   delta       kafu snapshot against the baseline (4 KiB pages; the header
 *               names baseline seq + SHA-256, the receiver compares it with the
 *               hash it stored for that baseline before applying)
 *   kafu-style  64 KiB chunks that differ from the baseline, applied with no
 *               baseline check (the receiver trusts that it holds the right one)
 * each with and without zstd (level 1, as the snapshot module's default).
 * Pause = encode start → memory applied at the receiver (median of N runs).
 * Memory "cold": the receiver decodes into a fresh buffer and the sender
 * encodes into a fresh one, as the daemon does today (a new instance per
 * migration); "warm": both reuse buffers whose pages are already touched and
 * the receiver applies the delta in place onto its baseline (what a runtime
 * that keeps the instance as the baseline would do).
 * usage: bench_pages [MiB...]   (default 1 16 64 256; N=5 via $N) */
#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "snapshot/snapshot.h"
#include "util/hash.h"

#define PAGE 4096u
#define CHUNK 65536u

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* Half the pages random bytes (incompressible), half small repetitive values
 * (compress well), a sixteenth left zero: a heap with some structure. */
static void fill(uint8_t *mem, size_t len) {
  for (size_t p = 0; p < len / PAGE; p++) {
    uint8_t *pg = mem + p * PAGE;
    if (p % 16 == 15) continue;
    if (p % 2)
      for (unsigned i = 0; i < PAGE; i += 8) {
        uint64_t r = next_rand();
        memcpy(pg + i, &r, 8);
      }
    else
      for (unsigned i = 0; i < PAGE; i++) pg[i] = (uint8_t)((i * (p + 3)) % 17);
  }
}

static void dirty(uint8_t *mem, size_t len) {
  size_t pages = len / PAGE, n = pages / 100 ? pages / 100 : 1;
  for (size_t i = 0; i < n; i++) {
    size_t p = next_rand() % pages;
    mem[p * PAGE + next_rand() % PAGE] ^= (uint8_t)(1 + next_rand() % 255);
  }
}

/* ---- one loopback connection, receiver on its own thread ---- */

typedef enum { CFG_FULL, CFG_DELTA, CFG_KAFU_STYLE } cfg_kind;

typedef struct rx {
  int fd;
  cfg_kind kind;
  bool compress;
  const uint8_t *baseline; /* what the receiver holds */
  const uint8_t *baseline_sha;
  size_t len;
  uint8_t *dest; /* cold: fresh per run (a new instance); warm: holds the baseline */
  bool warm;     /* apply in place into dest, read into a reused buffer */
  uint8_t *inbuf;
  size_t incap;
  double done_ms;
  int ok;
} rx;

static int read_all(int fd, void *p, size_t n) {
  uint8_t *b = p;
  while (n) {
    ssize_t r = read(fd, b, n);
    if (r <= 0) return -1;
    b += r;
    n -= (size_t)r;
  }
  return 0;
}

static int write_all(int fd, const void *p, size_t n) {
  const uint8_t *b = p;
  while (n) {
    ssize_t r = write(fd, b, n);
    if (r <= 0) return -1;
    b += r;
    n -= (size_t)r;
  }
  return 0;
}

static uint8_t *rx_memory_for(void *ud, uint32_t mem_pages, kafu_error *err) {
  rx *r = ud;
  (void)err;
  return (size_t)mem_pages * KAFU_SNAPSHOT_WASM_PAGE <= r->len ? r->dest : NULL;
}

static void *rx_thread(void *arg) {
  rx *r = arg;
  uint64_t n = 0;
  r->ok = 0;
  if (read_all(r->fd, &n, 8)) return NULL;
  if (!r->warm || r->incap < n) {
    if (r->warm) free(r->inbuf);
    r->inbuf = malloc(n ? n : 1);
    r->incap = n;
  }
  uint8_t *bytes = r->inbuf;
  if (!bytes || read_all(r->fd, bytes, n)) return NULL;
  if (r->kind == CFG_KAFU_STYLE) {
    uint8_t *raw = bytes;
    size_t raw_len = n;
    if (r->compress) {
      unsigned long long cs = ZSTD_getFrameContentSize(bytes, n);
      raw = malloc(cs ? cs : 1);
      raw_len = ZSTD_decompress(raw, cs, bytes, n);
      if (ZSTD_isError(raw_len)) return NULL;
    }
    if (!r->warm) memcpy(r->dest, r->baseline, r->len); /* no check: trust the baseline */
    for (size_t off = 0; off + 4 + CHUNK <= raw_len; off += 4 + CHUNK) {
      uint32_t idx;
      memcpy(&idx, raw + off, 4);
      if ((size_t)idx * CHUNK + CHUNK <= r->len) memcpy(r->dest + (size_t)idx * CHUNK, raw + off + 4, CHUNK);
    }
    if (raw != bytes) free(raw);
  } else {
    kafu_snapshot s;
    kafu_error err = {0};
    kafu_snapshot_decode_opts o = {.memory_for = rx_memory_for, .memory_ud = r};
    if (r->kind == CFG_DELTA) {
      uint64_t bseq;
      uint8_t want[KAFU_SHA256_LEN];
      /* The receiver's check: the delta names the baseline it holds. */
      if (!kafu_snapshot_is_delta(bytes, n, &bseq, want) ||
          memcmp(want, r->baseline_sha, KAFU_SHA256_LEN)) {
        fprintf(stderr, "baseline mismatch\n");
        return NULL;
      }
      o.baseline = r->warm ? r->dest : r->baseline; /* warm: the delta is applied in place */
      o.baseline_len = r->len;
      o.baseline_sha256 = r->baseline_sha;
    }
    if (kafu_snapshot_decode_ex(bytes, n, &o, &s, &err)) {
      fprintf(stderr, "decode: %s\n", err.msg);
      return NULL;
    }
    kafu_snapshot_free(&s);
  }
  r->done_ms = now_ms();
  r->ok = 1;
  if (!r->warm) {
    free(bytes);
    r->inbuf = NULL;
  }
  return NULL;
}

static void conn_pair(int *a, int *b) {
  int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t sl = sizeof sa;
  if (bind(ls, (struct sockaddr *)&sa, sizeof sa) || listen(ls, 1) ||
      getsockname(ls, (struct sockaddr *)&sa, &sl)) {
    perror("listen");
    exit(1);
  }
  *a = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(*a, (struct sockaddr *)&sa, sizeof sa)) {
    perror("connect");
    exit(1);
  }
  *b = accept(ls, NULL, NULL);
  setsockopt(*a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(*b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  close(ls);
}

/* Kafu-style encoder: u32 chunk index + 64 KiB for each chunk that differs. */
static uint8_t *warm_raw, *warm_z;
static size_t encode_chunks(const uint8_t *mem, const uint8_t *base, size_t len, bool compress,
                            bool warm, uint8_t **out) {
  uint8_t *raw = warm ? warm_raw : malloc(len + len / CHUNK * 4);
  size_t n = 0;
  for (uint32_t i = 0; (size_t)i * CHUNK < len; i++) {
    if (!memcmp(mem + (size_t)i * CHUNK, base + (size_t)i * CHUNK, CHUNK)) continue;
    memcpy(raw + n, &i, 4);
    memcpy(raw + n + 4, mem + (size_t)i * CHUNK, CHUNK);
    n += 4 + CHUNK;
  }
  if (!compress) {
    *out = raw;
    return n;
  }
  size_t cap = ZSTD_compressBound(n);
  uint8_t *z = warm ? warm_z : malloc(cap);
  size_t zn = ZSTD_compress(z, cap, raw, n, 1);
  if (!warm) free(raw);
  *out = z;
  return zn;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  size_t sizes[16] = {1, 16, 64, 256};
  int n_sizes = 4;
  if (argc > 1) {
    n_sizes = 0;
    for (int i = 1; i < argc && n_sizes < 16; i++) sizes[n_sizes++] = (size_t)atol(argv[i]);
  }
  /* A fixed mmap threshold: every big block is fresh mappings (cold pages),
   * not heap memory a previous run already touched (glibc otherwise raises
   * the threshold after the first free and "cold" turns warm). */
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  int runs = getenv("N") ? atoi(getenv("N")) : 5;
  if (runs < 1 || runs > 100) runs = 5;
  static const char *names[] = {"full", "delta 4K+hash", "kafu-style 64K"};
  printf("| heap | config | zstd | memory | wire bytes | pause p50 ms | pause min ms | GB/s (heap/pause) |\n");
  printf("|---|---|---|---|---|---|---|---|\n");
  for (int si = 0; si < n_sizes; si++) {
    size_t len = sizes[si] << 20;
    uint8_t *base = calloc(1, len), *mem = malloc(len), *dest = NULL;
    uint8_t sha[KAFU_SHA256_LEN];
    fill(base, len);
    kafu_sha256(base, len, sha); /* stored when the baseline was kept, not per migration */
    uint8_t *warm_dest = malloc(len);
    kafu_buf warm_out = {0};
    rx warm_rx = {0};
    warm_raw = malloc(len + len / CHUNK * 4);
    warm_z = malloc(ZSTD_compressBound(len + len / CHUNK * 4));
    for (int warm = 0; warm <= 1; warm++)
    for (int kind = CFG_FULL; kind <= CFG_KAFU_STYLE; kind++)
      for (int z = 1; z >= 0; z--) {
        double pause[100];
        size_t wire = 0;
        for (int r = 0; r < runs; r++) {
          memcpy(mem, base, len);
          dirty(mem, len);
          if (warm) {
            dest = warm_dest;
            memcpy(dest, base, len); /* the receiver's baseline, pages already touched */
          } else {
            dest = malloc(len); /* cold, like a fresh instance's memory */
          }
          int sfd, rfd;
          conn_pair(&sfd, &rfd);
          rx recv = {.fd = rfd, .kind = (cfg_kind)kind, .compress = z, .baseline = base,
                     .baseline_sha = sha, .len = len, .dest = dest, .warm = warm,
                     .inbuf = warm_rx.inbuf, .incap = warm_rx.incap};
          pthread_t th;
          pthread_create(&th, NULL, rx_thread, &recv);
          double t0 = now_ms();
          uint8_t *bytes = NULL;
          size_t n = 0;
          kafu_buf out = warm ? warm_out : (kafu_buf){0};
          if (kind == CFG_KAFU_STYLE) {
            n = encode_chunks(mem, base, len, z, warm, &bytes);
          } else {
            kafu_snapshot s = {.job_id = 1, .seq = 2, .memory = mem,
                               .mem_pages = (uint32_t)(len / KAFU_SNAPSHOT_WASM_PAGE)};
            kafu_snapshot_opts o = {.compress = z};
            if (kind == CFG_DELTA) {
              o.baseline = base;
              o.baseline_len = len;
              o.baseline_seq = 1;
              memcpy(o.baseline_hash, sha, KAFU_SHA256_LEN);
            }
            kafu_error err = {0};
            if (kafu_snapshot_encode(&s, &o, &out, &err)) {
              fprintf(stderr, "encode: %s\n", err.msg);
              return 1;
            }
            bytes = out.data;
            n = out.len;
          }
          double t_enc = now_ms();
          uint64_t n64 = n;
          write_all(sfd, &n64, 8);
          write_all(sfd, bytes, n);
          double t_sent = now_ms();
          pthread_join(th, NULL);
          if (getenv("BENCH_DEBUG"))
            fprintf(stderr, "%s z%d: encode %.3f send %.3f receive+apply %.3f ms\n", names[kind], z,
                    t_enc - t0, t_sent - t_enc, recv.done_ms - t_sent);
          if (!recv.ok || memcmp(dest, mem, len)) {
            fprintf(stderr, "%s: receiver memory differs from the source\n", names[kind]);
            return 1;
          }
          pause[r] = recv.done_ms - t0;
          if (warm) warm_rx = recv;
          wire = n + 8;
          if (kind == CFG_KAFU_STYLE && !warm) free(bytes);
          if (warm) {
            out.len = 0;
            warm_out = out;
          }
          else kafu_buf_free(&out);
          close(sfd);
          close(rfd);
          if (!warm) free(dest);
        }
        qsort(pause, (size_t)runs, sizeof pause[0], cmp_double);
        double p50 = pause[runs / 2];
        printf("| %zu MiB | %s | %s | %s | %zu | %.3f | %.3f | %.2f |\n", sizes[si], names[kind],
               z ? "yes" : "no", warm ? "warm" : "cold", wire, p50, pause[0],
               (double)len / 1e6 / p50);
        fflush(stdout);
      }
    free(base);
    free(mem);
    free(warm_dest);
    free(warm_rx.inbuf);
    kafu_buf_free(&warm_out);
    free(warm_raw);
    free(warm_z);
  }
  return 0;
}
