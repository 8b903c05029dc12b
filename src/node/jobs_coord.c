/* The coordinator's side of a job: output, events and the exit arrive from
 * whichever node runs the job, possibly out of order (each node has its own
 * connection); they are released to the client strictly by output seq. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/daemon.h"
#include "util/log.h"


kafu_node_coord *kafu_node_coord_new(kafu_node_daemon *d, uint64_t id) {
  kafu_node_coord *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->id = id;
  snprintf(c->running_on, sizeof c->running_on, "%s", d->self->name);
  c->running_since_ms = kafu_node_now_ms();
  pthread_mutex_init(&c->lock, NULL);
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&c->cond, &attr);
  pthread_condattr_destroy(&attr);
  pthread_mutex_lock(&d->lock);
  c->next = d->coords;
  d->coords = c;
  pthread_mutex_unlock(&d->lock);
  return c;
}

kafu_node_coord *kafu_node_coord_find(kafu_node_daemon *d, uint64_t id) {
  pthread_mutex_lock(&d->lock);
  kafu_node_coord *c = d->coords;
  while (c && c->id != id) c = c->next;
  pthread_mutex_unlock(&d->lock);
  return c;
}

static void coord_free(kafu_node_daemon *d, kafu_node_coord *c) {
  pthread_mutex_lock(&d->lock);
  for (kafu_node_coord **p = &d->coords; *p; p = &(*p)->next)
    if (*p == c) {
      *p = c->next;
      break;
    }
  pthread_mutex_unlock(&d->lock);
  /* A put that found c before it left the list holds c->lock: wait for it. */
  pthread_mutex_lock(&c->lock);
  pthread_mutex_unlock(&c->lock);
  while (c->pending) {
    kafu_node_out *o = c->pending;
    c->pending = o->next;
    free(o->data);
    free(o);
  }
  free(c->exit_message);
  pthread_mutex_destroy(&c->lock);
  pthread_cond_destroy(&c->cond);
  free(c);
}

/* Records stay valid while their client stream runs: only the stream frees
 * them, after the EXIT went out. Frames for a finished job are refused. */
kafu_err kafu_node_coord_put(kafu_node_daemon *d, uint64_t id, uint8_t type, uint64_t seq,
                             uint8_t fd, const uint8_t *data, size_t len, kafu_error *err) {
  pthread_mutex_lock(&d->lock);
  kafu_node_coord *c = d->coords;
  while (c && c->id != id) c = c->next;
  if (c) pthread_mutex_lock(&c->lock);
  pthread_mutex_unlock(&d->lock);
  if (!c) return kafu_fail(err, KAFU_E_INPUT, "no job %016" PRIx64 " is coordinated here", id);
  kafu_err rc = KAFU_OK;
  if (seq < c->next_seq) {
    rc = kafu_fail(err, KAFU_E_INPUT, "job %016" PRIx64 ": duplicate output seq %" PRIu64, id, seq);
    goto out;
  }
  kafu_node_out *o = calloc(1, sizeof *o);
  uint8_t *copy = malloc(len + 1);
  if (!o || !copy) {
    free(o);
    free(copy);
    rc = kafu_fail(err, KAFU_E_NOMEM, "out of memory");
    goto out;
  }
  memcpy(copy, data, len);
  copy[len] = '\0';
  o->seq = seq;
  o->type = type;
  o->fd = fd;
  o->data = copy;
  o->len = len;
  o->next = c->pending;
  c->pending = o;
  char src[KAFU_NODE_NAME_MAX], dst[KAFU_NODE_NAME_MAX];
  if (type == KAFU_MSG_EVENT && seq >= c->running_seq &&
      sscanf((const char *)copy, "migrate %63s %63s", src, dst) == 2) {
    snprintf(c->running_on, sizeof c->running_on, "%s", dst);
    c->running_seq = seq;
    c->running_since_ms = kafu_node_now_ms();
  }
  pthread_cond_broadcast(&c->cond);
out:
  pthread_mutex_unlock(&c->lock);
  return rc;
}

kafu_err kafu_node_coord_exit(kafu_node_daemon *d, uint64_t id, const kafu_msg *m,
                              kafu_error *err) {
  pthread_mutex_lock(&d->lock);
  kafu_node_coord *c = d->coords;
  while (c && c->id != id) c = c->next;
  if (c) pthread_mutex_lock(&c->lock);
  pthread_mutex_unlock(&d->lock);
  if (!c) return kafu_fail(err, KAFU_E_INPUT, "no job %016" PRIx64 " is coordinated here", id);
  /* The job is over: the coordinator's delta baselines for it are useless. */
  kafu_node_baselines_forget_job(&d->baselines, id);
  kafu_err rc = KAFU_OK;
  if (c->exited) {
    rc = kafu_fail(err, KAFU_E_INPUT, "job %016" PRIx64 ": second EXIT", id);
  } else {
    c->exited = true;
    c->exit_status = m->u.exit.status;
    c->exit_code = m->u.exit.code;
    snprintf(c->exit_node, sizeof c->exit_node, "%s", m->u.exit.node);
    c->exit_message = strdup(m->u.exit.message ? m->u.exit.message : "");
    c->output_end = m->u.exit.output_end;
    pthread_cond_broadcast(&c->cond);
  }
  pthread_mutex_unlock(&c->lock);
  return rc;
}

/* Takes the item with seq == next_seq out of the pending list, or NULL. */
static kafu_node_out *take_next(kafu_node_coord *c) {
  kafu_node_out **best = NULL;
  for (kafu_node_out **p = &c->pending; *p; p = &(*p)->next) {
    if ((*p)->seq == c->next_seq) {
      best = p;
      break;
    }
    if (c->lost && (!best || (*p)->seq < (*best)->seq)) best = p;
  }
  if (!best) return NULL;
  kafu_node_out *o = *best;
  *best = o->next;
  c->next_seq = o->seq + 1;
  return o;
}

/* With c->lock held: a job whose node stopped sending heartbeats (three
 * intervals, counted from its last heartbeat or from the job's arrival there)
 * is reported as failed, so the client does not wait forever. Only followers
 * send heartbeats to the first node, so only the first node can tell. */
static void check_alive(kafu_node_daemon *d, kafu_node_coord *c) {
  if (c->exited || !strcmp(c->running_on, d->self->name)) return;
  if (d->self != kafu_config_first_node(d->cfg)) return;
  double limit = 3.0 * d->cfg->heartbeat.interval_ms + 2000, now = kafu_node_now_ms();
  for (size_t i = 0; i < d->cfg->n_nodes; i++) {
    if (strcmp(d->cfg->nodes[i].name, c->running_on)) continue;
    pthread_mutex_lock(&d->hb_lock);
    double last = d->last_heartbeat_ms[i];
    pthread_mutex_unlock(&d->hb_lock);
    if (last < c->running_since_ms) last = c->running_since_ms;
    if (now - last <= limit) return;
    char msg[256];
    snprintf(msg, sizeof msg, "node %s lost while running the job (no heartbeat for %.0f ms)",
             c->running_on, now - last);
    kafu_log(KAFU_LOG_ERROR, d->self->name, "job %016" PRIx64 ": %s", c->id, msg);
    c->exited = true;
    c->exit_status = KAFU_EXIT_ERROR;
    c->exit_code = 1;
    snprintf(c->exit_node, sizeof c->exit_node, "%s", c->running_on);
    c->exit_message = strdup(msg);
    c->lost = true;
    /* What is still missing will not come: release what is here. */
    c->output_end = c->next_seq;
    for (kafu_node_out *o = c->pending; o; o = o->next)
      if (o->seq >= c->output_end) c->output_end = o->seq + 1;
    return;
  }
}

void kafu_node_coord_stream(kafu_node_daemon *d, kafu_node_coord *c, int client_fd) {
  bool client_ok = true, done = false;
  kafu_error err = {0};
  while (!done) {
    pthread_mutex_lock(&c->lock);
    kafu_node_out *o = NULL;
    while (!(o = take_next(c)) && !(c->exited && c->next_seq >= c->output_end) && !d->stop) {
      struct timespec ts;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      ts.tv_nsec += 200 * 1000000L;
      if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
      pthread_cond_timedwait(&c->cond, &c->lock, &ts);
      check_alive(d, c);
    }
    kafu_msg m;
    memset(&m, 0, sizeof m);
    if (o) {
      m.type = o->type;
      if (o->type == KAFU_MSG_OUTPUT) {
        m.u.output.fd = o->fd;
        m.u.output.out_seq = o->seq;
        m.u.output.data.data = o->data;
        m.u.output.data.len = (uint32_t)o->len;
      } else {
        m.u.event.out_seq = o->seq;
        m.u.event.text = (const char *)o->data;
      }
    } else if (c->exited) {
      m.type = KAFU_MSG_EXIT;
      m.u.exit.status = c->exit_status;
      m.u.exit.code = c->exit_code;
      m.u.exit.node = c->exit_node;
      m.u.exit.message = c->exit_message;
      m.u.exit.output_end = c->output_end;
      done = true;
    } else {
      done = true; /* daemon stopping */
    }
    pthread_mutex_unlock(&c->lock);
    if (m.type && client_ok && kafu_node_send(client_fd, &m, c->id, 0, NULL, &err)) {
      kafu_log(KAFU_LOG_WARN, d->self->name,
               "job %016" PRIx64 ": client gone (%s); its output is dropped", c->id, err.msg);
      client_ok = false;
    }
    if (o) {
      free(o->data);
      free(o);
    }
  }
  coord_free(d, c);
}

void kafu_node_coord_discard(kafu_node_daemon *d, kafu_node_coord *c) { coord_free(d, c); }
