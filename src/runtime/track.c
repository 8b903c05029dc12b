/* Write tracking of a job's memory, so that a delta encode reads only the
 * pages written since the job's page-hash table was last exact instead of
 * hashing all of memory on the migration pause (docs/dirty-tracking.md).
 *
 * The invariant: while job->track.tag is nonzero and a table carries the
 * same tag, every page the tracker does not report as written holds what
 * the table says. It is set up after an encode that hashed everything (the
 * table is exact then, and the job is spent until its next restore or run,
 * which arm the tracker first) and kept by every later encode (the scan
 * re-protects what it reports) and restore (its writes are tracked). */
#include <stdlib.h>
#include <string.h>

#include "runtime/job_internal.h"
#include "util/log.h"

#define PAGE 4096u
/* Below this much memory hashing it all costs under a millisecond: not
 * worth a fault on every first write. KAFU_DIRTY_TRACK=off|MiB overrides. */
#define TRACK_MIN_DEFAULT ((size_t)16 << 20)
/* Encodes to hash in full after an epoch that wrote too much. */
#define TRACK_REST 8
/* Hashing a page on two threads, µs (64 MiB in ~3.4 ms here). */
#define HASH_US_PER_PAGE 0.2
#define PAUSE_WEIGHT 4

static uint64_t g_next_tag = 1; /* atomic: jobs run on many threads */

/* KAFU_DIRTY_TRACK=always: track every memory, whatever it costs (tests). */
static bool track_always(void) {
  const char *v = getenv("KAFU_DIRTY_TRACK");
  return v && !strcmp(v, "always");
}

static size_t track_min_bytes(void) {
  const char *v = getenv("KAFU_DIRTY_TRACK");
  if (!v || !*v) return TRACK_MIN_DEFAULT;
  if (!strcmp(v, "always")) return 0;
  if (!strcmp(v, "off")) return SIZE_MAX;
  char *end = NULL;
  unsigned long long mib = strtoull(v, &end, 10);
  if (end && *end == '\0') return (size_t)mib << 20;
  return TRACK_MIN_DEFAULT;
}

static bool verify_on(void) {
  const char *v = getenv("KAFU_DIRTY_VERIFY");
  return v && *v && strcmp(v, "0");
}

static void drop(kafu_job_track *t) {
  kafu_dirty_disarm(t->dirty);
  t->tag = 0;
  t->armed = false;
}

/* The most pages an epoch may write and still be worth tracking: the
 * faults (off the pause) may cost up to PAUSE_WEIGHT times the hashing
 * they take off the pause, which stops the program. */
static size_t max_dirty(size_t n_pages) {
  double fault_us = kafu_dirty_fault_us();
  double frac = fault_us > 0 ? PAUSE_WEIGHT * HASH_US_PER_PAGE / fault_us : 0.5;
  if (frac < 1.0 / 64) frac = 1.0 / 64;
  if (frac > 0.5) frac = 0.5;
  return (size_t)(frac * (double)n_pages);
}

/* KAFU_DIRTY_VERIFY: every page the tracker calls clean must still hash
 * to its table entry. A miss would send a stale page; abort loudly. */
static void verify(const kafu_page_table *table, const uint8_t *mem, const uint8_t *bitmap,
                   size_t n_pages) {
  size_t n = table->n < n_pages ? table->n : n_pages;
  for (size_t i = 0; i < n; i++) {
    if ((bitmap[i >> 3] >> (i & 7)) & 1) continue;
    kafu_page_hash h = kafu_page_hash_of(mem + i * PAGE);
    if (h.lo != table->h[i].lo || h.hi != table->h[i].hi) {
      kafu_log(KAFU_LOG_ERROR, "track", "dirty tracking missed a write to page %zu of %zu", i,
               n_pages);
      abort();
    }
  }
}

/* Whether arming pays on this node: the job's next visit most likely
 * starts with an in-place restore as large as its last one, and every page
 * that restore writes faults on the pause; it must cost well under the
 * hashing that tracking takes off the next departure's pause. */
static bool arming_pays(const kafu_job_track *t, size_t n_pages) {
  if (track_always()) return true;
  double restore_us = (double)t->restore_pages * kafu_dirty_fault_us();
  return restore_us < (double)n_pages * HASH_US_PER_PAGE / 2;
}

void kafu_track_arm_pending(kafu_job *job) {
  kafu_job_track *t = &job->track;
  if (!t->tag || t->armed) return;
  size_t len = 0;
  const uint8_t *mem = kafu_instance_memory(job->inst, &len);
  if (!arming_pays(t, len / PAGE)) {
    kafu_log(KAFU_LOG_DEBUG, "track",
             "not tracking: the last restore wrote %zu pages, each a fault on the pause",
             t->restore_pages);
    drop(t);
    return;
  }
  kafu_error err = {0};
  if (len != t->len || kafu_dirty_arm(t->dirty, mem, len, &err)) {
    if (err.code) kafu_log(KAFU_LOG_DEBUG, "track", "%s", err.msg);
    drop(t);
    return;
  }
  t->armed = true;
}

bool kafu_track_before_encode(kafu_job *job, kafu_snapshot_opts *opts) {
  kafu_job_track *t = &job->track;
  kafu_page_table *table = opts->table_out;
  if (!t->tag) return false;
  size_t len = 0;
  const uint8_t *mem = kafu_instance_memory(job->inst, &len);
  if (!table || table->track_tag != t->tag || !t->armed || !kafu_dirty_covers(t->dirty, mem, len)) {
    drop(t); /* memory moved or grew, or another table: start over */
    return false;
  }
  size_t n_pages = len / PAGE;
  size_t need = (n_pages + 7) / 8;
  if (need > t->bitmap_cap) {
    uint8_t *b = realloc(t->bitmap, need);
    if (!b) {
      drop(t);
      return false;
    }
    t->bitmap = b;
    t->bitmap_cap = need;
  }
  kafu_error err = {0};
  if (kafu_dirty_scan(t->dirty, t->bitmap, &t->n_dirty, &err)) {
    kafu_log(KAFU_LOG_WARN, "track", "%s; hashing all of memory instead", err.msg);
    drop(t);
    return false;
  }
  kafu_log(KAFU_LOG_DEBUG, "track",
           "%zu of %zu pages written since the last encode (limit %zu, fault %.2f us)", t->n_dirty,
           n_pages, max_dirty(n_pages), kafu_dirty_fault_us());
  if (verify_on()) verify(table, mem, t->bitmap, n_pages);
  opts->dirty = t->bitmap;
  opts->dirty_n = n_pages;
  return true;
}

void kafu_track_after_encode(kafu_job *job, kafu_snapshot_opts *opts, bool scanned, bool ok) {
  kafu_job_track *t = &job->track;
  kafu_page_table *table = opts->table_out;
  if (!ok || !table) {
    if (scanned) drop(t); /* the scan cleared marks the table never took in */
    return;
  }
  size_t len = 0;
  kafu_instance_memory(job->inst, &len);
  size_t n_pages = len / PAGE;
  if (scanned) {
    if (t->n_dirty > max_dirty(n_pages) && !track_always()) {
      drop(t); /* this program writes too much to track cheaply */
      t->rest = TRACK_REST;
      return;
    }
    if (!arming_pays(t, n_pages)) {
      kafu_log(KAFU_LOG_DEBUG, "track",
               "not tracking: the last restore wrote %zu pages, each a fault on the pause",
               t->restore_pages);
      drop(t);
      return;
    }
    table->track_tag = t->tag; /* exact now, and the scan re-armed */
    return;
  }
  if (t->unsupported || len < track_min_bytes()) return;
  if (t->rest) {
    t->rest--;
    return;
  }
  if (!t->dirty) {
    kafu_error err = {0};
    if (kafu_dirty_open(&t->dirty, &err)) {
      kafu_log(KAFU_LOG_DEBUG, "track", "%s; delta encodes hash all of memory", err.msg);
      t->unsupported = true;
      return;
    }
  }
  /* The job is spent until its next restore or run: arm then (or in
   * kafu_job_track_settle), off this pause. */
  drop(t);
  t->tag = __atomic_fetch_add(&g_next_tag, 1, __ATOMIC_RELAXED);
  t->len = len;
  table->track_tag = t->tag;
}

void kafu_track_before_restore(kafu_job *job, bool in_place) {
  if (in_place)
    kafu_track_arm_pending(job); /* its writes are then tracked */
  else
    drop(&job->track); /* a full restore rewrites every page: hash it */
}

void kafu_track_after_restore(kafu_job *job, kafu_page_table *table, bool ok) {
  kafu_job_track *t = &job->track;
  if (!t->tag) return;
  size_t len = 0;
  const uint8_t *mem = kafu_instance_memory(job->inst, &len);
  if (!ok || !table || !t->armed || !kafu_dirty_covers(t->dirty, mem, len)) {
    drop(t);
    return;
  }
  table->track_tag = t->tag;
}

void kafu_track_free(kafu_job *job) {
  kafu_dirty_close(job->track.dirty);
  free(job->track.bitmap);
  memset(&job->track, 0, sizeof job->track);
}

void kafu_job_track_settle(kafu_job *job) {
  kafu_track_arm_pending(job);
}
