/* The two-phase migration handoff. Source: MIGRATE (snapshot + job context)
 * → the destination restores and replies ACK (or MODULE_NEED first, answered
 * with MODULE_PUT) → COMMIT, and only then the source forgets the job. The
 * destination runs the job only after COMMIT, so a job never runs on two
 * nodes; until COMMIT the source still holds the snapshot. COMMIT carries the
 * migration's EVENT line, which the destination (alive and holding the job)
 * emits before it starts the job, at the output seq the source reserved. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/daemon.h"
#include "node/delta_job.h"
#include "node/retry.h"
#include "util/file.h"
#include "util/log.h"

static const char *reason_name(uint8_t reason) {
  switch (reason) {
  case KAFU_MIGRATE_DEST: return "dest";
  case KAFU_MIGRATE_RETURN: return "return";
  case KAFU_MIGRATE_OFFLOAD: return "offload";
  }
  return "?";
}

/* What a committed handoff reports: the migration's EVENT line (sent in the
 * COMMIT) and the pause it states, which ends when COMMIT is sent. */
typedef struct commit_note {
  double pause_ms;
  char text[512];
} commit_note;

/* Fills note with the EVENT line of j's migration mig, as of now: the pause
 * since the decision, wire = the bytes sent so far (MIGRATE, MODULE_PUT). */
static void note_event(const kafu_node_job *j, const kafu_msg *mig, const kafu_job_result *res,
                       size_t wire, commit_note *note) {
  const kafu_bytes *snap = &mig->u.migrate.snapshot;
  bool is_delta = kafu_snapshot_is_delta(snap->data, snap->len, NULL, NULL);
  uint64_t end_us = kafu_node_wall_us();
  note->pause_ms = kafu_node_now_ms() - j->pol.decided_ms;
  snprintf(note->text, sizeof note->text,
           "migrate %s %s %s %s raw=%u wire=%zu pause_us=%.0f start_us=%" PRIu64 " end_us=%" PRIu64
           " memory=%s",
           mig->u.migrate.src_node, mig->u.migrate.dst_node,
           mig->u.migrate.function[0] ? mig->u.migrate.function : "-",
           reason_name(mig->u.migrate.reason), res->mem_bytes, wire, note->pause_ms * 1e3,
           end_us - (uint64_t)(note->pause_ms * 1e3), end_us, is_delta ? "delta" : "full");
}

/* One attempt over the pooled connection: MIGRATE, maybe MODULE_PUT, ACK,
 * COMMIT (carrying the EVENT line built into *note), each step bounded by
 * timeout_ms. *sent_commit tells whether the job now belongs to dst;
 * *nack_code is the code of a NACK/ERROR reply (0 for none). Before the
 * COMMIT the job's parking is announced, so that the job coming back right
 * away waits for its instance (jobs_park.c). */
static kafu_err handoff(kafu_node_job *j, kafu_node_peer *peer, const kafu_msg *mig,
                        const kafu_job_result *res, int timeout, size_t *wire, bool *sent_commit,
                        uint64_t *restore_us, uint16_t *nack_code, commit_note *note,
                        kafu_error *err) {
  kafu_node_daemon *d = j->d;
  int fd = -1;
  kafu_node_frame reply;
  memset(&reply, 0, sizeof reply);
  *nack_code = 0;
  kafu_err rc = kafu_node_peer_fd(&d->peers, peer, &fd, err);
  if (rc) return rc;
  if ((rc = kafu_node_request(fd, mig, j->id, timeout, &reply, wire, err))) goto out;
  if (reply.h.type == KAFU_MSG_MODULE_NEED) {
    kafu_msg put = {.type = KAFU_MSG_MODULE_PUT};
    memcpy(put.u.module_put.hash, j->mod->sha256, KAFU_SHA256_LEN);
    put.u.module_put.module.data = j->mod->wasm;
    put.u.module_put.module.len = (uint32_t)j->mod->wasm_len;
    kafu_node_frame_free(&reply);
    size_t put_wire = 0;
    if ((rc = kafu_node_request(fd, &put, j->id, timeout, &reply, &put_wire, err))) goto out;
    *wire += put_wire;
  }
  if (reply.h.type != KAFU_MSG_ACK || reply.msg.u.ack.acked_type != KAFU_MSG_MIGRATE) {
    rc = kafu_fail(err, KAFU_E_INPUT, "expected ACK of MIGRATE, got %s",
                   kafu_proto_type_name(reply.h.type));
    goto out;
  }
  kafu_node_peer_note_module(peer, j->mod->sha256);
  *restore_us = reply.msg.u.ack.restore_us;
  kafu_node_park_announce(d, j->id);
  note_event(j, mig, res, *wire, note);
  kafu_msg commit = {.type = KAFU_MSG_COMMIT};
  commit.u.commit.event = note->text;
  size_t commit_wire = 0;
  rc = kafu_node_send(fd, &commit, j->id, 0, &commit_wire, err);
  if (!rc) {
    *sent_commit = true;
    *wire += commit_wire;
  }
out:
  if (rc && (reply.h.type == KAFU_MSG_NACK || reply.h.type == KAFU_MSG_ERROR))
    *nack_code = reply.msg.u.fail.code ? reply.msg.u.fail.code : KAFU_PROTO_INTERNAL;
  kafu_node_frame_free(&reply);
  return rc;
}

/* Tries the handoff until it commits, a refusal is final, or
 * migration_timeout_ms has passed. A baseline NACK makes the snapshot full
 * and retries at once (it cannot recur). */
static kafu_err deliver(kafu_node_job *j, kafu_node_peer *peer, kafu_msg *mig, kafu_job_result *res,
                        size_t *wire, bool *committed, uint64_t *restore_us, commit_note *note,
                        kafu_error *err) {
  kafu_node_daemon *d = j->d;
  kafu_node_backoff bo;
  kafu_node_backoff_init(&bo, d->cfg->migration.migration_timeout_ms);
  kafu_err rc = KAFU_OK;
  for (;;) {
    uint16_t nack = 0;
    *wire = 0;
    int left = kafu_node_backoff_left_ms(&bo);
    pthread_mutex_lock(&peer->lock);
    rc = handoff(j, peer, mig, res, left ? left : 1, wire, committed, restore_us, &nack, note, err);
    if (rc && !*committed) kafu_node_peer_drop(peer); /* the connection may be stale or dead */
    pthread_mutex_unlock(&peer->lock);
    if (*committed) {
      /* dst restored into (or replaced) the instance it parked: the baseline
       * received from it is spent. */
      kafu_node_delta_done(j);
      kafu_node_baseline_drop(&d->baselines, j->id, res->dst);
      return KAFU_OK;
    }
    if (nack == KAFU_NODE_NACK_BASELINE) {
      kafu_log(KAFU_LOG_INFO, d->self->name, "job %016" PRIx64 ": %s: %s; resending in full",
               j->id, res->dst, err->msg);
      kafu_err full_rc = kafu_node_delta_to_full(j, res, err);
      if (full_rc) return full_rc;
      mig->u.migrate.snapshot.data = res->snapshot.data;
      mig->u.migrate.snapshot.len = (uint32_t)res->snapshot.len;
      continue;
    }
    if (nack && !kafu_node_nack_retryable(nack)) return rc;
    if (!kafu_node_backoff_wait(&bo, &d->stop)) {
      char msg[KAFU_ERROR_MAX];
      snprintf(msg, sizeof msg, "gave up after %u attempts in %" PRIu64 " ms (last: %s)",
               bo.attempts, d->cfg->migration.migration_timeout_ms, err->msg);
      snprintf(err->msg, sizeof err->msg, "%s", msg);
      return rc ? rc : KAFU_E_IO;
    }
    kafu_log(KAFU_LOG_WARN, d->self->name, "job %016" PRIx64 ": migration to %s: %s; retrying",
             j->id, res->dst, err->msg);
  }
}

/* Keeps a failed KAFU_DEST migration resumable: the MIGRATE it could not
 * deliver, with a full snapshot, as a file in the state dir. */
static void save_resume(kafu_node_job *j, kafu_job_result *res, kafu_msg *mig, char *path,
                        size_t cap) {
  kafu_error err = {0};
  path[0] = '\0';
  if (kafu_node_delta_to_full(j, res, &err)) {
    kafu_log(KAFU_LOG_ERROR, j->d->self->name, "job %016" PRIx64 ": cannot save its snapshot: %s",
             j->id, err.msg);
    return;
  }
  mig->u.migrate.snapshot.data = res->snapshot.data;
  mig->u.migrate.snapshot.len = (uint32_t)res->snapshot.len;
  if (kafu_node_resume_write(j->d->self->state_dir, j->id, res->seq, mig, path, cap, &err))
    kafu_log(KAFU_LOG_ERROR, j->d->self->name, "job %016" PRIx64 ": cannot save its snapshot: %s",
             j->id, err.msg);
}

kafu_err kafu_node_job_migrate(kafu_node_job *j, kafu_job_result *res, kafu_error *err) {
  kafu_node_daemon *d = j->d;
  kafu_err rc = KAFU_OK;
  kafu_buf ctx = {0};
  kafu_node_peer *peer = kafu_node_peers_find(&d->peers, res->dst);
  /* The event line takes the next output number; the destination emits it
   * (the COMMIT carries it) and continues after it, so the client sees the
   * migration between the right outputs. */
  uint64_t event_seq = j->out_seq++;
  size_t wire = 0;
  bool committed = false;
  uint64_t restore_us = 0;
  commit_note note = {0};
  j->stay_local = false;
  if (!peer) {
    rc = kafu_fail(err, KAFU_E_INPUT, "%s wants node '%s', which is not in %s",
                   j->pol.function[0] ? j->pol.function : "the program", res->dst, d->cfg->path);
    goto out;
  }
  j->ctx.n_points = j->pol.n_points;
  kafu_node_ctx_encode(&j->ctx, &ctx);
  if (ctx.failed) {
    rc = kafu_fail(err, KAFU_E_NOMEM, "out of memory");
    goto out;
  }
  kafu_msg mig = {.type = KAFU_MSG_MIGRATE};
  memcpy(mig.u.migrate.module_hash, j->mod->sha256, KAFU_SHA256_LEN);
  mig.u.migrate.src_node = d->self->name;
  mig.u.migrate.dst_node = res->dst;
  mig.u.migrate.origin = j->coordinator;
  mig.u.migrate.function = j->pol.function;
  mig.u.migrate.reason = j->pol.reason ? j->pol.reason : KAFU_MIGRATE_DEST;
  mig.u.migrate.site_id = j->pol.site_id;
  mig.u.migrate.next_output_seq = j->out_seq;
  mig.u.migrate.snapshot.data = res->snapshot.data;
  mig.u.migrate.snapshot.len = (uint32_t)res->snapshot.len;
  mig.u.migrate.context.data = ctx.data;
  mig.u.migrate.context.len = (uint32_t)ctx.len;

  double t_send = kafu_node_now_ms();
  rc = deliver(j, peer, &mig, res, &wire, &committed, &restore_us, &note, err);
  if (!committed) {
    if (mig.u.migrate.reason == KAFU_MIGRATE_OFFLOAD) {
      /* MAY_OFFLOAD: the work may run anywhere, so it stays here. */
      kafu_log(KAFU_LOG_WARN, d->self->name,
               "job %016" PRIx64 ": offload to %s failed (%s); continuing on %s", j->id, res->dst,
               err->msg, d->self->name);
      j->stay_local = true;
      rc = KAFU_OK;
      goto out;
    }
    char path[4400];
    save_resume(j, res, &mig, path, sizeof path);
    char msg[KAFU_ERROR_MAX];
    snprintf(msg, sizeof msg, "migration to node %s failed: %s%s%s", res->dst, err->msg,
             path[0] ? "; resume with: kafu resume " : "", path);
    snprintf(err->msg, sizeof err->msg, "%s", msg);
    rc = err->code ? err->code : KAFU_E_IO;
    goto out;
  }
  rc = KAFU_OK;
  double pause_ms = note.pause_ms; /* until COMMIT was sent */
  double t_commit = j->pol.decided_ms + pause_ms;
  bool is_delta = kafu_snapshot_is_delta(res->snapshot.data, res->snapshot.len, NULL, NULL);
  kafu_log(KAFU_LOG_DEBUG, d->self->name,
           "job %016" PRIx64 ": pause %.3f ms = unwind+capture %.3f + MIGRATE..COMMIT %.3f "
           "(destination restore %.3f)",
           j->id, pause_ms, t_send - j->pol.decided_ms, t_commit - t_send, restore_us / 1e3);
  /* As the coordinator, watch dst now: its EVENT may never come. */
  if (!strcmp(j->coordinator, d->self->name)) kafu_node_coord_handed(d, j->id, event_seq, res->dst);
  pthread_mutex_lock(&d->lock);
  d->migrations_out++;
  pthread_mutex_unlock(&d->lock);
  kafu_log(KAFU_LOG_INFO, d->self->name,
           "job %016" PRIx64 ": migrated %s -> %s (%s %s), %u bytes memory, %zu bytes on the wire "
           "(%s), pause %.3f ms (capture %.3f, restore %.3f)",
           j->id, d->self->name, res->dst, reason_name(mig.u.migrate.reason),
           j->pol.function[0] ? j->pol.function : "-", res->mem_bytes, wire,
           is_delta ? "delta" : "full", pause_ms, res->capture_ms, restore_us / 1e3);
out:
  if ((rc || j->stay_local) && event_seq + 1 == j->out_seq) {
    /* Nothing went out: give the number back so the exit count is right. */
    j->out_seq = event_seq;
  }
  kafu_buf_free(&ctx);
  return rc;
}

/* ---- destination ---- */

static bool nack(int fd, uint64_t job_id, kafu_proto_code code, const char *msg) {
  kafu_msg m = {.type = KAFU_MSG_NACK};
  m.u.fail.code = (uint16_t)code;
  m.u.fail.message = msg;
  return kafu_node_send(fd, &m, job_id, 0, NULL, NULL) == KAFU_OK;
}

/* Emits the EVENT line a COMMIT carried (text; "" = none, as kafu resume
 * sends) for j at the output seq its source reserved, next_output_seq - 1,
 * through j's route to its coordinator. A lost event is only logged: the
 * coordinator skips the hole if this node dies (docs/failures.md). */
static void emit_commit_event(kafu_node_job *j, uint64_t next_output_seq, const char *text) {
  kafu_node_daemon *d = j->d;
  if (!text || !text[0]) return;
  if (next_output_seq == 0) {
    kafu_log(KAFU_LOG_WARN, d->self->name,
             "job %016" PRIx64 ": COMMIT carries an event but its MIGRATE reserved no output seq "
             "(next_output_seq 0); event dropped",
             j->id);
    return;
  }
  kafu_msg ev = {.type = KAFU_MSG_EVENT};
  ev.u.event.out_seq = next_output_seq - 1;
  ev.u.event.text = text;
  kafu_error err = {0};
  if (kafu_node_job_emit(j, &ev, &err))
    kafu_log(KAFU_LOG_WARN, d->self->name, "job %016" PRIx64 ": event lost: %s", j->id, err.msg);
}

bool kafu_node_job_receive(kafu_node_daemon *d, int fd, kafu_node_frame *f) {
  const kafu_msg *m = &f->msg;
  uint64_t id = f->h.job_id;
  kafu_error err = {0};
  kafu_node_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  kafu_node_job *j = NULL;
  kafu_node_module *mod = NULL;
  bool keep = true;
  const char *src = m->u.migrate.src_node;
  double t0 = kafu_node_now_ms();

  if (strcmp(m->u.migrate.dst_node, d->self->name)) {
    snprintf(err.msg, sizeof err.msg, "MIGRATE for node %s reached %s", m->u.migrate.dst_node,
             d->self->name);
    goto refuse;
  }
  if (!kafu_node_peers_find(&d->peers, m->u.migrate.origin)) {
    snprintf(err.msg, sizeof err.msg, "MIGRATE names coordinator %s, not in the config",
             m->u.migrate.origin);
    goto refuse;
  }
  if (kafu_node_ctx_decode(m->u.migrate.context.data, m->u.migrate.context.len, &ctx, &err))
    goto refuse;
  mod = kafu_node_module_find(d, m->u.migrate.module_hash);
  if (!mod && kafu_node_fetch_module(d, fd, id, m->u.migrate.module_hash, &mod, &err)) {
    kafu_log(KAFU_LOG_WARN, d->self->name, "job %016" PRIx64 " from %s: %s", id, src, err.msg);
    nack(fd, id, KAFU_PROTO_MODULE_MISMATCH, err.msg);
    goto out;
  }
  const uint8_t *snap = m->u.migrate.snapshot.data;
  size_t snap_len = m->u.migrate.snapshot.len;
  /* The job's instance from its last visit, if it is still parked here. */
  kafu_node_job *parked = kafu_node_unpark(d, id, KAFU_NODE_PARK_WAIT_MS);
  if (parked && parked->mod != mod) {
    kafu_node_job_release(parked);
    parked = NULL;
  }
  char miss[KAFU_ERROR_MAX];
  if (!kafu_node_delta_fits(parked, snap, snap_len, miss, sizeof miss)) {
    /* untouched: it may still serve a full resend */
    if (parked && !kafu_node_park(d, parked)) kafu_node_job_release(parked);
    kafu_log(KAFU_LOG_INFO, d->self->name, "job %016" PRIx64 " from %s: %s", id, src, miss);
    nack(fd, id, KAFU_NODE_NACK_BASELINE, miss);
    goto out;
  }
  bool warm = false;
  double t_created = kafu_node_now_ms();
  if (parked) {
    j = parked;
    parked = NULL;
    if (!kafu_node_delta_restore(j, snap, snap_len, true, &err)) {
      warm = true;
      kafu_node_job_reuse(j, m->u.migrate.origin, m->u.migrate.next_output_seq, &ctx);
    } else if (kafu_snapshot_is_delta(snap, snap_len, NULL, NULL)) {
      goto refuse; /* the parked memory may be half written: j is freed */
    } else {
      kafu_log(KAFU_LOG_DEBUG, d->self->name,
               "job %016" PRIx64 ": parked instance refused the snapshot (%s); using a fresh one",
               id, err.msg);
      kafu_node_job_release(j);
      j = NULL;
    }
  }
  if (!warm) {
    if (kafu_node_job_create(d, id, m->u.migrate.origin, m->u.migrate.next_output_seq, &ctx, mod,
                             &j, &err))
      goto refuse;
    t_created = kafu_node_now_ms();
    if (kafu_node_delta_restore(j, snap, snap_len, false, &err)) goto refuse;
  }
  kafu_log(KAFU_LOG_DEBUG, d->self->name,
           "job %016" PRIx64 ": restored into a %s instance: checks+create %.3f ms, restore %.3f ms",
           id, warm ? "parked" : "fresh", t_created - t0, kafu_node_now_ms() - t_created);
  kafu_msg ack = {.type = KAFU_MSG_ACK};
  ack.u.ack.acked_type = KAFU_MSG_MIGRATE;
  ack.u.ack.restore_us = (uint64_t)((kafu_node_now_ms() - t0) * 1e3);
  if (kafu_node_send(fd, &ack, id, 0, NULL, &err)) {
    keep = false;
    goto out;
  }
  /* Phase two: the job is ours only once the source commits. */
  kafu_node_frame commit;
  kafu_node_recv_fail why;
  if (kafu_node_recv(fd, (int)d->cfg->migration.migration_timeout_ms, 1u << 16, &d->stop, &commit,
                     &why, &err)) {
    kafu_log(KAFU_LOG_WARN, d->self->name,
             "job %016" PRIx64 " from %s: no COMMIT (%s); dropped the restored copy", id, src,
             err.msg);
    keep = false;
    goto out;
  }
  bool is_commit = commit.h.type == KAFU_MSG_COMMIT && commit.h.job_id == id;
  /* The job is ours: its migration EVENT first, before any later output. */
  if (is_commit) emit_commit_event(j, m->u.migrate.next_output_seq, commit.msg.u.commit.event);
  kafu_node_frame_free(&commit);
  if (!is_commit) {
    kafu_log(KAFU_LOG_WARN, d->self->name,
             "job %016" PRIx64 " from %s: expected COMMIT; dropped the restored copy", id, src);
    kafu_node_send_error(fd, id, 0, KAFU_PROTO_BAD_PAYLOAD, "expected COMMIT");
    keep = false;
    goto out;
  }
  kafu_node_offload_note_alive(d->offload, src, kafu_node_now_ms());
  if (!strcmp(src, kafu_config_first_node(d->cfg)->name))
    atomic_store(&d->coordinator_heard_ms, kafu_node_now_ms());
  /* This node now holds the image src parked: the baseline of a delta back. */
  if (kafu_node_delta_on(d) && kafu_node_peers_find(&d->peers, src) &&
      !kafu_node_baseline_put(&d->baselines, id, src, kafu_job_seq(j->job), &j->table,
                               j->image_id))
    kafu_log(KAFU_LOG_WARN, d->self->name,
             "job %016" PRIx64 ": no delta baseline kept for %s (out of memory)", id, src);
  pthread_mutex_lock(&d->lock);
  d->migrations_in++;
  pthread_mutex_unlock(&d->lock);
  kafu_log(KAFU_LOG_INFO, d->self->name, "job %016" PRIx64 ": arrived from %s (%s), restore %.3f ms",
           id, src, m->u.migrate.function[0] ? m->u.migrate.function : "-", ack.u.ack.restore_us / 1e3);
  kafu_node_job *started = j;
  j = NULL;
  if (kafu_node_job_start(started, &err))
    kafu_log(KAFU_LOG_ERROR, d->self->name, "job %016" PRIx64 ": cannot start: %s", id, err.msg);
  goto out;
refuse:
  kafu_log(KAFU_LOG_WARN, d->self->name, "job %016" PRIx64 " from %s refused: %s", id, src, err.msg);
  nack(fd, id, KAFU_PROTO_RESTORE_FAILED, err.msg);
out:
  kafu_node_ctx_free(&ctx);
  kafu_node_job_release(j);
  return keep;
}
