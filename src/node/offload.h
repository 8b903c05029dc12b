/* The node's view for KAFU_MAY_OFFLOAD decisions: its own CPU load (sampled
 * in the background over offload.window_ms, on its pinned CPUs, without its
 * own work), each peer's liveness and load from HEARTBEAT replies, and the
 * rule that combines them with offload.policy (docs/offload.md). */
#ifndef KAFU_NODE_OFFLOAD_H
#define KAFU_NODE_OFFLOAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "node/affinity.h"
#include "node/config.h"
#include "node/load.h"

/* ---- the rule (pure) ---- */

typedef struct kafu_offload_inputs {
  kafu_config_offload_policy policy;
  double cpu_threshold; /* this node's offload.cpu_threshold */
  double own_load;      /* this node's load in [0, 1]; < 0 while unknown */
  bool dst_alive;       /* a HEARTBEAT reply within KAFU_OFFLOAD_ALIVE_INTERVALS */
  double dst_load;      /* the destination's reported load in [0, 1] */
} kafu_offload_inputs;

typedef enum kafu_offload_verdict {
  KAFU_OFFLOAD_GO = 0,
  KAFU_OFFLOAD_NO_POLICY_NEVER, /* offload.policy: never */
  KAFU_OFFLOAD_NO_NOT_LOADED,   /* policy load, own load below the threshold (or unknown) */
  KAFU_OFFLOAD_NO_DST_DEAD,     /* no recent heartbeat from the destination */
  KAFU_OFFLOAD_NO_DST_BUSIER,   /* the destination is not less loaded */
} kafu_offload_verdict;

/* Whether MAY_OFFLOAD work here should move to the destination now. All must
 * hold: the policy says so (always; load: own_load >= cpu_threshold), the
 * destination is alive, and, under `load`, its load is below own_load
 * (`always` forces the move to any live destination). The first rule that
 * fails is returned. */
kafu_offload_verdict kafu_offload_judge(const kafu_offload_inputs *in);
const char *kafu_offload_verdict_text(kafu_offload_verdict v);

/* A peer counts as alive while its last HEARTBEAT reply is at most this many
 * heartbeat intervals (plus 100 ms) old. */
#define KAFU_OFFLOAD_ALIVE_INTERVALS 3

/* ---- the node's state ---- */

typedef struct kafu_offload_peer {
  const kafu_config_node *node; /* borrowed from the config */
  double last_reply_ms;         /* kafu_node_now_ms() of the last HEARTBEAT reply; 0 = never */
  double heard_ms;              /* of the last other sign of life (a migration from it); 0 = never */
  uint32_t load_permille;       /* from that reply */
  kafu_offload_verdict last_verdict; /* for logging changes only */
  bool logged;
} kafu_offload_peer;

typedef struct kafu_node_offload {
  const kafu_config *cfg;        /* borrowed */
  const kafu_config_node *self;  /* borrowed */
  kafu_cpuset cpus;              /* the CPUs this process may run on */
  bool pinned;                   /* cpus is a strict subset: meter reads cpuN lines */
  kafu_load_meter meter;         /* owned by the sampler thread */
  pthread_mutex_t lock;          /* guards everything below */
  double own_load;               /* < 0 while unknown */
  kafu_offload_peer *peers;      /* one per config node, same order (self included, unused) */
  size_t n_peers;
} kafu_node_offload;

/* Sets up o for node self of cfg (both borrowed for o's life): pins the
 * process to self->cpus when set (call before any thread starts), and
 * prepares the meter for the CPUs it may run on. Errors: KAFU_E_INPUT for a
 * bad or unusable CPU list, KAFU_E_NOMEM. */
kafu_err kafu_node_offload_init(kafu_node_offload *o, const kafu_config *cfg, const kafu_config_node *self,
                                kafu_error *err);
void kafu_node_offload_free(kafu_node_offload *o);

/* Takes one load sample at now_ms (the sampler thread calls this). */
void kafu_node_offload_sample(kafu_node_offload *o, double now_ms);
/* This node's load as permille for HEARTBEAT (0 while unknown). */
uint32_t kafu_node_offload_load_permille(kafu_node_offload *o);
/* Records a HEARTBEAT reply from node `name` carrying load_permille. */
void kafu_node_offload_note_peer(kafu_node_offload *o, const char *name, uint32_t load_permille, double now_ms);

/* Records another sign of life from node `name` (it just handed this node a
 * job): it counts as alive, but its load stays what heartbeats said. */
void kafu_node_offload_note_alive(kafu_node_offload *o, const char *name, double now_ms);

/* The policy's question at a poll inside a MAY_OFFLOAD region whose node dst
 * is not here: applies kafu_offload_judge to the current view. Logs when the
 * verdict for dst changes. Thread-safe. */
bool kafu_node_offload_should(kafu_node_offload *o, const char *dst);

#endif
