/* Delta baselines of a node: for each (job, peer) pair, the memory image
 * this node and that peer both hold after their last transfer, with its
 * snapshot seq and SHA-256. A migration to the peer is encoded against it;
 * a delta from the peer is applied to it only if the peer names the same
 * seq and hash. docs/failures.md and docs/cluster.md ("Delta transfer"). */
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

/* Total bytes of baselines a node keeps; the least recently stored go first
 * when a new one would exceed it (their next transfer is then full). */
#define KAFU_NODE_BASELINE_BUDGET ((size_t)2 << 30)

typedef struct kafu_node_baseline {
  uint64_t job_id;
  char peer[KAFU_NODE_NAME_MAX];
  uint64_t seq;
  uint8_t sha256[KAFU_SHA256_LEN];
  uint8_t *mem; /* owned, len bytes (whole wasm pages) */
  size_t len;
  bool ready;    /* copied and hashed; until then seq is known, bytes are not */
  unsigned refs; /* borrowers; freed at 0 once unlinked */
  bool unlinked;
  uint64_t stamp; /* store order, for the budget */
  /* The entry this one replaced (a reference): its buffer is reused by the
   * fill when nobody else borrows it, so keeping a baseline costs a warm
   * copy, not a fresh allocation's page faults. */
  struct kafu_node_baseline *recycle;
  struct kafu_node_baseline *next;
} kafu_node_baseline;

typedef struct kafu_node_baselines {
  pthread_mutex_t lock;
  pthread_cond_t ready; /* broadcast when an entry becomes ready or goes */
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

/* Announces that (job, peer) will get the baseline of snapshot `seq`: an
 * entry that is not ready yet, so a delta arriving meanwhile waits for it
 * instead of being refused. Replaces the old entry. Returns the pending
 * entry (borrowed, one reference for kafu_node_baseline_fill), or NULL when
 * out of memory (then no baseline is kept for the pair). */
kafu_node_baseline *kafu_node_baseline_announce(kafu_node_baselines *b, uint64_t job_id,
                                                const char *peer, uint64_t seq);
/* Copies mem (len bytes) into the announced entry. This must happen while
 * mem still holds the transferred image (before the job runs on). Returns
 * false when out of memory. */
bool kafu_node_baseline_fill(kafu_node_baselines *b, kafu_node_baseline *e, const uint8_t *mem,
                             size_t len);
/* Hashes the filled copy, marks it ready and drops the announce reference;
 * may run later than the fill (hashing 64 MiB takes ~40 ms). ok false (a
 * failed fill, a failed transfer) removes the entry instead. */
void kafu_node_baseline_seal(kafu_node_baselines *b, kafu_node_baseline *e, bool ok);

/* The baseline of (job, peer), waiting up to wait_ms while it is announced
 * but not ready. Returns a reference (release it) or NULL when there is
 * none. */
kafu_node_baseline *kafu_node_baseline_get(kafu_node_baselines *b, uint64_t job_id,
                                           const char *peer, int wait_ms);
void kafu_node_baseline_release(kafu_node_baselines *b, kafu_node_baseline *e);

/* Drops every baseline of the job (it ended here or its exit passed). */
void kafu_node_baselines_forget_job(kafu_node_baselines *b, uint64_t job_id);

/* Bytes and entries currently kept (for tests and STATUS). */
size_t kafu_node_baselines_bytes(kafu_node_baselines *b, size_t *n_entries);

#endif
