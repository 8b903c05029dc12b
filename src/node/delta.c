/* The per-(job, peer) delta baselines of a node (delta.h): page-hash tables
 * of received images, replaced on every receipt, dropped when the job goes
 * back to that peer or ends, and kept within a byte budget. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/delta.h"

void kafu_node_baselines_init(kafu_node_baselines *b) {
  memset(b, 0, sizeof *b);
  pthread_mutex_init(&b->lock, NULL);
  b->inited = true;
}

/* A zero-filled store (a calloc'd daemon) initializes itself on first use. */
static void ensure_init(kafu_node_baselines *b) {
  static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_lock(&init_lock);
  if (!b->inited) kafu_node_baselines_init(b);
  pthread_mutex_unlock(&init_lock);
}

static size_t entry_bytes(const kafu_node_baseline *e) {
  return e->table.n * sizeof *e->table.h;
}

static void entry_free(kafu_node_baseline *e) {
  kafu_page_table_free(&e->table);
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
  b->bytes -= entry_bytes(e);
  e->unlinked = true;
  e->next = NULL;
  if (e->refs == 0) entry_free(e);
}

void kafu_node_baselines_free(kafu_node_baselines *b) {
  if (!b->inited) return;
  pthread_mutex_lock(&b->lock);
  while (b->list) unlink_entry(b, b->list);
  pthread_mutex_unlock(&b->lock);
  pthread_mutex_destroy(&b->lock);
}

static kafu_node_baseline *find(kafu_node_baselines *b, uint64_t job_id, const char *peer) {
  for (kafu_node_baseline *e = b->list; e; e = e->next)
    if (e->job_id == job_id && !strcmp(e->peer, peer)) return e;
  return NULL;
}

/* With b->lock held: drops the oldest entries until `need` more bytes fit. */
static void make_room(kafu_node_baselines *b, size_t need) {
  while (b->list && b->bytes + need > KAFU_NODE_BASELINE_BUDGET) {
    kafu_node_baseline *oldest = b->list;
    for (kafu_node_baseline *e = b->list; e; e = e->next)
      if (e->stamp < oldest->stamp) oldest = e;
    unlink_entry(b, oldest);
  }
}

bool kafu_node_baseline_put(kafu_node_baselines *b, uint64_t job_id, const char *peer,
                            uint64_t seq, const kafu_page_table *table,
                            const uint8_t id[KAFU_SHA256_LEN]) {
  ensure_init(b);
  kafu_node_baseline_drop(b, job_id, peer);
  size_t bytes = table->n * sizeof *table->h;
  if (bytes > KAFU_NODE_BASELINE_BUDGET) return false;
  kafu_node_baseline *e = calloc(1, sizeof *e);
  if (!e || !kafu_page_table_copy(&e->table, table)) {
    free(e);
    return false;
  }
  e->job_id = job_id;
  snprintf(e->peer, sizeof e->peer, "%s", peer);
  e->seq = seq;
  memcpy(e->id, id, KAFU_SHA256_LEN);
  pthread_mutex_lock(&b->lock);
  kafu_node_baseline *old = find(b, job_id, peer); /* a racing put */
  if (old) unlink_entry(b, old);
  make_room(b, bytes);
  e->stamp = ++b->stamp;
  e->next = b->list;
  b->list = e;
  b->bytes += bytes;
  pthread_mutex_unlock(&b->lock);
  return true;
}

kafu_node_baseline *kafu_node_baseline_get(kafu_node_baselines *b, uint64_t job_id,
                                           const char *peer) {
  ensure_init(b);
  pthread_mutex_lock(&b->lock);
  kafu_node_baseline *e = find(b, job_id, peer);
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

void kafu_node_baseline_drop(kafu_node_baselines *b, uint64_t job_id, const char *peer) {
  ensure_init(b);
  pthread_mutex_lock(&b->lock);
  kafu_node_baseline *e = find(b, job_id, peer);
  if (e) unlink_entry(b, e);
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
