/* A local cluster for kafu run: every node of the config as a `kafu serve`
 * child process, readiness by connecting, and a stop that leaves no orphan
 * (SIGTERM, then SIGKILL; children also die with their parent). */
#ifndef KAFU_NODE_CLUSTER_H
#define KAFU_NODE_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "node/config.h"

typedef struct kafu_node_cluster {
  size_t n;
  pid_t *pids;          /* one per config node; 0 once reaped */
  char **log_paths;     /* where each node's stderr goes; NULL = inherited */
  const kafu_config *cfg;
} kafu_node_cluster;

typedef struct kafu_node_cluster_opts {
  const char *exe;         /* the kafu binary (default /proc/self/exe) */
  const char *config_path; /* passed to kafu serve */
  bool logs_to_stderr;     /* else <state dir>/serve.log */
  unsigned chaos_every;    /* passed as --chaos-every when > 0 */
} kafu_node_cluster_opts;

/* Starts every node. On failure the nodes already started are stopped.
 * Errors: KAFU_E_IO. */
kafu_err kafu_node_cluster_start(const kafu_config *cfg, const kafu_node_cluster_opts *opts,
                                 kafu_node_cluster *cl, kafu_error *err);

/* Waits until every node accepts connections (or timeout_ms passes, or a
 * child exits). Errors: KAFU_E_IO naming the node and its log. */
kafu_err kafu_node_cluster_wait_ready(kafu_node_cluster *cl, int timeout_ms, kafu_error *err);

/* Reaps children that exited; returns the index of one that died, or -1. */
int kafu_node_cluster_check(kafu_node_cluster *cl, int *status);

/* Stops every remaining child (SIGTERM, grace_ms, SIGKILL) and frees cl. */
void kafu_node_cluster_stop(kafu_node_cluster *cl, int grace_ms);

#endif
