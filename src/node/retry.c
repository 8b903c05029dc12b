/* Backoff for migration retries and the resume file of a failed KAFU_DEST
 * migration (retry.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/policy.h"
#include "node/retry.h"
#include "snapshot/snapshot.h"
#include "util/file.h"

#define BACKOFF_FIRST_MS 50u
#define BACKOFF_MAX_MS 1000u
#define RESUME_MAX_BYTES (1u << 30)

void kafu_node_backoff_init(kafu_node_backoff *b, uint64_t timeout_ms) {
  b->deadline_ms = kafu_node_now_ms() + (double)timeout_ms;
  b->next_ms = 0;
  b->attempts = 0;
}

int kafu_node_backoff_left_ms(const kafu_node_backoff *b) {
  double left = b->deadline_ms - kafu_node_now_ms();
  if (left <= 0) return 0;
  return left < 1 ? 1 : (int)left;
}

bool kafu_node_backoff_wait(kafu_node_backoff *b, const volatile int *stop) {
  unsigned delay = b->next_ms;
  b->next_ms = delay == 0 ? BACKOFF_FIRST_MS : delay * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : delay * 2;
  b->attempts++;
  double left = b->deadline_ms - kafu_node_now_ms();
  if (left <= 0) return false;
  /* The last attempt starts at the deadline, not a whole delay before it. */
  if (delay > left) delay = (unsigned)left;
  for (unsigned slept = 0; slept < delay; slept += 10) {
    if (stop && *stop) return false;
    usleep(10 * 1000);
  }
  return !(stop && *stop);
}

bool kafu_node_nack_retryable(uint16_t code) {
  switch (code) {
  case KAFU_PROTO_RESTORE_FAILED:
  case KAFU_PROTO_MODULE_MISMATCH:
  case KAFU_PROTO_BAD_PAYLOAD:
  case KAFU_PROTO_BAD_VERSION:
  case KAFU_PROTO_UNKNOWN_TYPE:
  case KAFU_PROTO_WRONG_CLUSTER: return false;
  default: return true;
  }
}

kafu_err kafu_node_resume_write(const char *state_dir, uint64_t job_id, uint64_t seq,
                                const kafu_msg *migrate, char *path, size_t path_cap,
                                kafu_error *err) {
  kafu_buf frame = {0};
  char dir[4096];
  path[0] = '\0';
  if (!state_dir) return kafu_fail(err, KAFU_E_IO, "the node has no state dir");
  snprintf(dir, sizeof dir, "%s/snapshots", state_dir);
  kafu_err rc = kafu_proto_msg_frame(migrate, job_id, 0, &frame, err);
  if (!rc && frame.failed) rc = kafu_fail(err, KAFU_E_NOMEM, "out of memory");
  if (rc) goto out;
  char tmp[4300];
  snprintf(path, path_cap, "%s/job-%016" PRIx64 "-%" PRIu64 ".kafu-resume", dir, job_id, seq);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  /* Written aside and renamed, so a crash never leaves half a file under
   * the final name. */
  if ((rc = kafu_mkdirs(dir, err)) || (rc = kafu_file_write(tmp, frame.data, frame.len, err)))
    goto out;
  if (rename(tmp, path)) {
    rc = kafu_fail(err, KAFU_E_IO, "%s: cannot rename into place", path);
    unlink(tmp);
  }
out:
  if (rc) path[0] = '\0';
  kafu_buf_free(&frame);
  return rc;
}

kafu_err kafu_node_resume_read(const char *path, uint8_t **payload, kafu_frame_header *h,
                               kafu_msg *m, kafu_error *err) {
  uint8_t *bytes = NULL;
  size_t len = 0, consumed = 0;
  const uint8_t *pl = NULL;
  memset(m, 0, sizeof *m);
  *payload = NULL;
  kafu_err rc = kafu_file_read(path, &bytes, &len, err);
  if (rc) return rc;
  if ((rc = kafu_proto_frame_decode(bytes, len, RESUME_MAX_BYTES, h, &pl, &consumed, err)))
    goto fail;
  if (consumed != len) {
    rc = kafu_fail(err, KAFU_E_INPUT, "%zu bytes after the frame", len - consumed);
    goto fail;
  }
  if (h->type != KAFU_MSG_MIGRATE) {
    rc = kafu_fail(err, KAFU_E_INPUT, "holds a %s frame, not MIGRATE (not a resume file)",
                   kafu_proto_type_name(h->type));
    goto fail;
  }
  if ((rc = kafu_proto_msg_decode(h->type, pl, h->payload_len, m, err))) goto fail;
  if (kafu_snapshot_is_delta(m->u.migrate.snapshot.data, m->u.migrate.snapshot.len, NULL, NULL)) {
    kafu_proto_msg_free(m);
    rc = kafu_fail(err, KAFU_E_INPUT, "its snapshot is a delta (a resume file holds a full one)");
    goto fail;
  }
  *payload = bytes;
  return KAFU_OK;
fail:
  free(bytes);
  memset(m, 0, sizeof *m);
  return kafu_error_prefix(err, path);
}
