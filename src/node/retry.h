/* Failures lose nothing (docs/failures.md): the backoff schedule a source
 * follows while a destination is unreachable or refusing, which NACK codes
 * are worth retrying, and the resume file a failed KAFU_DEST migration
 * leaves in the node's state dir for `kafu resume`. */
#ifndef KAFU_NODE_RETRY_H
#define KAFU_NODE_RETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/proto.h"
#include "util/err.h"

/* Delays between attempts: 0 (a stale pooled connection is retried at
 * once), then 50 ms doubling up to 1 s, never past the deadline. */
typedef struct kafu_node_backoff {
  double deadline_ms; /* kafu_node_now_ms() time after which no attempt starts */
  unsigned next_ms;
  unsigned attempts;
} kafu_node_backoff;

void kafu_node_backoff_init(kafu_node_backoff *b, uint64_t timeout_ms);
/* Milliseconds left before the deadline (at least 1 while any remain, 0
 * after). */
int kafu_node_backoff_left_ms(const kafu_node_backoff *b);
/* Sleeps until the next attempt (never past the deadline: the last attempt
 * starts at it), in slices that watch *stop (may be NULL). Returns false
 * when the deadline has passed or stop is set. */
bool kafu_node_backoff_wait(kafu_node_backoff *b, const volatile int *stop);

/* Whether a NACK/ERROR code from a destination may go away by itself (busy,
 * shutting down, a duplicate left by an earlier attempt, ...) or is final
 * for this snapshot (it cannot be restored, the module is refused). */
bool kafu_node_nack_retryable(uint16_t code);

/* The resume file: one MIGRATE frame (docs/protocol.md) exactly as the
 * source would send it, with a full (not delta) snapshot, written to
 * <state_dir>/snapshots/job-<id>-<seq>.kafu-resume. `kafu resume` reads it
 * back as hostile input. Errors: KAFU_E_IO, encoder errors. */
kafu_err kafu_node_resume_write(const char *state_dir, uint64_t job_id, uint64_t seq,
                                const kafu_msg *migrate, char *path, size_t path_cap,
                                kafu_error *err);

/* Reads and checks a resume file: frame checks, a MIGRATE payload, a
 * snapshot that is not a delta. *payload is the owned file contents that m
 * borrows from (free it after kafu_proto_msg_free). Errors: KAFU_E_IO,
 * KAFU_E_INPUT naming the file and the problem. */
kafu_err kafu_node_resume_read(const char *path, uint8_t **payload, kafu_frame_header *h,
                               kafu_msg *m, kafu_error *err);

#endif
