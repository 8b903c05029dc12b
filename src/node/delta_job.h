/* Deltas in the migration handoff (delta_job.c): the daemon-side glue
 * between jobs and the per-(job, peer) baselines of delta.h. */
#ifndef KAFU_NODE_DELTA_JOB_H
#define KAFU_NODE_DELTA_JOB_H

#include "node/daemon.h"

/* kafu_job_config.snapshot_opts_for (ud = the kafu_node_job): encode against
 * the baseline shared with dst, if delta transfer is on and one is ready.
 * The job keeps a reference in j->enc_base until the next capture or
 * kafu_node_delta_done. */
void kafu_node_delta_opts_for(void *ud, const char *dst, kafu_snapshot_opts *opts);

/* Restores snap (borrowed) into the fresh j->job. A delta is applied to the
 * baseline this node keeps for (job, src) only if seq and hash match; else
 * KAFU_E_INPUT with *baseline_miss set (answer NACK KAFU_NODE_NACK_BASELINE).
 * Other errors as kafu_job_restore. */
kafu_err kafu_node_delta_restore(kafu_node_job *j, const char *src, const uint8_t *snap,
                                 size_t len, bool *baseline_miss, kafu_error *err);

/* After a restore (receiver) or ACK (sender): announces (job, peer)'s next
 * baseline, the snapshot's seq, and copies j->job's memory into it while it
 * is still the transferred image. Returns the entry to seal with
 * kafu_node_baseline_seal once COMMIT went through (ok) or failed; NULL when
 * deltas are off or memory ran out. */
kafu_node_baseline *kafu_node_delta_keep(kafu_node_job *j, const char *peer, const uint8_t *snap,
                                         size_t len);

/* Replaces a delta res->snapshot by the full snapshot (after a baseline NACK
 * or before saving it for kafu resume). No-op for a full one. Errors:
 * KAFU_E_NOMEM, decode errors. */
kafu_err kafu_node_delta_to_full(kafu_node_job *j, kafu_job_result *res, kafu_error *err);

/* Drops the job's reference to its encoding baseline. */
void kafu_node_delta_done(kafu_node_job *j);

#endif
