/* Delta baselines of a node. A delta from node A to node B is encoded
 * against the image B still holds in the spent instance it parked when the
 * job last left B for A (jobs_park.c). So A keeps, for each (job, peer) it
 * received the job from, the page-hash table of that image (16 bytes per
 * 4 KiB page) with its seq and id; B checks the id against its parked
 * instance and applies the delta in place, or NACKs and the job is resent
 * in full. docs/cluster.md ("Delta transfer"), docs/failures.md. */
#ifndef KAFU_NODE_DELTA_H
#define KAFU_NODE_DELTA_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/runtime.h"
#include "util/err.h"
#include "util/hash.h"

/* The NACK code a destination sends when a delta names a baseline it does
 * not hold (missing, other seq, other hash): the source resends in full.
 * Unknown codes are shown as numbers by older peers (docs/protocol.md). */
#define KAFU_NODE_NACK_BASELINE 14

/* Total bytes of page tables a node keeps (a table is 1/256 of its image);
 * the least recently stored go first when a new one would exceed it. */
#define KAFU_NODE_BASELINE_BUDGET ((size_t)64 << 20)

typedef struct kafu_node_baseline {
  uint64_t job_id;
  char peer[KAFU_NODE_NAME_MAX];
  uint64_t seq;
  uint8_t id[KAFU_SHA256_LEN]; /* kafu_page_table_id of table */
  kafu_page_table table;
  unsigned refs; /* borrowers; freed at 0 once unlinked */
  bool unlinked;
  uint64_t stamp; /* store order, for the budget */
  struct kafu_node_baseline *next;
} kafu_node_baseline;

typedef struct kafu_node_baselines {
  pthread_mutex_t lock;
  kafu_node_baseline *list;
  size_t bytes;
  uint64_t stamp;
  bool inited;
} kafu_node_baselines;

/* A zero-filled kafu_node_baselines is valid too: it initializes itself on
 * first use. */
void kafu_node_baselines_init(kafu_node_baselines *b);
/* Frees every entry; no borrower may remain. */
void kafu_node_baselines_free(kafu_node_baselines *b);

/* Stores the table (copied) of image `seq` (id: its kafu_page_table_id)
 * received from `peer` as (job, peer)'s baseline, replacing the old one. Returns false when out of memory
 * or the table alone exceeds the budget (then the pair has none). */
bool kafu_node_baseline_put(kafu_node_baselines *b, uint64_t job_id, const char *peer,
                            uint64_t seq, const kafu_page_table *table,
                            const uint8_t id[KAFU_SHA256_LEN]);
/* The baseline of (job, peer): a reference (release it) or NULL. */
kafu_node_baseline *kafu_node_baseline_get(kafu_node_baselines *b, uint64_t job_id,
                                           const char *peer);
void kafu_node_baseline_release(kafu_node_baselines *b, kafu_node_baseline *e);
/* Forgets (job, peer)'s baseline: the job went to that peer, whose parked
 * image is consumed. */
void kafu_node_baseline_drop(kafu_node_baselines *b, uint64_t job_id, const char *peer);

/* Drops every baseline of the job (it ended here or its exit passed). */
void kafu_node_baselines_forget_job(kafu_node_baselines *b, uint64_t job_id);

/* Bytes and entries currently kept (for tests and STATUS). */
size_t kafu_node_baselines_bytes(kafu_node_baselines *b, size_t *n_entries);

#endif
