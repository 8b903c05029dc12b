/* kafu resume: continue a job whose KAFU_DEST migration failed, from the
 * resume file its source node wrote (docs/failures.md). The file's MIGRATE
 * goes to the node it was meant for, which becomes the job's coordinator and
 * streams the rest of the program's output here. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "node/client.h"
#include "node/resume.h"
#include "node/retry.h"
#include "util/file.h"

static volatile int g_interrupted;
static void on_signal(int sig) { g_interrupted = sig; }

static void usage(FILE *out) {
  fprintf(out,
          "usage: kafu resume SNAPSHOT --config kafu.yaml [--timeout SEC]\n"
          "\n"
          "Continues a job that stopped because its KAFU_DEST migration failed. SNAPSHOT\n"
          "is the .kafu-resume file the source node named in its error (in its state\n"
          "dir, snapshots/). The job goes to the node it was migrating to, which must be\n"
          "running again (kafu serve); the program's output streams here and kafu resume\n"
          "exits with the program's exit code. A file is used once: it is renamed to\n"
          "*.resumed when the node took the job.\n"
          "\n"
          "options:\n"
          "  --config FILE     the cluster configuration (kafu.yaml)\n"
          "  --timeout SEC     give up waiting for the job after SEC seconds\n"
          "  -h, --help        this help\n");
}

/* MIGRATE → (MODULE_NEED → MODULE_PUT) → ACK → COMMIT. */
static kafu_err hand_over(int fd, const kafu_config *cfg, kafu_msg *mig, uint64_t job_id,
                          kafu_error *err) {
  kafu_node_frame reply;
  uint8_t *wasm = NULL;
  size_t wasm_len = 0;
  int timeout = (int)cfg->migration.migration_timeout_ms;
  kafu_err rc = kafu_node_request(fd, mig, job_id, timeout, &reply, NULL, err);
  if (rc) goto out;
  if (reply.h.type == KAFU_MSG_MODULE_NEED) {
    kafu_node_frame_free(&reply);
    uint8_t sha[KAFU_SHA256_LEN];
    if ((rc = kafu_file_read(cfg->app_path, &wasm, &wasm_len, err))) goto out;
    kafu_sha256(wasm, wasm_len, sha);
    if (memcmp(sha, mig->u.migrate.module_hash, KAFU_SHA256_LEN)) {
      rc = kafu_fail(err, KAFU_E_INPUT,
                     "%s is not the module the snapshot belongs to (rebuilt since?)",
                     cfg->app_path);
      goto out;
    }
    kafu_msg put = {.type = KAFU_MSG_MODULE_PUT};
    memcpy(put.u.module_put.hash, sha, KAFU_SHA256_LEN);
    put.u.module_put.module.data = wasm;
    put.u.module_put.module.len = (uint32_t)wasm_len;
    if ((rc = kafu_node_request(fd, &put, job_id, timeout, &reply, NULL, err))) goto out;
  }
  if (reply.h.type != KAFU_MSG_ACK || reply.msg.u.ack.acked_type != KAFU_MSG_MIGRATE) {
    rc = kafu_fail(err, KAFU_E_INPUT, "expected ACK, got %s", kafu_proto_type_name(reply.h.type));
    goto out;
  }
  kafu_msg commit = {.type = KAFU_MSG_COMMIT};
  rc = kafu_node_send(fd, &commit, job_id, 0, NULL, err);
out:
  kafu_node_frame_free(&reply);
  free(wasm);
  return rc;
}

int kafu_cmd_resume(int argc, char **argv) {
  enum { O_CONFIG = 256, O_TIMEOUT };
  static const struct option longopts[] = {
      {"config", required_argument, 0, O_CONFIG},
      {"timeout", required_argument, 0, O_TIMEOUT},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0},
  };
  const char *config_path = NULL, *snap_path = NULL;
  unsigned timeout_s = 0;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "-h", longopts, NULL)) != -1) {
    switch (c) {
    case 1:
      if (snap_path) return kafu_cli_usage_error("resume", "unexpected argument '%s'", optarg);
      snap_path = optarg;
      break;
    case O_CONFIG: config_path = optarg; break;
    case O_TIMEOUT: {
      char *end = NULL;
      unsigned long v = strtoul(optarg, &end, 10);
      if (!*optarg || *end || v == 0 || v > 86400ul)
        return kafu_cli_usage_error("resume", "--timeout needs seconds (1..86400), got '%s'",
                                    optarg);
      timeout_s = (unsigned)v;
      break;
    }
    case 'h': usage(stdout); return 0;
    default:
      return kafu_cli_usage_error("resume", "unknown option or missing value '%s'",
                                  argv[optind - 1]);
    }
  }
  if (!snap_path) return kafu_cli_usage_error("resume", "missing SNAPSHOT (a .kafu-resume file)");
  if (!config_path) return kafu_cli_usage_error("resume", "missing --config kafu.yaml");

  kafu_error err = {0};
  kafu_config cfg;
  memset(&cfg, 0, sizeof cfg);
  uint8_t *file = NULL;
  kafu_frame_header h;
  kafu_msg mig;
  memset(&mig, 0, sizeof mig);
  int fd = -1, status = 1, code = 0;
  const char *orig_origin = NULL, *orig_src = NULL;
  struct sigaction sa = {.sa_handler = on_signal};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  if (kafu_config_load(config_path, &cfg, &err)) goto fail;
  if (kafu_node_resume_read(snap_path, &file, &h, &mig, &err)) goto fail;
  const char *dst = mig.u.migrate.dst_node;
  const kafu_config_node *node = kafu_config_find_node(&cfg, dst);
  if (!node) {
    kafu_fail(&err, KAFU_E_INPUT, "%s: the job was going to node '%s', which is not in %s",
              snap_path, dst, config_path);
    goto fail;
  }
  /* The destination becomes the job's coordinator: its output comes here.
   * (The decoded strings are put back before kafu_proto_msg_free.) */
  orig_origin = mig.u.migrate.origin;
  orig_src = mig.u.migrate.src_node;
  mig.u.migrate.origin = dst;
  mig.u.migrate.src_node = KAFU_NODE_RESUME_SRC;
  if (kafu_node_client_connect(&cfg, node, "kafu-resume", 5000, &fd, &err)) {
    kafu_error_prefix(&err, "node not reachable (start it, then run kafu resume again)");
    goto fail;
  }
  if (hand_over(fd, &cfg, &mig, h.job_id, &err)) {
    kafu_error_prefix(&err, dst);
    goto fail;
  }
  /* The node holds the job now: this file must not start it twice. */
  char done_path[4200];
  snprintf(done_path, sizeof done_path, "%s.resumed", snap_path);
  if (rename(snap_path, done_path))
    fprintf(stderr, "kafu resume: warning: cannot rename %s: %s\n", snap_path, strerror(errno));
  fprintf(stderr, "kafu resume: job %016llx continues on %s\n", (unsigned long long)h.job_id, dst);
  if (kafu_node_client_stream(fd, timeout_s, &g_interrupted, NULL, &code, &err)) goto fail;
  status = code;
  goto out;
fail:
  status = kafu_cli_report("resume", &err);
  if (status == 0) status = 1;
out:
  if (fd >= 0) close(fd);
  if (orig_origin) mig.u.migrate.origin = orig_origin;
  if (orig_src) mig.u.migrate.src_node = orig_src;
  kafu_proto_msg_free(&mig);
  free(file);
  kafu_config_free(&cfg);
  return status;
}
