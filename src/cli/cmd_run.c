/* kafu run: start every node of kafu.yaml as a local `kafu serve` process
 * (or attach to running ones), submit the program to the first node, stream
 * its output in program order, print the migration summary, and exit with
 * the program's exit code. Nodes it started are always stopped. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "node/client.h"
#include "node/cluster.h"
#include "node/config.h"
#include "node/policy.h"
#include "node/trace.h"
#include "util/file.h"
#include "util/hash.h"

#define MAX_ARGS 256

typedef struct run_opts {
  const char *config_path, *trace_path;
  int quiet, attach, verbose, chaos, lazy_modules;
  uint64_t chaos_seed;
  unsigned chaos_every;
  unsigned timeout_s;
  const char *args[MAX_ARGS];
  int n_args, has_args;
  const char *envs[MAX_ARGS];
  int n_envs;
} run_opts;

static volatile int g_interrupted;

static void on_signal(int sig) { g_interrupted = sig; }

static void usage(FILE *out) {
  fprintf(out,
          "usage: kafu run kafu.yaml [options] [-- program args...]\n"
          "\n"
          "Starts every node of kafu.yaml as a local `kafu serve` process, runs app.path\n"
          "on the first node, streams its stdout/stderr in program order, and exits with\n"
          "the program's exit code. Node logs go to <state dir>/serve.log.\n"
          "\n"
          "options:\n"
          "  --trace FILE        write Chrome trace-event JSON (one track per node)\n"
          "  --quiet             no summary at the end\n"
          "  --attach            use nodes that are already running (kafu serve)\n"
          "  --chaos SEED        migrate to a pseudo-random node at migration points\n"
          "  --chaos-every N     with --chaos: on average every N points (default 1)\n"
          "  --env KEY=VALUE     set an environment variable for the program\n"
          "  --timeout SEC       give up after SEC seconds (default: none)\n"
          "  --verbose           node logs on stderr instead of their log files\n"
          "  --lazy-modules      send the module to the first node only; the others\n"
          "                      fetch it at their first migration (MODULE_NEED)\n"
          "  -h, --help          this help\n");
}

static int parse(int argc, char **argv, run_opts *o) {
  enum { O_TRACE = 256, O_QUIET, O_ATTACH, O_CHAOS, O_CHAOS_EVERY, O_TIMEOUT, O_VERBOSE, O_ENV,
         O_LAZY };
  static const struct option longopts[] = {
      {"trace", required_argument, 0, O_TRACE},
      {"quiet", no_argument, 0, O_QUIET},
      {"attach", no_argument, 0, O_ATTACH},
      {"chaos", required_argument, 0, O_CHAOS},
      {"chaos-every", required_argument, 0, O_CHAOS_EVERY},
      {"timeout", required_argument, 0, O_TIMEOUT},
      {"verbose", no_argument, 0, O_VERBOSE},
      {"env", required_argument, 0, O_ENV},
      {"lazy-modules", no_argument, 0, O_LAZY},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0},
  };
  int c;
  char *end;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (c) {
    case O_TRACE: o->trace_path = optarg; break;
    case O_QUIET: o->quiet = 1; break;
    case O_ATTACH: o->attach = 1; break;
    case O_VERBOSE: o->verbose = 1; break;
    case O_LAZY: o->lazy_modules = 1; break;
    case O_ENV:
      if (!strchr(optarg, '=') || optarg[0] == '=')
        return kafu_cli_usage_error("run", "--env needs KEY=VALUE, got '%s'", optarg);
      if (o->n_envs == MAX_ARGS) return kafu_cli_usage_error("run", "too many --env");
      o->envs[o->n_envs++] = optarg;
      break;
    case O_CHAOS:
      o->chaos = 1;
      o->chaos_seed = strtoull(optarg, &end, 0);
      if (!*optarg || *end || optarg[0] == '-')
        return kafu_cli_usage_error("run", "--chaos needs an integer seed, got '%s'", optarg);
      break;
    case O_CHAOS_EVERY: {
      unsigned long v = strtoul(optarg, &end, 10);
      if (!*optarg || *end || v == 0 || v > 1000000000ul)
        return kafu_cli_usage_error("run", "--chaos-every needs a positive integer, got '%s'",
                                    optarg);
      o->chaos_every = (unsigned)v;
      break;
    }
    case O_TIMEOUT: {
      unsigned long v = strtoul(optarg, &end, 10);
      if (!*optarg || *end || v == 0 || v > 86400ul)
        return kafu_cli_usage_error("run", "--timeout needs seconds, got '%s'", optarg);
      o->timeout_s = (unsigned)v;
      break;
    }
    case 'h': usage(stdout); return 0;
    default:
      return kafu_cli_usage_error("run", "unknown option or missing value '%s'", argv[optind - 1]);
    }
  }
  if (optind >= argc) return kafu_cli_usage_error("run", "missing kafu.yaml");
  o->config_path = argv[optind++];
  /* Arguments after the config (GNU getopt moved `--` and what follows to
   * the end) replace app.args. */
  for (; optind < argc; optind++) {
    if (o->n_args == MAX_ARGS) return kafu_cli_usage_error("run", "too many program arguments");
    o->args[o->n_args++] = argv[optind];
    o->has_args = 1;
  }
  if (o->chaos_every && !o->chaos)
    return kafu_cli_usage_error("run", "--chaos-every needs --chaos SEED");
  return -1;
}

typedef struct run_result {
  int exit_code;
  kafu_node_trace trace;
} run_result;

/* kafu_node_client_stream hooks: the trace, and the nodes this run started. */
typedef struct stream_ctx {
  kafu_node_cluster *cl; /* NULL with --attach */
  const kafu_config *cfg;
  run_result *r;
} stream_ctx;

static kafu_err check_nodes(void *ud, kafu_error *err) {
  stream_ctx *s = ud;
  int st = 0, dead = s->cl ? kafu_node_cluster_check(s->cl, &st) : -1;
  if (dead < 0) return KAFU_OK;
  const kafu_config_node *n = &s->cfg->nodes[dead];
  return kafu_fail(err, KAFU_E_IO, "node %s died (%s %d)%s%s", n->name,
                   WIFSIGNALED(st) ? "signal" : "status",
                   WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st),
                   n->state_dir ? "; see its log in " : "", n->state_dir ? n->state_dir : "");
}

static void trace_event(void *ud, const char *text) {
  kafu_node_trace_event(&((stream_ctx *)ud)->r->trace, text);
}

static void trace_exit(void *ud, const char *node) {
  kafu_node_trace_exit(&((stream_ctx *)ud)->r->trace, node, kafu_node_wall_us());
}

/* Reads the job's frames until EXIT. Returns KAFU_OK with the program's code
 * in r->exit_code, or an error (node died, interrupted, protocol). */
static kafu_err stream(int fd, kafu_node_cluster *cl, const kafu_config *cfg, const run_opts *o,
                       run_result *r, kafu_error *err) {
  stream_ctx s = {cl, cfg, r};
  kafu_node_stream_hooks hooks = {check_nodes, trace_event, trace_exit, &s};
  return kafu_node_client_stream(fd, o->timeout_s, &g_interrupted, &hooks, &r->exit_code, err);
}

static int run(run_opts *o) {
  kafu_error err = {0};
  kafu_config cfg;
  memset(&cfg, 0, sizeof cfg);
  kafu_node_cluster cl;
  memset(&cl, 0, sizeof cl);
  bool started = false;
  uint8_t *wasm = NULL;
  size_t wasm_len = 0;
  int fd = -1, status = 1;
  run_result r;
  memset(&r, 0, sizeof r);

  if (kafu_config_load(o->config_path, &cfg, &err)) goto fail;
  if (kafu_file_read(cfg.app_path, &wasm, &wasm_len, &err)) goto fail;
  uint8_t sha[KAFU_SHA256_LEN];
  kafu_sha256(wasm, wasm_len, sha);

  struct sigaction sa = {.sa_handler = on_signal};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  if (!o->attach) {
    kafu_node_cluster_opts copts = {.config_path = o->config_path,
                                    .logs_to_stderr = o->verbose,
                                    .chaos_every = o->chaos_every};
    if (kafu_node_cluster_start(&cfg, &copts, &cl, &err)) goto fail;
    started = true;
    if (kafu_node_cluster_wait_ready(&cl, 15000, &err)) goto fail;
  }
  /* Stage the module everywhere first: each node loads (aot: compiles) it
   * before the program starts, so no migration pays for it. */
  for (size_t i = 0; i < (o->lazy_modules ? 1 : cfg.n_nodes) && !g_interrupted; i++) {
    int sent = 0, nfd = -1;
    if (kafu_node_client_connect(&cfg, &cfg.nodes[i], "kafu-run", 5000, &nfd, &err)) goto fail;
    kafu_err rc = kafu_node_client_stage(nfd, wasm, wasm_len, sha, 300000, &sent, &err);
    close(nfd);
    if (rc) {
      kafu_error_prefix(&err, cfg.nodes[i].name);
      goto fail;
    }
  }
  if (g_interrupted) goto interrupted;

  const char *base = strrchr(cfg.app_path, '/');
  kafu_node_submit sub = {
      .wasm = wasm,
      .wasm_len = wasm_len,
      .client = "kafu-run",
      .program = base ? base + 1 : cfg.app_path,
      .args = o->has_args ? o->args : (const char **)cfg.app_args,
      .n_args = o->has_args ? (uint32_t)o->n_args : (uint32_t)cfg.n_app_args,
      .env = o->envs,
      .n_env = (uint32_t)o->n_envs,
      .flags = o->chaos ? KAFU_SUBMIT_CHAOS : 0,
      .chaos_seed = o->chaos_seed,
  };
  memcpy(sub.sha256, sha, KAFU_SHA256_LEN);
  uint64_t job_id = 0;
  const kafu_config_node *first = kafu_config_first_node(&cfg);
  if (kafu_node_client_connect(&cfg, first, "kafu-run", 5000, &fd, &err)) goto fail;
  if (kafu_node_client_submit(fd, &sub, 300000, &job_id, &err)) goto fail;
  if (stream(fd, started ? &cl : NULL, &cfg, o, &r, &err)) {
    if (g_interrupted) goto interrupted;
    goto fail;
  }
  status = r.exit_code;
  if (started) kafu_node_cluster_stop(&cl, 2000);
  started = false;
  if (!o->quiet) kafu_node_trace_summary(&r.trace, stderr);
  if (o->trace_path && kafu_node_trace_write(&r.trace, &cfg, o->trace_path, &err)) goto fail;
  goto out;
interrupted:
  fprintf(stderr, "kafu run: interrupted; stopping the nodes\n");
  status = 130;
  goto out;
fail:
  status = kafu_cli_report("run", &err);
  if (status == 0) status = 1;
out:
  if (fd >= 0) close(fd);
  if (started) kafu_node_cluster_stop(&cl, 2000);
  kafu_node_trace_free(&r.trace);
  kafu_config_free(&cfg);
  free(wasm);
  return status;
}

int kafu_cmd_run(int argc, char **argv) {
  run_opts o;
  memset(&o, 0, sizeof o);
  int rc = parse(argc, argv, &o);
  if (rc >= 0) return rc;
  return run(&o);
}
