/* Parked instances: when a job leaves this node its spent instance stays
 * here, memory intact, so that the job's next arrival restores into warm
 * memory (no page faults) and a delta from the node it went to is applied
 * in place. Bounded by KAFU_NODE_PARK_BUDGET bytes, KAFU_NODE_PARK_MAX
 * entries and KAFU_NODE_PARK_IDLE_MS, least recently parked out first. */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <time.h>

#include "node/daemon.h"
#include "util/log.h"

static kafu_node_parked *find(kafu_node_daemon *d, uint64_t id) {
  for (kafu_node_parked *p = d->parked; p; p = p->next)
    if (p->id == id) return p;
  return NULL;
}

/* With d->lock held: unlinks p and returns its job (NULL if pending). */
static kafu_node_job *unlink_parked(kafu_node_daemon *d, kafu_node_parked *p) {
  for (kafu_node_parked **pp = &d->parked; *pp; pp = &(*pp)->next)
    if (*pp == p) {
      *pp = p->next;
      break;
    }
  d->parked_bytes -= p->bytes;
  kafu_node_job *j = p->j;
  free(p);
  pthread_cond_broadcast(&d->parked_cond);
  return j;
}

void kafu_node_park_announce(kafu_node_daemon *d, uint64_t id) {
  kafu_node_parked *p = calloc(1, sizeof *p);
  pthread_mutex_lock(&d->lock);
  kafu_node_parked *old = find(d, id);
  kafu_node_job *stale = old ? unlink_parked(d, old) : NULL;
  if (p) {
    p->id = id;
    p->stamp = ++d->parked_stamp;
    p->next = d->parked;
    d->parked = p;
  }
  pthread_mutex_unlock(&d->lock);
  kafu_node_job_release(stale);
}

bool kafu_node_park(kafu_node_daemon *d, kafu_node_job *j) {
  size_t bytes = 0;
  kafu_job_memory(j->job, &bytes);
  kafu_node_job *evicted[KAFU_NODE_PARK_MAX + 1];
  size_t n_evicted = 0;
  pthread_mutex_lock(&d->lock);
  kafu_node_parked *p = find(d, j->id);
  if (p && p->j) { /* an older instance of the same job: replaced */
    evicted[n_evicted++] = p->j;
    p->j = NULL;
    d->parked_bytes -= p->bytes;
  }
  if (!p && (p = calloc(1, sizeof *p))) {
    p->id = j->id;
    p->next = d->parked;
    d->parked = p;
  }
  if (!p) {
    pthread_mutex_unlock(&d->lock);
    for (size_t i = 0; i < n_evicted; i++)
      kafu_node_job_release(evicted[i]);
    return false;
  }
  p->j = j;
  p->bytes = bytes;
  p->stamp = ++d->parked_stamp;
  p->parked_ms = kafu_node_now_ms();
  d->parked_bytes += bytes;
  size_t n = 0;
  for (kafu_node_parked *q = d->parked; q; q = q->next)
    n++;
  while (n_evicted < KAFU_NODE_PARK_MAX) {
    kafu_node_parked *oldest = NULL;
    for (kafu_node_parked *q = d->parked; q; q = q->next)
      if (q->j && q != p && (!oldest || q->stamp < oldest->stamp)) oldest = q;
    bool over = d->parked_bytes > KAFU_NODE_PARK_BUDGET || n > KAFU_NODE_PARK_MAX;
    if (!oldest || (!over && p->parked_ms - oldest->parked_ms < KAFU_NODE_PARK_IDLE_MS)) break;
    evicted[n_evicted++] = unlink_parked(d, oldest);
    n--;
  }
  pthread_cond_broadcast(&d->parked_cond);
  pthread_mutex_unlock(&d->lock);
  for (size_t i = 0; i < n_evicted; i++)
    kafu_node_job_release(evicted[i]);
  return true;
}

void kafu_node_park_cancel(kafu_node_daemon *d, uint64_t id) {
  pthread_mutex_lock(&d->lock);
  kafu_node_parked *p = find(d, id);
  kafu_node_job *j = p && !p->j ? unlink_parked(d, p) : NULL;
  pthread_mutex_unlock(&d->lock);
  kafu_node_job_release(j);
}

kafu_node_job *kafu_node_unpark(kafu_node_daemon *d, uint64_t id, int wait_ms) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += wait_ms / 1000;
  until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  kafu_node_job *j = NULL;
  pthread_mutex_lock(&d->lock);
  kafu_node_parked *p;
  while ((p = find(d, id)) && !p->j)
    if (pthread_cond_timedwait(&d->parked_cond, &d->lock, &until) == ETIMEDOUT) break;
  if (p && p->j) j = unlink_parked(d, p);
  pthread_mutex_unlock(&d->lock);
  return j;
}

void kafu_node_park_forget(kafu_node_daemon *d, uint64_t id) {
  for (;;) {
    pthread_mutex_lock(&d->lock);
    kafu_node_parked *p = d->parked;
    while (p && id && p->id != id)
      p = p->next;
    kafu_node_job *j = p ? unlink_parked(d, p) : NULL;
    pthread_mutex_unlock(&d->lock);
    if (!p) return;
    kafu_node_job_release(j);
  }
}

void kafu_node_park_sweep(kafu_node_daemon *d, double now_ms) {
  for (;;) {
    pthread_mutex_lock(&d->lock);
    kafu_node_parked *p = d->parked;
    while (p && !(p->j && now_ms - p->parked_ms > KAFU_NODE_PARK_IDLE_MS))
      p = p->next;
    kafu_node_job *j = p ? unlink_parked(d, p) : NULL;
    pthread_mutex_unlock(&d->lock);
    if (!j) break;
    kafu_log(KAFU_LOG_DEBUG, d->self->name, "parked instance idle for %.0f s: ended",
             KAFU_NODE_PARK_IDLE_MS / 1e3);
    kafu_node_job_release(j);
  }
  pthread_mutex_lock(&d->lock);
  bool idle = !d->jobs && !d->parked;
  d->idle_sweeps = idle ? d->idle_sweeps + 1 : 0;
  /* Two sweeps: a released job's thread frees its instance after the first. */
  bool trim = d->idle_sweeps == 2;
  pthread_mutex_unlock(&d->lock);
  if (trim && malloc_trim(0))
    kafu_log(KAFU_LOG_DEBUG, d->self->name, "no jobs here: freed heap returned to the OS");
}
