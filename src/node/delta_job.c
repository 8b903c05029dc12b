/* Deltas in the migration handoff: choose the baseline a capture is encoded
 * against, restore a received delta against the baseline this node holds
 * (refusing a mismatch so the source resends in full), keep the transferred
 * image as the pair's next baseline, and turn a delta back into a full
 * snapshot. */
#include <inttypes.h>
#include <string.h>

#include "node/delta_job.h"
#include "util/log.h"

/* How long a capture or a received delta waits for a baseline that is still
 * being hashed (a 64 MiB image takes ~40 ms). */
#define BASELINE_WAIT_MS 2000

static bool delta_on(const kafu_node_daemon *d) {
  return d->cfg->migration.memory_migration == KAFU_CONFIG_MEMORY_DELTA;
}

void kafu_node_delta_opts_for(void *ud, const char *dst, kafu_snapshot_opts *opts) {
  kafu_node_job *j = ud;
  kafu_node_daemon *d = j->d;
  kafu_node_baseline_release(&d->baselines, j->enc_base);
  j->enc_base = NULL;
  if (!delta_on(d) || !dst) return;
  kafu_node_baseline *e = kafu_node_baseline_get(&d->baselines, j->id, dst, BASELINE_WAIT_MS);
  if (!e) return;
  if (e->len % KAFU_SNAPSHOT_WASM_PAGE) {
    kafu_node_baseline_release(&d->baselines, e);
    return;
  }
  opts->baseline = e->mem;
  opts->baseline_len = e->len;
  opts->baseline_seq = e->seq;
  memcpy(opts->baseline_hash, e->sha256, KAFU_SHA256_LEN);
  j->enc_base = e;
}

kafu_err kafu_node_delta_restore(kafu_node_job *j, const char *src, const uint8_t *snap,
                                 size_t len, bool *baseline_miss, kafu_error *err) {
  kafu_node_daemon *d = j->d;
  uint64_t want_seq = 0;
  uint8_t want_hash[KAFU_SHA256_LEN];
  *baseline_miss = false;
  if (!kafu_snapshot_is_delta(snap, len, &want_seq, want_hash))
    return kafu_job_restore(j->job, snap, len, err);
  kafu_node_baseline *e = kafu_node_baseline_get(&d->baselines, j->id, src, BASELINE_WAIT_MS);
  char want_hex[65];
  kafu_sha256_hex(want_hash, want_hex);
  if (!e) {
    *baseline_miss = true;
    return kafu_fail(err, KAFU_E_INPUT,
                     "delta against baseline seq %" PRIu64 " (%.16s…), but %s holds no baseline "
                     "for this job from %s; send it in full",
                     want_seq, want_hex, d->self->name, src);
  }
  kafu_err rc = KAFU_OK;
  if (e->seq != want_seq || memcmp(e->sha256, want_hash, KAFU_SHA256_LEN)) {
    char have_hex[65];
    kafu_sha256_hex(e->sha256, have_hex);
    *baseline_miss = true;
    rc = kafu_fail(err, KAFU_E_INPUT,
                   "baseline mismatch: delta against seq %" PRIu64 " (%.16s…), %s holds seq %" PRIu64
                   " (%.16s…); send it in full",
                   want_seq, want_hex, d->self->name, e->seq, have_hex);
  } else {
    rc = kafu_job_restore_ex(j->job, snap, len, e->mem, e->len, e->sha256, err);
  }
  kafu_node_baseline_release(&d->baselines, e);
  return rc;
}

/* The seq field of a snapshot header (docs/snapshot-format.md, offset 56);
 * the header was validated by the restore. */
static uint64_t snapshot_seq(const uint8_t *snap, size_t len) {
  uint64_t v = 0;
  if (len < 64) return 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | snap[56 + i];
  return v;
}

kafu_node_baseline *kafu_node_delta_keep(kafu_node_job *j, const char *peer, const uint8_t *snap,
                                         size_t len) {
  kafu_node_daemon *d = j->d;
  /* Only config nodes send deltas (not kafu resume). */
  if (!delta_on(d) || !kafu_node_peers_find(&d->peers, peer)) return NULL;
  size_t mem_len = 0;
  const uint8_t *mem = kafu_job_memory(j->job, &mem_len);
  kafu_node_baseline *e =
      kafu_node_baseline_announce(&d->baselines, j->id, peer, snapshot_seq(snap, len));
  if (e && !kafu_node_baseline_fill(&d->baselines, e, mem, mem_len)) {
    kafu_node_baseline_seal(&d->baselines, e, false);
    e = NULL;
  }
  return e;
}

kafu_err kafu_node_delta_to_full(kafu_node_job *j, kafu_job_result *res, kafu_error *err) {
  kafu_node_daemon *d = j->d;
  kafu_node_baseline *e = j->enc_base;
  if (!kafu_snapshot_is_delta(res->snapshot.data, res->snapshot.len, NULL, NULL)) return KAFU_OK;
  if (!e) return kafu_fail(err, KAFU_E_INTERNAL, "delta snapshot without its baseline");
  kafu_snapshot s;
  memset(&s, 0, sizeof s);
  kafu_buf full = {0};
  kafu_err rc = kafu_snapshot_decode(res->snapshot.data, res->snapshot.len, NULL, e->mem, e->len,
                                     &s, err);
  if (rc) goto out;
  kafu_snapshot_opts opts = {.compress = d->cfg->migration.memory_compression};
  if ((rc = kafu_snapshot_encode(&s, &opts, &full, err))) goto out;
  kafu_buf_free(&res->snapshot);
  res->snapshot = full;
  memset(&full, 0, sizeof full);
  kafu_node_baseline_release(&d->baselines, e);
  j->enc_base = NULL;
out:
  kafu_snapshot_free(&s);
  kafu_buf_free(&full);
  return rc;
}

void kafu_node_delta_done(kafu_node_job *j) {
  if (!j || !j->enc_base) return;
  kafu_node_baseline_release(&j->d->baselines, j->enc_base);
  j->enc_base = NULL;
}
