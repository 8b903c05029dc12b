/* Node-side migration policies: where a job goes at each migration point.
 * The default follows the annotations (DEST enter → the site's node, leave →
 * the caller's node); a manual OFFLOAD_NOW moves MAY_OFFLOAD work at its next
 * poll; --chaos moves to pseudo-random nodes. At other polls the node's
 * offload.policy (load, always, never) decides through offload.h. */
#ifndef KAFU_NODE_POLICY_H
#define KAFU_NODE_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "node/config.h"
#include "runtime/runtime.h"

typedef enum kafu_node_policy_mode {
  KAFU_NODE_POLICY_ANNOTATIONS = 0, /* the default */
  KAFU_NODE_POLICY_CHAOS,           /* kafu run --chaos SEED */
} kafu_node_policy_mode;

/* The policy state of one job on one node. The chaos fields and n_points
 * travel with the job (docs/cluster.md, "job context"), so a seed gives the
 * same sequence of destinations whichever node runs the job. */
typedef struct kafu_node_policy {
  kafu_node_policy_mode mode;
  const kafu_config *cfg; /* borrowed: the node list */
  const char *here;       /* borrowed: this node's name */
  kafu_job *job;          /* borrowed, set once the job exists (offload flag) */
  struct kafu_node_offload *offload; /* borrowed: the node's offload view (offload.h); NULL = none */
  const kafu_meta *meta;  /* borrowed: the program's sites (which stack frames are DEST); NULL = unknown */
  uint64_t chaos_seed;
  uint32_t chaos_every;   /* chaos: migrate on average every N points (>= 1) */
  uint64_t n_points;      /* points decided so far over the job's whole life */

  /* Filled when the policy returns MIGRATE, for logs and the handoff. */
  uint8_t reason;         /* kafu_migrate_reason */
  uint32_t site_id;
  char function[KAFU_NODE_NAME_MAX];
  double decided_ms;      /* kafu_node_now_ms() at the decision: pause start */
} kafu_node_policy;

/* The kafu_policy_fn for node jobs (ud is a kafu_node_policy). */
kafu_decision kafu_node_policy_decide(void *ud, const kafu_point *pt);

/* The chaos destination for point number n (1-based) of a job with `seed`:
 * an index into cfg->nodes, or -1 to stay. Pure, for tests. */
int kafu_node_policy_chaos_pick(uint64_t seed, uint64_t n, uint32_t every, size_t n_nodes);

/* CLOCK_MONOTONIC in milliseconds, and CLOCK_REALTIME in microseconds (trace
 * timestamps comparable across the processes of one host). */
double kafu_node_now_ms(void);
uint64_t kafu_node_wall_us(void);

#endif
