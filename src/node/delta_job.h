/* Deltas in the migration handoff (delta_job.c): the daemon-side glue
 * between jobs, the per-(job, peer) baselines of delta.h and parked
 * instances (jobs_park.c). */
#ifndef KAFU_NODE_DELTA_JOB_H
#define KAFU_NODE_DELTA_JOB_H

#include "node/daemon.h"

/* How long an arriving job waits for its parked instance while the job
 * thread that left with it finishes the handoff. */
#define KAFU_NODE_PARK_WAIT_MS 2000

bool kafu_node_delta_on(const kafu_node_daemon *d);

/* kafu_job_config.snapshot_opts_for (ud = the kafu_node_job). With deltas
 * on, every capture hashes its pages into j->table, and is encoded against
 * the (job, dst) baseline when this node has one. The job keeps a
 * reference in j->enc_base until the next capture or kafu_node_delta_done. */
void kafu_node_delta_opts_for(void *ud, const char *dst, kafu_snapshot_opts *opts);

/* Whether parked job p can take snap: a full snapshot always; a delta only
 * when p's image is the delta's baseline (seq and id). On false, msg says
 * why (for the NACK). */
bool kafu_node_delta_fits(const kafu_node_job *p, const uint8_t *snap, size_t len, char *msg,
                          size_t cap);

/* Restores snap (borrowed) into j->job: a fresh instance, or (in_place) a
 * parked spent one whose memory is the delta's baseline. Keeps j->table and
 * j->image_id current. Errors as kafu_job_restore_with. */
kafu_err kafu_node_delta_restore(kafu_node_job *j, const uint8_t *snap, size_t len, bool in_place,
                                 kafu_error *err);

/* Replaces a delta res->snapshot by the full snapshot, encoded again from
 * the job's spent instance (after a baseline NACK or before saving it for
 * kafu resume). No-op for a full one. Errors: KAFU_E_NOMEM, KAFU_E_INTERNAL. */
kafu_err kafu_node_delta_to_full(kafu_node_job *j, kafu_job_result *res, kafu_error *err);

/* Drops the job's reference to its encoding baseline. */
void kafu_node_delta_done(kafu_node_job *j);

#endif
