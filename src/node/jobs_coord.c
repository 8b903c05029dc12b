/* The coordinator's side of a job: output, events and the exit arrive from
 * whichever node runs the job, possibly out of order (each node has its own
 * connection); they are released to the client strictly by output seq. It
 * also watches the node the job runs on, and the node that still owes a
 * frame, for death or a restart (docs/failures.md). A node that gets the job
 * sends the migrate EVENT that brought it there (the COMMIT carried it), then
 * the job's output, until the next destination sends the next EVENT. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/daemon.h"
#include "util/log.h"

/* A coordinator record with the part only this file uses. Every record is
 * made by kafu_node_coord_new, so a kafu_node_coord * is the first member
 * of one of these. */
typedef struct coord_rec {
  kafu_node_coord c;
  /* Where the job was at the release position: the destination of the last
   * migrate EVENT released to the client (this node before any), and when
   * that EVENT arrived here. The frames after it come from the holder (its
   * output) or from the node it handed the job to (the EVENT of that
   * handoff and what follows): see hole_owner. */
  char holder[KAFU_NODE_NAME_MAX];
  double holder_since_ms;
} coord_rec;

/* A queued item and when it arrived; every item is made by coord_put. */
typedef struct out_rec {
  kafu_node_out o;
  double arrived_ms;
} out_rec;

kafu_node_coord *kafu_node_coord_new(kafu_node_daemon *d, uint64_t id) {
  coord_rec *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  kafu_node_coord *c = &r->c;
  c->id = id;
  snprintf(c->running_on, sizeof c->running_on, "%s", d->self->name);
  c->running_since_ms = kafu_node_now_ms();
  snprintf(r->holder, sizeof r->holder, "%s", d->self->name);
  r->holder_since_ms = c->running_since_ms;
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

/* The record of job id with its lock held, or NULL. */
static kafu_node_coord *lock_coord(kafu_node_daemon *d, uint64_t id) {
  pthread_mutex_lock(&d->lock);
  kafu_node_coord *c = d->coords;
  while (c && c->id != id) c = c->next;
  if (c) pthread_mutex_lock(&c->lock);
  pthread_mutex_unlock(&d->lock);
  return c;
}

/* With c->lock held: the job is on dst from output seq seq on, unless an
 * EVENT with a higher seq already said where it went next. */
static void note_running(kafu_node_coord *c, uint64_t seq, const char *dst) {
  if (seq < c->running_seq) return;
  snprintf(c->running_on, sizeof c->running_on, "%s", dst);
  c->running_seq = seq;
  c->running_since_ms = kafu_node_now_ms();
}

/* Records stay valid while their client stream runs: only the stream frees
 * them, after the EXIT went out. Frames for a finished job are refused. */
kafu_err kafu_node_coord_put(kafu_node_daemon *d, uint64_t id, uint8_t type, uint64_t seq,
                             uint8_t fd, const uint8_t *data, size_t len, kafu_error *err) {
  kafu_node_coord *c = lock_coord(d, id);
  if (!c) return kafu_fail(err, KAFU_E_INPUT, "no job %016" PRIx64 " is coordinated here", id);
  kafu_err rc = KAFU_OK;
  if (seq < c->next_seq) {
    rc = kafu_fail(err, KAFU_E_INPUT, "job %016" PRIx64 ": duplicate output seq %" PRIu64, id, seq);
    goto out;
  }
  out_rec *item = calloc(1, sizeof *item);
  uint8_t *copy = malloc(len + 1);
  if (!item || !copy) {
    free(item);
    free(copy);
    rc = kafu_fail(err, KAFU_E_NOMEM, "out of memory");
    goto out;
  }
  item->arrived_ms = kafu_node_now_ms();
  kafu_node_out *o = &item->o;
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
  if (type == KAFU_MSG_EVENT && sscanf((const char *)copy, "migrate %63s %63s", src, dst) == 2)
    note_running(c, seq, dst);
  pthread_cond_broadcast(&c->cond);
out:
  pthread_mutex_unlock(&c->lock);
  return rc;
}

void kafu_node_coord_handed(kafu_node_daemon *d, uint64_t id, uint64_t seq, const char *dst) {
  kafu_node_coord *c = lock_coord(d, id);
  if (!c) return;
  note_running(c, seq, dst);
  pthread_mutex_unlock(&c->lock);
}

kafu_err kafu_node_coord_exit(kafu_node_daemon *d, uint64_t id, const kafu_msg *m,
                              kafu_error *err) {
  kafu_node_coord *c = lock_coord(d, id);
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

/* Takes the item with seq == next_seq out of the pending list, or NULL. A
 * released migrate EVENT moves the record's holder. */
static kafu_node_out *take_next(coord_rec *r) {
  kafu_node_coord *c = &r->c;
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
  char src[KAFU_NODE_NAME_MAX], dst[KAFU_NODE_NAME_MAX];
  if (o->type == KAFU_MSG_EVENT &&
      sscanf((const char *)o->data, "migrate %63s %63s", src, dst) == 2) {
    snprintf(r->holder, sizeof r->holder, "%s", dst);
    r->holder_since_ms = ((out_rec *)o)->arrived_ms;
  }
  return o;
}

/* Whether node `name`, which got the job at since_ms, has lost it: a
 * HEARTBEAT reply proves its process started after since_ms (it restarted),
 * or, on the first node (where followers send heartbeats), it has been
 * silent for three intervals (+2 s) counted from its last heartbeat or from
 * since_ms. *why says which. With c->lock held (the peer locks are leaves). */
static bool node_gone(kafu_node_daemon *d, const char *name, double since_ms, char *why,
                      size_t cap) {
  const kafu_config_node *node = kafu_config_find_node(d->cfg, name);
  if (!node) return false;
  kafu_node_peer_life life = kafu_node_peers_life(&d->peers, name);
  double now = kafu_node_now_ms();
  if (life.started_after_ms > since_ms) {
    snprintf(why, cap, "it restarted %.0f ms ago", now - life.started_after_ms);
    return true;
  }
  if (d->self != kafu_config_first_node(d->cfg)) return false;
  double limit = 3.0 * d->cfg->heartbeat.interval_ms + 2000, last = since_ms;
  size_t i = (size_t)(node - d->cfg->nodes);
  pthread_mutex_lock(&d->hb_lock);
  if (d->last_heartbeat_ms[i] > last) last = d->last_heartbeat_ms[i];
  pthread_mutex_unlock(&d->hb_lock);
  if (life.last_reply_ms > last) last = life.last_reply_ms;
  if (now - last <= limit) return false;
  snprintf(why, cap, "no heartbeat for %.0f ms", now - last);
  return true;
}

/* The lowest seq above a hole at next_seq that will end it: the first
 * pending item, or the exit's output_end. 0 when there is no hole. */
static uint64_t hole_end(const kafu_node_coord *c) {
  uint64_t end = 0;
  for (const kafu_node_out *o = c->pending; o; o = o->next) {
    if (o->seq == c->next_seq) return 0;
    if (!end || o->seq < end) end = o->seq;
  }
  if (!end && c->exited && c->next_seq < c->output_end) end = c->output_end;
  return end;
}

/* The node that owes the frames of a hole at next_seq ending at end: the one
 * that held the job just before end. A migrate EVENT "X Y" at end names it
 * (X sent the EVENT that brought the job to it and its output since); an
 * exit at end names the node it ran on; after an OUTPUT only the holder is
 * known, which owes the hole unless it is the EVENT of the holder's own
 * handoff (sent by a destination not yet heard of). */
static const char *hole_owner(const coord_rec *r, uint64_t end, char *buf, size_t cap) {
  const kafu_node_coord *c = &r->c;
  char src[KAFU_NODE_NAME_MAX], dst[KAFU_NODE_NAME_MAX];
  for (const kafu_node_out *o = c->pending; o; o = o->next) {
    if (o->seq != end) continue;
    if (o->type == KAFU_MSG_EVENT &&
        sscanf((const char *)o->data, "migrate %63s %63s", src, dst) == 2) {
      snprintf(buf, cap, "%s", src);
      return buf;
    }
    return r->holder;
  }
  return c->exited && end == c->output_end && c->exit_node[0] ? c->exit_node : r->holder;
}

/* With c->lock held: later frames (or the exit) are here but next_seq is
 * missing, and the node that owed the missing frames (hole_owner) died or
 * restarted since the release position. It handed the job on (the later
 * frames came from elsewhere) and lost the frames with it, typically the
 * EVENT that brought the job to it, sent right after COMMIT: skip them
 * rather than hold the rest forever. */
static void skip_dead_hole(kafu_node_daemon *d, coord_rec *r) {
  kafu_node_coord *c = &r->c;
  uint64_t end = hole_end(c);
  char why[128], buf[KAFU_NODE_NAME_MAX];
  if (!end || c->lost) return;
  const char *owner = hole_owner(r, end, buf, sizeof buf);
  if (!strcmp(owner, d->self->name) || !node_gone(d, owner, r->holder_since_ms, why, sizeof why))
    return;
  kafu_log(KAFU_LOG_WARN, d->self->name,
           "job %016" PRIx64 ": output seq %" PRIu64 "..%" PRIu64
           " will not come: %s handed the job on and then died (%s); skipping it",
           c->id, c->next_seq, end - 1, owner, why);
  c->next_seq = end;
}

/* With c->lock held: a job whose node died (node_gone) is reported as
 * failed, so the client does not wait forever, unless the job runs here
 * (`here`): then the EVENT of its way back never came, and this node is
 * where it runs. */
static void check_alive(kafu_node_daemon *d, kafu_node_coord *c, bool here) {
  if (c->exited || !strcmp(c->running_on, d->self->name)) return;
  char why[128];
  if (!node_gone(d, c->running_on, c->running_since_ms, why, sizeof why)) return;
  if (here) {
    kafu_log(KAFU_LOG_WARN, d->self->name,
             "job %016" PRIx64 ": %s is gone (%s) but the job runs here; its move here was "
             "never reported",
             c->id, c->running_on, why);
    snprintf(c->running_on, sizeof c->running_on, "%s", d->self->name);
    c->running_since_ms = kafu_node_now_ms();
    return;
  }
  char msg[256];
  snprintf(msg, sizeof msg, "node %s lost while running the job (%s)", c->running_on, why);
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
}

/* Called with c->lock held, returns with it held (it is dropped on the way,
 * to take d->lock first, the order coord_put uses). */
static void watch(kafu_node_daemon *d, coord_rec *r) {
  kafu_node_coord *c = &r->c;
  pthread_mutex_unlock(&c->lock);
  pthread_mutex_lock(&d->lock);
  pthread_mutex_lock(&c->lock);
  bool here = false;
  for (kafu_node_job *j = d->jobs; j && !here; j = j->next) here = j->id == c->id;
  skip_dead_hole(d, r);
  check_alive(d, c, here);
  pthread_mutex_unlock(&d->lock);
}

void kafu_node_coord_stream(kafu_node_daemon *d, kafu_node_coord *c, int client_fd) {
  coord_rec *r = (coord_rec *)c;
  bool client_ok = true, done = false;
  kafu_error err = {0};
  while (!done) {
    pthread_mutex_lock(&c->lock);
    kafu_node_out *o = NULL;
    while (!(o = take_next(r)) && !(c->exited && c->next_seq >= c->output_end) && !d->stop) {
      struct timespec ts;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      ts.tv_nsec += 200 * 1000000L;
      if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
      pthread_cond_timedwait(&c->cond, &c->lock, &ts);
      watch(d, r);
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
