/* Deltas in the migration handoff: encode a capture against the baseline
 * received from its destination, check a received delta against the parked
 * instance it must apply to, restore (in place when it can), and turn a
 * delta back into a full snapshot. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "node/delta_job.h"
#include "util/log.h"

bool kafu_node_delta_on(const kafu_node_daemon *d) {
  return d->cfg->migration.memory_migration == KAFU_CONFIG_MEMORY_DELTA;
}

void kafu_node_delta_opts_for(void *ud, const char *dst, kafu_snapshot_opts *opts) {
  kafu_node_job *j = ud;
  kafu_node_daemon *d = j->d;
  kafu_node_delta_done(j);
  if (!kafu_node_delta_on(d) || !dst) return;
  opts->table_out = &j->table;
  kafu_node_baseline *e = kafu_node_baseline_get(&d->baselines, j->id, dst);
  if (!e) return;
  opts->baseline_table = &e->table;
  opts->baseline_seq = e->seq;
  memcpy(opts->baseline_hash, e->id, KAFU_SHA256_LEN);
  j->enc_base = e;
}

bool kafu_node_delta_fits(const kafu_node_job *p, const uint8_t *snap, size_t len, char *msg,
                          size_t cap) {
  uint64_t want_seq = 0;
  uint8_t want[KAFU_SHA256_LEN];
  if (!kafu_snapshot_is_delta(snap, len, &want_seq, want)) return true;
  if (p && kafu_job_seq(p->job) == want_seq && !memcmp(p->image_id, want, KAFU_SHA256_LEN)) return true;
  char want_hex[65], have_hex[65];
  kafu_sha256_hex(want, want_hex);
  if (!p) {
    snprintf(msg, cap,
             "delta against baseline seq %" PRIu64 " (%.16s…), but no instance of this job is "
             "parked here; send it in full",
             want_seq, want_hex);
  } else {
    kafu_sha256_hex(p->image_id, have_hex);
    snprintf(msg, cap,
             "baseline mismatch: delta against seq %" PRIu64 " (%.16s…), the parked instance "
             "holds seq %" PRIu64 " (%.16s…); send it in full",
             want_seq, want_hex, kafu_job_seq(p->job), have_hex);
  }
  return false;
}

kafu_err kafu_node_delta_restore(kafu_node_job *j, const uint8_t *snap, size_t len, bool in_place,
                                 kafu_error *err) {
  bool delta = kafu_snapshot_is_delta(snap, len, NULL, NULL);
  kafu_job_restore_opts o = {.table = kafu_node_delta_on(j->d) ? &j->table : NULL};
  if (in_place && delta) {
    size_t mem_len = 0;
    kafu_job_memory(j->job, &mem_len);
    o.in_place = true;
    o.baseline_len = mem_len;
    o.baseline_sha256 = j->image_id;
    o.table = &j->table; /* the baseline's table, brought up to date */
  } else if (delta) {
    return kafu_fail(err, KAFU_E_INTERNAL, "a delta needs the parked instance it applies to");
  }
  kafu_err rc = kafu_job_restore_with(j->job, snap, len, &o, err);
  if (rc) return rc;
  if (o.table) kafu_page_table_id(o.table, j->image_id);
  return KAFU_OK;
}

kafu_err kafu_node_delta_to_full(kafu_node_job *j, kafu_job_result *res, kafu_error *err) {
  if (!kafu_snapshot_is_delta(res->snapshot.data, res->snapshot.len, NULL, NULL)) return KAFU_OK;
  kafu_snapshot_opts opts = {.compress = j->d->cfg->migration.memory_compression};
  kafu_buf full = {0};
  kafu_err rc = kafu_job_encode_again(j->job, &opts, &full, err);
  if (rc) {
    kafu_buf_free(&full);
    return rc;
  }
  kafu_buf_free(&res->snapshot);
  res->snapshot = full;
  kafu_node_delta_done(j);
  return KAFU_OK;
}

void kafu_node_delta_done(kafu_node_job *j) {
  if (!j || !j->enc_base) return;
  kafu_node_baseline_release(&j->d->baselines, j->enc_base);
  j->enc_base = NULL;
}
