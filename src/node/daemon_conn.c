/* One thread per accepted connection: reads frames and answers them.
 * Requests (HELLO, HEARTBEAT, MODULE_*, SUBMIT, MIGRATE, STATUS, SHUTDOWN,
 * OFFLOAD_NOW) get a reply; OUTPUT, EVENT and EXIT from peers never do, so a
 * pooled connection's next reply is always its own. A frame that cannot be
 * trusted gets an ERROR and the connection is closed; nothing else is
 * harmed. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "node/daemon.h"
#include "node/resume.h"
#include "util/log.h"

#define CONN_MAX_PAYLOAD (512u << 20)

typedef struct conn {
  kafu_node_daemon *d;
  int fd;
  char peer[80];       /* address:port */
  char name[KAFU_NODE_NAME_MAX]; /* from HELLO, or "?" */
} conn;

static void reply_ack(conn *c, uint64_t job_id, uint8_t acked) {
  kafu_msg m = {.type = KAFU_MSG_ACK};
  m.u.ack.acked_type = acked;
  (void)kafu_node_send(c->fd, &m, job_id, 0, NULL, NULL);
}

kafu_err kafu_node_fetch_module(kafu_node_daemon *d, int fd, uint64_t job_id,
                                const uint8_t sha[KAFU_SHA256_LEN], kafu_node_module **out,
                                kafu_error *err) {
  kafu_msg need = {.type = KAFU_MSG_MODULE_NEED};
  memcpy(need.u.module_need.hash, sha, KAFU_SHA256_LEN);
  kafu_node_frame f;
  kafu_node_recv_fail why;
  kafu_err rc = kafu_node_send(fd, &need, job_id, 0, NULL, err);
  if (rc) return rc;
  rc = kafu_node_recv(fd, (int)d->cfg->migration.migration_timeout_ms, CONN_MAX_PAYLOAD, &d->stop,
                      &f, &why, err);
  if (rc) return kafu_error_prefix(err, "waiting for MODULE_PUT");
  if (f.h.type != KAFU_MSG_MODULE_PUT) {
    rc = kafu_fail(err, KAFU_E_INPUT, "expected MODULE_PUT, got %s", kafu_proto_type_name(f.h.type));
  } else if (memcmp(f.msg.u.module_put.hash, sha, KAFU_SHA256_LEN)) {
    rc = kafu_fail(err, KAFU_E_INPUT, "MODULE_PUT names another module than asked for");
  } else {
    rc = kafu_node_module_add(d, sha, f.msg.u.module_put.module.data,
                              f.msg.u.module_put.module.len, out, err);
    if (rc) kafu_error_prefix(err, "MODULE_PUT");
  }
  kafu_node_frame_free(&f);
  return rc;
}

static void on_hello(conn *c, const kafu_msg *m) {
  kafu_node_daemon *d = c->d;
  snprintf(c->name, sizeof c->name, "%s", m->u.hello.name);
  if (m->u.hello.cluster && *m->u.hello.cluster && strcmp(m->u.hello.cluster, d->cfg->name)) {
    char msg[256];
    snprintf(msg, sizeof msg, "this is cluster '%s', not '%s'", d->cfg->name, m->u.hello.cluster);
    kafu_log(KAFU_LOG_WARN, d->self->name, "%s (%s): %s", c->peer, c->name, msg);
    kafu_node_send_error(c->fd, 0, 0, KAFU_PROTO_WRONG_CLUSTER, msg);
    return;
  }
  kafu_msg r = {.type = KAFU_MSG_HELLO};
  r.u.hello.version = KAFU_PROTO_VERSION;
  r.u.hello.role = KAFU_HELLO_NODE;
  r.u.hello.name = d->self->name;
  r.u.hello.cluster = d->cfg->name;
  r.u.hello.software = "kafu 0.1.0";
  (void)kafu_node_send(c->fd, &r, 0, 0, NULL, NULL);
}

static uint32_t count_jobs(kafu_node_daemon *d) {
  uint32_t n = 0;
  pthread_mutex_lock(&d->lock);
  for (kafu_node_job *j = d->jobs; j; j = j->next) n++;
  pthread_mutex_unlock(&d->lock);
  return n;
}

static void on_heartbeat(conn *c, const kafu_msg *m) {
  kafu_node_daemon *d = c->d;
  for (size_t i = 0; i < d->cfg->n_nodes; i++)
    if (!strcmp(d->cfg->nodes[i].name, m->u.heartbeat.node)) {
      pthread_mutex_lock(&d->hb_lock);
      d->last_heartbeat_ms[i] = kafu_node_now_ms();
      pthread_mutex_unlock(&d->hb_lock);
    }
  kafu_msg r = {.type = KAFU_MSG_HEARTBEAT};
  r.u.heartbeat.node = d->self->name;
  r.u.heartbeat.n_jobs = count_jobs(d);
  r.u.heartbeat.load_permille = kafu_node_offload_load_permille(d->offload);
  r.u.heartbeat.uptime_ms = (uint64_t)(kafu_node_now_ms() - d->started_ms);
  (void)kafu_node_send(c->fd, &r, 0, 0, NULL, NULL);
}

static void on_status(conn *c) {
  kafu_node_daemon *d = c->d;
  kafu_status_job jobs[64];
  uint32_t n = 0;
  kafu_msg r = {.type = KAFU_MSG_STATUS_REPLY};
  pthread_mutex_lock(&d->lock);
  for (kafu_node_job *j = d->jobs; j && n < 64; j = j->next)
    jobs[n++] = (kafu_status_job){j->id, KAFU_JOB_RUNNING, ""};
  for (kafu_node_coord *co = d->coords; co && n < 64; co = co->next)
    jobs[n++] = (kafu_status_job){co->id, KAFU_JOB_AWAY, "coordinated here"};
  r.u.status_reply.migrations_in = d->migrations_in;
  r.u.status_reply.migrations_out = d->migrations_out;
  pthread_mutex_unlock(&d->lock);
  r.u.status_reply.node = d->self->name;
  r.u.status_reply.uptime_ms = (uint64_t)(kafu_node_now_ms() - d->started_ms);
  r.u.status_reply.n_jobs = n;
  r.u.status_reply.jobs = jobs;
  (void)kafu_node_send(c->fd, &r, 0, 0, NULL, NULL);
}

static void on_module_put(conn *c, kafu_node_frame *f) {
  kafu_node_daemon *d = c->d;
  kafu_error err = {0};
  kafu_node_module *mod = NULL;
  const kafu_program *prog = NULL;
  if (kafu_node_module_add(d, f->msg.u.module_put.hash, f->msg.u.module_put.module.data,
                           f->msg.u.module_put.module.len, &mod, &err)) {
    kafu_log(KAFU_LOG_WARN, d->self->name, "%s (%s): MODULE_PUT refused: %s", c->peer, c->name,
             err.msg);
    kafu_node_send_error(c->fd, f->h.job_id, f->h.seq, KAFU_PROTO_MODULE_MISMATCH, err.msg);
    return;
  }
  /* Load now (aot compiles), so the first migration here does not pay it. */
  if (kafu_node_module_program(d, mod, &prog, &err)) {
    kafu_log(KAFU_LOG_WARN, d->self->name, "module from %s does not load: %s", c->name, err.msg);
    kafu_node_send_error(c->fd, f->h.job_id, f->h.seq, KAFU_PROTO_BAD_PAYLOAD, err.msg);
    return;
  }
  reply_ack(c, f->h.job_id, KAFU_MSG_MODULE_PUT);
}

static uint64_t new_job_id(void) {
  uint64_t id = 0;
  while (id == 0)
    if (getrandom(&id, sizeof id, 0) != sizeof id) id = (uint64_t)kafu_node_wall_us();
  return id;
}

/* SUBMIT: this node becomes the job's coordinator and first runner; the
 * connection then carries the job's output to the client until EXIT. */
static void on_submit(conn *c, kafu_node_frame *f) {
  kafu_node_daemon *d = c->d;
  const kafu_msg *m = &f->msg;
  kafu_error err = {0};
  kafu_node_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  kafu_node_job *j = NULL;
  kafu_node_coord *coord = NULL;
  uint64_t id = new_job_id();
  kafu_proto_code code = KAFU_PROTO_INTERNAL;
  kafu_node_module *mod = kafu_node_module_find(d, m->u.submit.module_hash);
  if (!mod && kafu_node_fetch_module(d, c->fd, 0, m->u.submit.module_hash, &mod, &err)) {
    code = KAFU_PROTO_MODULE_MISMATCH;
    goto fail;
  }
  if (kafu_node_ctx_from_submit(m, &ctx, &err)) goto fail;
  if (!(coord = kafu_node_coord_new(d, id))) {
    kafu_fail(&err, KAFU_E_NOMEM, "out of memory");
    goto fail;
  }
  if (kafu_node_job_create(d, id, d->self->name, 0, &ctx, mod, &j, &err)) {
    code = KAFU_PROTO_BAD_PAYLOAD;
    goto fail;
  }
  /* The start event is output number 0. */
  char text[256];
  snprintf(text, sizeof text, "start %s start_us=%" PRIu64, d->self->name, kafu_node_wall_us());
  kafu_msg ev = {.type = KAFU_MSG_EVENT};
  ev.u.event.out_seq = j->out_seq++;
  ev.u.event.text = text;
  if (kafu_node_job_emit(j, &ev, &err)) goto fail;
  kafu_msg ack = {.type = KAFU_MSG_ACK};
  ack.u.ack.acked_type = KAFU_MSG_SUBMIT;
  if (kafu_node_send(c->fd, &ack, id, f->h.seq, NULL, &err)) goto fail;
  kafu_log(KAFU_LOG_INFO, d->self->name, "job %016" PRIx64 ": started %s for %s%s", id,
           j->ctx.program, m->u.submit.origin,
           (j->ctx.flags & KAFU_SUBMIT_CHAOS) ? " (chaos)" : "");
  kafu_node_job *started = j;
  j = NULL;
  if (kafu_node_job_start(started, &err)) {
    kafu_msg ex = {.type = KAFU_MSG_EXIT};
    ex.u.exit.status = KAFU_EXIT_ERROR;
    ex.u.exit.code = 1;
    ex.u.exit.node = d->self->name;
    ex.u.exit.message = err.msg;
    kafu_node_coord_exit(d, id, &ex, NULL);
  }
  kafu_node_coord_stream(d, coord, c->fd);
  return;
fail:
  kafu_log(KAFU_LOG_WARN, d->self->name, "SUBMIT from %s refused: %s", c->name, err.msg);
  kafu_node_send_error(c->fd, 0, f->h.seq, code, err.msg);
  kafu_node_job_free(j);
  kafu_node_ctx_free(&ctx);
  if (coord) kafu_node_coord_discard(d, coord);
}

static void on_offload_now(conn *c, kafu_node_frame *f) {
  kafu_node_daemon *d = c->d;
  unsigned n = 0;
  pthread_mutex_lock(&d->lock);
  for (kafu_node_job *j = d->jobs; j; j = j->next, n++) kafu_job_request_offload(j->job);
  pthread_mutex_unlock(&d->lock);
  kafu_log(KAFU_LOG_INFO, d->self->name, "offload requested by %s: %u job(s) move at their next poll",
           c->name, n);
  reply_ack(c, 0, KAFU_MSG_OFFLOAD_NOW);
}

/* Fire-and-forget frames from the node running a job. */
static void on_job_stream(conn *c, kafu_node_frame *f) {
  kafu_node_daemon *d = c->d;
  kafu_error err = {0};
  kafu_err rc;
  const kafu_msg *m = &f->msg;
  if (f->h.type == KAFU_MSG_OUTPUT)
    rc = kafu_node_coord_put(d, f->h.job_id, KAFU_MSG_OUTPUT, m->u.output.out_seq, m->u.output.fd,
                             m->u.output.data.data, m->u.output.data.len, &err);
  else if (f->h.type == KAFU_MSG_EVENT)
    rc = kafu_node_coord_put(d, f->h.job_id, KAFU_MSG_EVENT, m->u.event.out_seq, 0,
                             (const uint8_t *)m->u.event.text, strlen(m->u.event.text), &err);
  else
    rc = kafu_node_coord_exit(d, f->h.job_id, m, &err);
  if (rc)
    kafu_log(KAFU_LOG_WARN, d->self->name, "%s from %s (%s) ignored: %s",
             kafu_proto_type_name(f->h.type), c->peer, c->name, err.msg);
}

static const char *fail_kind(kafu_node_recv_fail why, kafu_proto_code *code) {
  switch (why) {
  case KAFU_NODE_RECV_VERSION: *code = KAFU_PROTO_BAD_VERSION; return "bad version";
  case KAFU_NODE_RECV_TYPE: *code = KAFU_PROTO_UNKNOWN_TYPE; return "unknown type";
  case KAFU_NODE_RECV_PAYLOAD: *code = KAFU_PROTO_BAD_PAYLOAD; return "bad payload";
  default: *code = KAFU_PROTO_BAD_FRAME; return "bad frame";
  }
}

static void *conn_thread(void *arg) {
  conn *c = arg;
  kafu_node_daemon *d = c->d;
  bool keep = true;
  while (keep && !d->stop) {
    kafu_node_frame f;
    kafu_node_recv_fail why;
    kafu_error err = {0};
    if (kafu_node_recv(c->fd, -1, CONN_MAX_PAYLOAD, &d->stop, &f, &why, &err)) {
      if (why == KAFU_NODE_RECV_CLOSED || d->stop) break;
      kafu_proto_code code;
      const char *kind = fail_kind(why, &code);
      kafu_log(KAFU_LOG_WARN, d->self->name, "%s (%s): %s: %s; closing the connection", c->peer,
               c->name, kind, err.msg);
      if (why != KAFU_NODE_RECV_IO) kafu_node_send_error(c->fd, 0, 0, code, err.msg);
      break;
    }
    switch ((kafu_msg_type)f.h.type) {
    case KAFU_MSG_HELLO: on_hello(c, &f.msg); break;
    case KAFU_MSG_HEARTBEAT: on_heartbeat(c, &f.msg); break;
    case KAFU_MSG_MODULE_HAVE: {
      kafu_msg r = {.type = KAFU_MSG_MODULE_HAVE};
      memcpy(r.u.module_have.hash, f.msg.u.module_have.hash, KAFU_SHA256_LEN);
      r.u.module_have.present = kafu_node_module_find(d, f.msg.u.module_have.hash) != NULL;
      (void)kafu_node_send(c->fd, &r, f.h.job_id, f.h.seq, NULL, NULL);
      break;
    }
    case KAFU_MSG_MODULE_PUT: on_module_put(c, &f); break;
    case KAFU_MSG_SUBMIT:
      on_submit(c, &f);
      keep = false;
      break;
    case KAFU_MSG_MIGRATE:
      if (kafu_node_is_resume(d, &f)) {
        kafu_node_resume_serve(d, c->fd, &f); /* the connection streams the job now */
        keep = false;
      } else {
        keep = kafu_node_job_receive(d, c->fd, &f);
      }
      break;
    case KAFU_MSG_OUTPUT:
    case KAFU_MSG_EVENT:
    case KAFU_MSG_EXIT: on_job_stream(c, &f); break;
    case KAFU_MSG_STATUS: on_status(c); break;
    case KAFU_MSG_SHUTDOWN:
      kafu_log(KAFU_LOG_INFO, d->self->name, "shutdown requested by %s: %s", c->name,
               f.msg.u.shutdown.reason);
      reply_ack(c, 0, KAFU_MSG_SHUTDOWN);
      d->stop = 1;
      break;
    case KAFU_MSG_OFFLOAD_NOW: on_offload_now(c, &f); break;
    default: {
      char msg[128];
      snprintf(msg, sizeof msg, "unexpected %s", kafu_proto_type_name(f.h.type));
      kafu_log(KAFU_LOG_WARN, d->self->name, "%s (%s): %s", c->peer, c->name, msg);
      kafu_node_send_error(c->fd, f.h.job_id, f.h.seq, KAFU_PROTO_BAD_PAYLOAD, msg);
    }
    }
    kafu_node_frame_free(&f);
  }
  close(c->fd);
  free(c);
  kafu_node_thread_done(d);
  return NULL;
}

void kafu_node_conn_start(kafu_node_daemon *d, int fd, const char *peer) {
  conn *c = calloc(1, sizeof *c);
  kafu_error err = {0};
  if (!c) {
    close(fd);
    return;
  }
  c->d = d;
  c->fd = fd;
  snprintf(c->peer, sizeof c->peer, "%s", peer);
  snprintf(c->name, sizeof c->name, "?");
  if (kafu_node_spawn(d, conn_thread, c, &err)) {
    kafu_log(KAFU_LOG_ERROR, d->self->name, "cannot serve %s: %s", peer, err.msg);
    close(fd);
    free(c);
  }
}
