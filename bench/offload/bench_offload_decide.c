/* What a poll that reaches the host costs in the node's policy: the offload
 * decision (kafu_node_offload_should: a mutex, a clock read, the rule) and
 * the whole poll branch of kafu_node_policy_decide. Polls reach the host
 * about once per millisecond of execution, so this is the per-millisecond
 * price of a MAY_OFFLOAD region on a node. Usage: bench_offload_decide [N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/offload.h"
#include "node/policy.h"

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static const char config_text[] = "name: bench\napp: {path: a.wasm}\nnodes:\n"
                                  "  cloud1: {address: 127.0.0.1, port: 7001}\n"
                                  "  edge1: {address: 127.0.0.1, port: 7002, offload: {policy: load}}\n";

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 2000000;
  kafu_config cfg;
  kafu_error err = {0};
  if (kafu_config_parse("bench.yaml", "/tmp", config_text, sizeof config_text - 1, &cfg, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  kafu_node_offload off;
  if (kafu_node_offload_init(&off, &cfg, kafu_config_find_node(&cfg, "edge1"), &err)) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  /* cloud1 alive and idle; edge1 not loaded: the common "stay" answer. */
  kafu_node_offload_note_peer(&off, "cloud1", 0, kafu_node_now_ms() + 1e9);
  off.own_load = 0.1;
  volatile int moves = 0;
  double t0 = now_ns();
  for (long i = 0; i < n; i++) moves += kafu_node_offload_should(&off, "cloud1");
  double t1 = now_ns();

  kafu_node_policy pol;
  memset(&pol, 0, sizeof pol);
  pol.cfg = &cfg;
  pol.here = "edge1";
  pol.offload = &off;
  kafu_mig_frame frame = {1, "cloud1"};
  kafu_point pt = {.kind = KAFU_POINT_POLL, .site_id = 0xffffffffu, .here = "edge1", .natural_dst = "cloud1",
                   .offload = &frame};
  double t2 = now_ns();
  for (long i = 0; i < n; i++) moves += kafu_node_policy_decide(&pol, &pt).action;
  double t3 = now_ns();
  printf("offload decision (kafu_node_offload_should): %.1f ns/poll\n", (t1 - t0) / n);
  printf("policy poll branch (kafu_node_policy_decide): %.1f ns/poll\n", (t3 - t2) / n);
  printf("at 1 poll/ms: %.4f %% of execution\n", (t3 - t2) / n / 1e6 * 100);
  printf("(%ld polls each, %d moves)\n", n, moves);
  kafu_node_offload_free(&off);
  kafu_config_free(&cfg);
  return 0;
}
