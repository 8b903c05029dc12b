/* The per-(job, peer) delta baselines of a node (delta.h): announce before
 * COMMIT, fill while the image is still the transferred one, seal (hash) off
 * the pause path, look up with a bounded wait, free with the job. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/delta.h"

void kafu_node_baselines_init(kafu_node_baselines *b) {
  memset(b, 0, sizeof *b);
  pthread_mutex_init(&b->lock, NULL);
  pthread_cond_init(&b->ready, NULL);
  b->inited = true;
}

/* A zero-filled store (a calloc'd daemon) initializes itself on first use. */
static void ensure_init(kafu_node_baselines *b) {
  static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_lock(&init_lock);
  if (!b->inited) kafu_node_baselines_init(b);
  pthread_mutex_unlock(&init_lock);
}

/* With b->lock held (or no other user left). */
static void entry_free(kafu_node_baseline *e) {
  kafu_node_baseline *r = e->recycle;
  if (r && --r->refs == 0 && r->unlinked) entry_free(r);
  free(e->mem);
  free(e);
}

/* With b->lock held: takes e out of the list; freed now or by its last
 * borrower. */
static void unlink_entry(kafu_node_baselines *b, kafu_node_baseline *e) {
  for (kafu_node_baseline **p = &b->list; *p; p = &(*p)->next)
    if (*p == e) {
      *p = e->next;
      break;
    }
  b->bytes -= e->len;
  e->unlinked = true;
  e->next = NULL;
  if (e->refs == 0) entry_free(e);
  pthread_cond_broadcast(&b->ready);
}

void kafu_node_baselines_free(kafu_node_baselines *b) {
  if (!b->inited) return;
  pthread_mutex_lock(&b->lock);
  while (b->list) unlink_entry(b, b->list);
  pthread_mutex_unlock(&b->lock);
  pthread_cond_destroy(&b->ready);
  pthread_mutex_destroy(&b->lock);
}

static kafu_node_baseline *find(kafu_node_baselines *b, uint64_t job_id, const char *peer) {
  for (kafu_node_baseline *e = b->list; e; e = e->next)
    if (e->job_id == job_id && !strcmp(e->peer, peer)) return e;
  return NULL;
}

kafu_node_baseline *kafu_node_baseline_announce(kafu_node_baselines *b, uint64_t job_id,
                                                const char *peer, uint64_t seq) {
  ensure_init(b);
  kafu_node_baseline *e = calloc(1, sizeof *e);
  pthread_mutex_lock(&b->lock);
  kafu_node_baseline *old = find(b, job_id, peer);
  if (old && e) {
    old->refs++; /* kept for its buffer (recycle) */
    e->recycle = old;
  }
  if (old) unlink_entry(b, old);
  if (e) {
    e->job_id = job_id;
    snprintf(e->peer, sizeof e->peer, "%s", peer);
    e->seq = seq;
    e->refs = 1;
    e->stamp = ++b->stamp;
    e->next = b->list;
    b->list = e;
  }
  pthread_mutex_unlock(&b->lock);
  return e;
}

/* With b->lock held: drops the oldest ready, unborrowed entries until `need`
 * more bytes fit in the budget. */
static void make_room(kafu_node_baselines *b, size_t need) {
  while (b->bytes + need > KAFU_NODE_BASELINE_BUDGET) {
    kafu_node_baseline *oldest = NULL;
    for (kafu_node_baseline *e = b->list; e; e = e->next)
      if (e->ready && e->refs == 0 && (!oldest || e->stamp < oldest->stamp)) oldest = e;
    if (!oldest) return;
    unlink_entry(b, oldest);
  }
}

bool kafu_node_baseline_fill(kafu_node_baselines *b, kafu_node_baseline *e, const uint8_t *mem,
                             size_t len) {
  if (!e || !mem || len == 0 || len > KAFU_NODE_BASELINE_BUDGET) return false;
  uint8_t *copy = NULL;
  pthread_mutex_lock(&b->lock);
  kafu_node_baseline *r = e->recycle;
  if (r && r->refs == 1 && r->mem && r->len == len) {
    copy = r->mem; /* nobody borrows the old image any more: reuse its pages */
    r->mem = NULL;
    r->len = 0;
  } else {
    make_room(b, len);
  }
  pthread_mutex_unlock(&b->lock);
  if (!copy && !(copy = malloc(len))) return false;
  memcpy(copy, mem, len);
  pthread_mutex_lock(&b->lock);
  e->mem = copy;
  e->len = len;
  if (!e->unlinked) b->bytes += len;
  pthread_mutex_unlock(&b->lock);
  return true;
}

void kafu_node_baseline_seal(kafu_node_baselines *b, kafu_node_baseline *e, bool ok) {
  if (!e) return;
  pthread_mutex_lock(&b->lock);
  kafu_node_baseline *r = e->recycle;
  e->recycle = NULL;
  pthread_mutex_unlock(&b->lock);
  kafu_node_baseline_release(b, r);
  if (ok && e->mem) kafu_sha256(e->mem, e->len, e->sha256);
  pthread_mutex_lock(&b->lock);
  if (ok && e->mem) {
    e->ready = true;
    pthread_cond_broadcast(&b->ready);
  } else if (!e->unlinked) {
    unlink_entry(b, e);
  }
  pthread_mutex_unlock(&b->lock);
  kafu_node_baseline_release(b, e);
}

kafu_node_baseline *kafu_node_baseline_get(kafu_node_baselines *b, uint64_t job_id,
                                           const char *peer, int wait_ms) {
  ensure_init(b);
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += wait_ms / 1000;
  until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&b->lock);
  kafu_node_baseline *e;
  while ((e = find(b, job_id, peer)) && !e->ready)
    if (pthread_cond_timedwait(&b->ready, &b->lock, &until) == ETIMEDOUT) {
      e = NULL;
      break;
    }
  if (e) e->refs++;
  pthread_mutex_unlock(&b->lock);
  return e;
}

void kafu_node_baseline_release(kafu_node_baselines *b, kafu_node_baseline *e) {
  if (!e) return;
  pthread_mutex_lock(&b->lock);
  if (--e->refs == 0 && e->unlinked) entry_free(e);
  pthread_mutex_unlock(&b->lock);
}

void kafu_node_baselines_forget_job(kafu_node_baselines *b, uint64_t job_id) {
  ensure_init(b);
  pthread_mutex_lock(&b->lock);
  for (kafu_node_baseline *e = b->list, *next; e; e = next) {
    next = e->next;
    if (e->job_id == job_id) unlink_entry(b, e);
  }
  pthread_mutex_unlock(&b->lock);
}

size_t kafu_node_baselines_bytes(kafu_node_baselines *b, size_t *n_entries) {
  ensure_init(b);
  size_t n = 0;
  pthread_mutex_lock(&b->lock);
  for (kafu_node_baseline *e = b->list; e; e = e->next) n++;
  size_t bytes = b->bytes;
  pthread_mutex_unlock(&b->lock);
  if (n_entries) *n_entries = n;
  return bytes;
}
