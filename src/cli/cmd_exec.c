/* kafu exec: run a migratable module on this node. With --migrate-every N it
 * performs a full checkpoint → encode → fresh instance → decode → restore at
 * every Nth migration point, which is how migration is tested without a
 * network; --engines alternates engines at each of them. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "runtime/runtime.h"
#include "util/file.h"

#define MAX_ENGINES 4
#define MAX_LIST 64

typedef struct exec_opts {
  const char *wasm_path;
  const char *engines[MAX_ENGINES];
  size_t n_engines;
  uint64_t migrate_every;
  const char *checkpoint_to, *restore_from, *node, *cache_dir;
  const char *args[MAX_LIST];
  int n_args;
  const char *envs[MAX_LIST];
  int n_envs;
  kafu_wasi_preopen dirs[MAX_LIST];
  size_t n_dirs;
  int quiet, stats, warm;
  uint32_t countdown;
} exec_opts;

/* --warm: two instances take turns, as two nodes do. Each capture is encoded
 * against the page-hash table of the image the other instance holds (the
 * one it departed with) and applied there in place. */
typedef struct warm_state {
  kafu_job *slot[2];
  kafu_page_table table[2];         /* of the image in slot[i]'s memory */
  uint64_t seq[2];                  /* that image's seq */
  int cur;                          /* the slot running now */
  uint8_t base_id[KAFU_SHA256_LEN]; /* id of the baseline of the last delta */
} warm_state;

/* snapshot_opts_for of --warm jobs. */
static void warm_opts_for(void *ud, const char *dst, kafu_snapshot_opts *opts) {
  (void)dst;
  warm_state *w = ud;
  int other = 1 - w->cur;
  opts->table_out = &w->table[w->cur];
  if (!w->slot[other]) return;
  opts->baseline_table = &w->table[other];
  opts->baseline_seq = w->seq[other];
  kafu_page_table_id(&w->table[other], w->base_id);
  memcpy(opts->baseline_hash, w->base_id, KAFU_SHA256_LEN);
}

typedef struct exec_state {
  uint64_t migrate_every;
  uint64_t n_forced;
} exec_state;

static void usage(FILE *out) {
  fprintf(out,
          "usage: kafu exec app.wasm [args...] [options] [-- program args...]\n"
          "\n"
          "Runs a module built with kafu cc (or kafu snapify) on this node. Annotated\n"
          "functions run here too; kafu_node() reports the node they name.\n"
          "\n"
          "options:\n"
          "  --engine interp|aot      engine to run on (default aot)\n"
          "  --engines E1,E2          alternate engines at every forced migration\n"
          "  --migrate-every N        checkpoint, serialize, restore into a fresh\n"
          "                           instance at every Nth migration point\n"
          "  --warm                   with --migrate-every: two instances take turns, as\n"
          "                           two nodes do; each restore is a delta applied in\n"
          "                           place into the other instance's kept memory\n"
          "  --checkpoint-to FILE     write the snapshot of the first forced migration\n"
          "                           (point N of --migrate-every, default 1) to FILE and stop\n"
          "  --restore FILE           continue a program from a snapshot file\n"
          "  --dir HOST[:GUEST]       preopen a host directory (guest name defaults to HOST)\n"
          "  --env KEY=VALUE          set an environment variable for the program\n"
          "  --node NAME              the node name to start as (default local)\n"
          "  --poll-countdown N       loop heads between polls reaching the host (default %u)\n"
          "  --cache-dir DIR          where the aot engine caches compiled modules\n"
          "  --stats                  print migration statistics on stderr at exit\n"
          "  --quiet                  no progress output\n"
          "  -h, --help               this help\n",
          KAFU_POLL_COUNTDOWN_DEFAULT);
}

static int parse_u64(const char *s, uint64_t *out) {
  char *end = NULL;
  unsigned long long v = strtoull(s, &end, 10);
  if (!*s || *end || s[0] == '-') return -1;
  *out = v;
  return 0;
}

static int parse(int argc, char **argv, exec_opts *o) {
  enum {
    O_ENGINE = 256,
    O_ENGINES,
    O_EVERY,
    O_CKPT,
    O_RESTORE,
    O_DIR,
    O_ENV,
    O_NODE,
    O_CACHE,
    O_QUIET,
    O_STATS,
    O_COUNTDOWN,
    O_WARM
  };
  static const struct option longopts[] = {
      {"engine", required_argument, 0, O_ENGINE},
      {"engines", required_argument, 0, O_ENGINES},
      {"migrate-every", required_argument, 0, O_EVERY},
      {"checkpoint-to", required_argument, 0, O_CKPT},
      {"restore", required_argument, 0, O_RESTORE},
      {"dir", required_argument, 0, O_DIR},
      {"env", required_argument, 0, O_ENV},
      {"node", required_argument, 0, O_NODE},
      {"cache-dir", required_argument, 0, O_CACHE},
      {"poll-countdown", required_argument, 0, O_COUNTDOWN},
      {"quiet", no_argument, 0, O_QUIET},
      {"stats", no_argument, 0, O_STATS},
      {"warm", no_argument, 0, O_WARM},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0},
  };
  static char engines_buf[256];
  uint64_t v;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (c) {
    case O_ENGINE:
      o->engines[0] = optarg;
      o->n_engines = 1;
      break;
    case O_ENGINES: {
      snprintf(engines_buf, sizeof engines_buf, "%s", optarg);
      o->n_engines = 0;
      for (char *tok = strtok(engines_buf, ","); tok; tok = strtok(NULL, ",")) {
        if (o->n_engines == MAX_ENGINES) return kafu_cli_usage_error("exec", "too many engines");
        o->engines[o->n_engines++] = tok;
      }
      if (!o->n_engines) return kafu_cli_usage_error("exec", "--engines needs a list");
      break;
    }
    case O_EVERY:
      if (parse_u64(optarg, &v) || v == 0)
        return kafu_cli_usage_error("exec", "--migrate-every needs a positive integer, got '%s'",
                                    optarg);
      o->migrate_every = v;
      break;
    case O_COUNTDOWN:
      if (parse_u64(optarg, &v) || v == 0 || v > 0x7fffffff)
        return kafu_cli_usage_error("exec", "--poll-countdown needs a positive integer, got '%s'",
                                    optarg);
      o->countdown = (uint32_t)v;
      break;
    case O_CKPT: o->checkpoint_to = optarg; break;
    case O_RESTORE: o->restore_from = optarg; break;
    case O_NODE: o->node = optarg; break;
    case O_CACHE: o->cache_dir = optarg; break;
    case O_QUIET: o->quiet = 1; break;
    case O_STATS: o->stats = 1; break;
    case O_WARM: o->warm = 1; break;
    case O_DIR: {
      if (o->n_dirs == MAX_LIST) return kafu_cli_usage_error("exec", "too many --dir");
      char *colon = strchr(optarg, ':');
      kafu_wasi_preopen *d = &o->dirs[o->n_dirs++];
      d->host_path = optarg;
      d->guest_path = optarg;
      if (colon) {
        *colon = '\0';
        d->guest_path = colon + 1;
      }
      if (!*d->host_path || !*d->guest_path)
        return kafu_cli_usage_error("exec", "--dir needs HOST[:GUEST]");
      break;
    }
    case O_ENV:
      if (!strchr(optarg, '=') || optarg[0] == '=')
        return kafu_cli_usage_error("exec", "--env needs KEY=VALUE, got '%s'", optarg);
      if (o->n_envs == MAX_LIST) return kafu_cli_usage_error("exec", "too many --env");
      o->envs[o->n_envs++] = optarg;
      break;
    case 'h': usage(stdout); return 0;
    case '?':
    default:
      if (optopt)
        return kafu_cli_usage_error("exec", "option '-%c' is unknown or needs a value", optopt);
      return kafu_cli_usage_error("exec", "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind >= argc) return kafu_cli_usage_error("exec", "missing app.wasm");
  o->wasm_path = argv[optind++];
  for (; optind < argc; optind++) {
    if (o->n_args == MAX_LIST - 1) return kafu_cli_usage_error("exec", "too many arguments");
    o->args[o->n_args++] = argv[optind];
  }
  if (!o->n_engines) o->engines[o->n_engines++] = "aot";
  for (size_t i = 0; i < o->n_engines; i++) {
    if (strcmp(o->engines[i], "aot") && strcmp(o->engines[i], "interp"))
      return kafu_cli_usage_error("exec", "unknown engine '%s' (interp or aot)", o->engines[i]);
    if (!kafu_engine_find(o->engines[i])) {
      fprintf(stderr, "kafu exec: engine '%s' is not built into this kafu\n", o->engines[i]);
      return 2;
    }
  }
  if (o->checkpoint_to && !o->migrate_every) o->migrate_every = 1;
  if (o->warm && (!o->migrate_every || o->checkpoint_to || o->restore_from))
    return kafu_cli_usage_error(
        "exec", "--warm needs --migrate-every (and no --checkpoint-to or --restore)");
  return -1; /* parsed; continue */
}

/* Every Nth point is a forced migration (to where the annotation goes, or to
 * this node); other points that cross nodes just rename the node in-process. */
static kafu_decision exec_policy(void *ud, const kafu_point *pt) {
  exec_state *st = ud;
  kafu_decision d = {KAFU_STAY, ""};
  const char *dst = pt->kind == KAFU_POINT_POLL ? NULL : pt->natural_dst;
  if (st->migrate_every && pt->n_points % st->migrate_every == 0) {
    d.action = KAFU_MIGRATE;
    snprintf(d.dst, sizeof d.dst, "%s", dst ? dst : pt->here);
    st->n_forced++;
  } else if (dst) {
    d.action = KAFU_RENAME;
    snprintf(d.dst, sizeof d.dst, "%s", dst);
  }
  return d;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int run(exec_opts *o) {
  kafu_error err = {0};
  int status = 1;
  uint8_t *wasm = NULL, *snap = NULL;
  size_t wasm_len = 0, snap_len = 0;
  kafu_program *progs[MAX_ENGINES] = {0};
  kafu_job *job = NULL;
  kafu_job_result res;
  memset(&res, 0, sizeof res);
  exec_state st = {o->migrate_every, 0};
  warm_state warm;
  memset(&warm, 0, sizeof warm);
  char node[KAFU_NODE_NAME_MAX];
  snprintf(node, sizeof node, "%s", o->node ? o->node : "local");

  kafu_engine_options eopts = {.cache_dir = o->cache_dir, .quiet = o->quiet};
  kafu_engine_set_options(&eopts);

  if (kafu_file_read(o->wasm_path, &wasm, &wasm_len, &err)) goto fail;
  if (o->migrate_every || o->restore_from) {
    /* refuse before an engine spends seconds compiling */
    kafu_meta meta;
    bool found = false;
    memset(&meta, 0, sizeof meta);
    kafu_err rc = kafu_meta_read(wasm, wasm_len, &meta, &found, &err);
    bool snapified = found && (meta.flags & KAFU_META_FLAG_SNAPIFIED);
    kafu_meta_free(&meta);
    if (rc) {
      kafu_error_prefix(&err, o->wasm_path);
      goto fail;
    }
    if (!snapified) {
      kafu_fail(&err, KAFU_E_INPUT,
                "%s: not a migratable module (no snapified kafu section); build it with kafu cc "
                "or run kafu snapify",
                o->wasm_path);
      goto fail;
    }
  }
  if (o->restore_from && kafu_file_read(o->restore_from, &snap, &snap_len, &err)) goto fail;

  const char *argv[MAX_LIST + 1];
  const char *base = strrchr(o->wasm_path, '/');
  argv[0] = base ? base + 1 : o->wasm_path;
  for (int i = 0; i < o->n_args; i++)
    argv[i + 1] = o->args[i];

  size_t engine_idx = 0;
  uint64_t n_migrations = 0;
  double capture_total = 0, restore_total = 0;
  size_t snap_bytes_total = 0;
  for (;;) {
    const kafu_engine_ops *eng = kafu_engine_find(o->engines[engine_idx]);
    if (!progs[engine_idx] &&
        kafu_program_load(wasm, wasm_len, o->wasm_path, eng, &progs[engine_idx], &err))
      goto fail;
    if (!progs[engine_idx]->migratable && (o->migrate_every || snap)) {
      kafu_fail(&err, KAFU_E_INPUT,
                "%s: not a migratable module (no snapified kafu section); build it with kafu cc "
                "or run kafu snapify",
                o->wasm_path);
      goto fail;
    }
    kafu_job_config cfg = {
        .program = progs[engine_idx],
        .node = node,
        .wasi = {.argc = o->n_args + 1,
                 .argv = argv,
                 .envc = o->n_envs,
                 .envp = o->envs,
                 .n_preopens = o->n_dirs,
                 .preopens = o->dirs,
                 .stdin_fd = 0},
        .policy = exec_policy,
        .policy_ud = &st,
        .poll_countdown = o->countdown,
    };
    if (o->warm) {
      cfg.snapshot_opts_for = warm_opts_for;
      cfg.snapshot_ud = &warm;
      job = warm.slot[warm.cur];
    }
    bool fresh = !job;
    if (fresh && kafu_job_new(&cfg, &job, &err)) goto fail;
    if (o->warm) warm.slot[warm.cur] = job;
    if (snap) {
      double t0 = now_ms();
      kafu_job_restore_opts ro = {0};
      if (o->warm) {
        size_t mem_len = 0;
        kafu_job_memory(job, &mem_len);
        ro.table = &warm.table[warm.cur];
        ro.in_place = !fresh && kafu_snapshot_is_delta(snap, snap_len, NULL, NULL);
        ro.baseline_len = mem_len;
        ro.baseline_sha256 = warm.base_id;
      }
      if (kafu_job_restore_with(job, snap, snap_len, &ro, &err)) {
        kafu_error_prefix(&err, o->restore_from ? o->restore_from : "snapshot");
        goto fail;
      }
      restore_total += now_ms() - t0;
      free(snap);
      snap = NULL;
      o->restore_from = NULL;
    }
    if (kafu_job_run(job, &res, &err)) goto fail;
    if (res.outcome == KAFU_JOB_EXITED) {
      status = res.exit_code;
      break;
    }
    /* A forced migration: the instance is spent; the snapshot is all we keep. */
    n_migrations++;
    capture_total += res.capture_ms;
    snap_bytes_total += res.snapshot.len;
    snprintf(node, sizeof node, "%s", res.dst);
    if (o->warm) {
      warm.seq[warm.cur] = res.seq; /* its spent memory holds this image */
      kafu_job_track_settle(job);   /* as a node does when it parks one */
      warm.cur = 1 - warm.cur;
    } else {
      kafu_job_free(job);
    }
    job = NULL;
    if (o->checkpoint_to) {
      if (kafu_file_write(o->checkpoint_to, res.snapshot.data, res.snapshot.len, &err)) goto fail;
      if (!o->quiet)
        fprintf(stderr, "kafu exec: checkpointed at point %llu to %s (%zu bytes)\n",
                (unsigned long long)res.n_points, o->checkpoint_to, res.snapshot.len);
      status = 0;
      break;
    }
    snap = kafu_buf_take(&res.snapshot, &snap_len);
    engine_idx = (engine_idx + 1) % o->n_engines;
  }
  if (o->stats)
    fprintf(stderr,
            "kafu exec: %llu forced migrations, %zu snapshot bytes, capture %.3f ms, "
            "restore %.3f ms (totals)\n",
            (unsigned long long)n_migrations, snap_bytes_total, capture_total, restore_total);
  goto out;
fail:
  status = kafu_cli_report("exec", &err);
out:
  kafu_buf_free(&res.snapshot);
  if (o->warm) {
    job = NULL; /* one of the slots */
    for (int i = 0; i < 2; i++) {
      kafu_job_free(warm.slot[i]);
      kafu_page_table_free(&warm.table[i]);
    }
  }
  kafu_job_free(job);
  for (size_t i = 0; i < MAX_ENGINES; i++)
    kafu_program_free(progs[i]);
  free(wasm);
  free(snap);
  return status;
}

int kafu_cmd_exec(int argc, char **argv) {
  exec_opts o;
  memset(&o, 0, sizeof o);
  int rc = parse(argc, argv, &o);
  if (rc >= 0) return rc;
  kafu_runtime_keep_memory_warm(); /* a daemon's memory policy: see runtime.h */
  return run(&o);
}
