/* bench/checkpoint through the runtime: runs heap_app.wasm (a snapified
 * program that fills a heap of H MiB, then reaches a migration point `reps`
 * times) with kafu_job_*, and at every point times
 *   capture  policy decision → kafu_job_run returns: Asyncify unwind, globals
 *            and WASI save, snapshot encode (into the kept result buffer)
 *   cold     kafu_job_new + kafu_job_restore: decode into a fresh instance
 *   warm     kafu_job_restore_with into the spent job (memory already touched)
 * Odd reps encode with zstd (through snapshot_opts_for), even reps without.
 * The chain continues alternately in the cold and the warm instance, and the
 * program's final line must equal an uninterrupted run's.
 * usage: bench_ckpt_runtime APP.wasm [--sizes 1,16,64,256] [--engines interp,aot]
 *                           [--reps N]   (N per compression mode, default 3) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/engine.h"
#include "runtime/runtime.h"
#include "util/file.h"

#define MAX_REPS 60
#define OUT_MAX 512

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* What the policy and the snapshot hook share with the driver. */
typedef struct bench_state {
  double t_point;    /* when the policy asked to migrate */
  bool migrate;      /* false for the uninterrupted reference run */
  bool compress;     /* this capture's compression */
  char out[OUT_MAX]; /* the program's stdout */
  size_t out_len;
} bench_state;

static kafu_decision bench_policy(void *ud, const kafu_point *pt) {
  bench_state *st = ud;
  kafu_decision d = {KAFU_STAY, ""};
  if (st->migrate && pt->kind == KAFU_POINT_ENTER) {
    d.action = KAFU_MIGRATE;
    snprintf(d.dst, sizeof d.dst, "%s", pt->here);
    st->t_point = now_ms();
  }
  return d;
}

static void bench_opts_for(void *ud, const char *dst, kafu_snapshot_opts *opts) {
  (void)dst;
  opts->compress = ((bench_state *)ud)->compress;
}

static int bench_output(void *ud, int fd, const uint8_t *data, size_t len) {
  bench_state *st = ud;
  if (fd != 1) return 0;
  if (len > OUT_MAX - 1 - st->out_len) len = OUT_MAX - 1 - st->out_len;
  memcpy(st->out + st->out_len, data, len);
  st->out_len += len;
  st->out[st->out_len] = 0;
  return 0;
}

typedef struct run_spec {
  const kafu_program *prog;
  const char *argv[3];
  bench_state *st;
} run_spec;

static kafu_job_config job_config(run_spec *rs) {
  kafu_job_config cfg = {
      .program = rs->prog,
      .node = "bench",
      .wasi = {.argc = 3,
               .argv = rs->argv,
               .output = bench_output,
               .output_ud = rs->st,
               .stdin_fd = -1},
      .policy = bench_policy,
      .policy_ud = rs->st,
      .snapshot_opts_for = bench_opts_for,
      .snapshot_ud = rs->st,
  };
  return cfg;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Per compression mode: timings of every rep, snapshot sizes. */
typedef struct mode_stats {
  double capture[MAX_REPS], cold[MAX_REPS], warm[MAX_REPS];
  int n;
  double first_capture;
  size_t snap_bytes;
  uint32_t mem_bytes;
} mode_stats;

/* One chain: fill, then 2*reps checkpoints alternating plain and zstd. */
static kafu_err run_chain(run_spec *rs, int reps, mode_stats modes[2], kafu_error *err) {
  kafu_job *job = NULL, *fresh = NULL;
  kafu_job_result res;
  memset(&res, 0, sizeof res);
  kafu_job_config cfg = job_config(rs);
  kafu_err rc = kafu_job_new(&cfg, &job, err);
  for (int i = 0; !rc; i++) {
    rs->st->compress = i % 2;
    rc = kafu_job_run(job, &res, err);
    double t_end = now_ms();
    if (rc || res.outcome == KAFU_JOB_EXITED) break;
    mode_stats *m = &modes[i % 2];
    double capture = t_end - rs->st->t_point;
    if (m->n == 0) m->first_capture = capture; /* into a fresh result buffer */
    m->snap_bytes = res.snapshot.len;
    m->mem_bytes = res.mem_bytes;

    double t0 = now_ms();
    rc = kafu_job_new(&cfg, &fresh, err);
    if (!rc) rc = kafu_job_restore(fresh, res.snapshot.data, res.snapshot.len, err);
    double t1 = now_ms();
    if (!rc) rc = kafu_job_restore_with(job, res.snapshot.data, res.snapshot.len, NULL, err);
    double t2 = now_ms();
    if (rc) break;
    m->capture[m->n] = capture;
    m->cold[m->n] = t1 - t0;
    m->warm[m->n] = t2 - t1;
    m->n++;
    res.snapshot.len = 0;
    /* continue alternately in the cold-restored and the warm-restored job */
    if ((i / 2) % 2 == 0) {
      kafu_job_free(job);
      job = fresh;
    } else {
      kafu_job_free(fresh);
    }
    fresh = NULL;
  }
  kafu_buf_free(&res.snapshot);
  kafu_job_free(job);
  kafu_job_free(fresh);
  return rc;
}

static int parse_list(const char *s, char items[][16], int max) {
  int n = 0;
  while (*s && n < max) {
    size_t len = strcspn(s, ",");
    snprintf(items[n++], 16, "%.*s", (int)len, s);
    s += len + (s[len] == ',');
  }
  return n;
}

int main(int argc, char **argv) {
  kafu_runtime_keep_memory_warm(); /* as kafu serve and kafu exec do */
  if (argc < 2) {
    fprintf(stderr, "usage: bench_ckpt_runtime APP.wasm [--sizes 1,16,64,256] "
                    "[--engines interp,aot] [--reps N]\n");
    return 2;
  }
  char sizes[8][16], engines[2][16];
  int n_sizes = parse_list("1,16,64,256", sizes, 8),
      n_engines = parse_list("interp,aot", engines, 2);
  int reps = 3;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--sizes"))
      n_sizes = parse_list(argv[i + 1], sizes, 8);
    else if (!strcmp(argv[i], "--engines"))
      n_engines = parse_list(argv[i + 1], engines, 2);
    else if (!strcmp(argv[i], "--reps"))
      reps = atoi(argv[i + 1]);
    else {
      fprintf(stderr, "bench_ckpt_runtime: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (reps < 1 || 2 * (reps + 1) > MAX_REPS) reps = 3;
  kafu_error err = {0};
  uint8_t *wasm = NULL;
  size_t wasm_len = 0;
  if (kafu_file_read(argv[1], &wasm, &wasm_len, &err)) {
    fprintf(stderr, "bench_ckpt_runtime: %s\n", err.msg);
    return 2;
  }
  kafu_engine_options eopts = {.quiet = 1};
  kafu_engine_set_options(&eopts);

  printf("| engine | heap | memory | zstd | size | capture ms (first) | capture ms | "
         "restore cold ms | restore warm ms | capture MB/s | restore cold MB/s | "
         "restore warm MB/s | end-to-end cold MB/s | end-to-end warm MB/s |\n");
  printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  int status = 0;
  for (int e = 0; e < n_engines; e++) {
    const kafu_engine_ops *ops = kafu_engine_find(engines[e]);
    kafu_program *prog = NULL;
    if (!ops || kafu_program_load(wasm, wasm_len, argv[1], ops, &prog, &err)) {
      fprintf(stderr, "bench_ckpt_runtime: engine %s: %s\n", engines[e],
              ops ? err.msg : "not built");
      status = 1;
      continue;
    }
    for (int s = 0; s < n_sizes; s++) {
      char reps_arg[16];
      snprintf(reps_arg, sizeof reps_arg, "%d", 2 * (reps + 1));
      bench_state ref = {.migrate = false}, st = {.migrate = true};
      run_spec rs = {prog, {"heap_app", sizes[s], reps_arg}, &ref};
      /* the uninterrupted run */
      kafu_job *job = NULL;
      kafu_job_result res;
      memset(&res, 0, sizeof res);
      kafu_job_config cfg = job_config(&rs);
      if (kafu_job_new(&cfg, &job, &err) || kafu_job_run(job, &res, &err)) {
        fprintf(stderr, "bench_ckpt_runtime: reference run: %s\n", err.msg);
        return 1;
      }
      kafu_job_free(job);
      mode_stats modes[2];
      memset(modes, 0, sizeof modes);
      rs.st = &st;
      if (run_chain(&rs, reps, modes, &err)) {
        fprintf(stderr, "bench_ckpt_runtime: %s %s MiB: %s\n", engines[e], sizes[s], err.msg);
        return 1;
      }
      if (strcmp(st.out, ref.out) || !ref.out_len) {
        fprintf(stderr,
                "bench_ckpt_runtime: %s %s MiB: output differs\n  uninterrupted: %s  "
                "checkpointed:  %s",
                engines[e], sizes[s], ref.out, st.out);
        status = 1;
      }
      for (int z = 0; z < 2; z++) {
        mode_stats *m = &modes[z];
        /* drop rep 0 (its capture went into a fresh buffer: reported apart) */
        int n = m->n - 1;
        double cap = median(m->capture + 1, n), cold = median(m->cold + 1, n),
               warm = median(m->warm + 1, n);
        double mb = m->mem_bytes / 1048576.0;
        printf("| %s | %s MiB | %.0f MiB | %s | %.1f%% | %.1f | %.1f | %.1f | %.1f | %.0f | %.0f | "
               "%.0f | %.0f | %.0f |\n",
               engines[e], sizes[s], mb, z ? "yes" : "no",
               100.0 * m->snap_bytes / (m->mem_bytes ? m->mem_bytes : 1), m->first_capture, cap,
               cold, warm, mb / cap * 1e3, mb / cold * 1e3, mb / warm * 1e3,
               mb / (cap + cold) * 1e3, mb / (cap + warm) * 1e3);
      }
      fflush(stdout);
    }
    kafu_program_free(prog);
  }
  free(wasm);
  return status;
}
