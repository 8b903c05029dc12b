/* Write tracking of a job's memory, so that a delta encode reads only the
 * pages written since the job's page-hash table was last exact instead of
 * hashing all of memory on the migration pause (docs/dirty-tracking.md).
 *
 * The invariant: while job->track.tag is nonzero and a table carries the
 * same tag, every page the tracker does not report as written holds what
 * the table says. It is set up after an encode that hashed everything (the
 * table is exact then, and the job is spent until its next restore or run,
 * which arm the tracker first) and kept by every later encode (the scan
 * re-protects what it reports) and restore (its writes are tracked).
 *
 * Whether to track is measured, per job and node: tracking moves work from
 * hashing into page-table updates (a scan re-protects every written page, a
 * restore lifts the protection of every page it writes), which on some
 * machines cost more than hashing. The cheaper way of the last captures
 * wins, and the other is tried again now and then. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/job_internal.h"
#include "util/log.h"

#define PAGE 4096u
/* Off unless KAFU_DIRTY_TRACK=<MiB>|always asks: on the project's
 * paravirtualized VM page-table updates cost more than the hashing they
 * save (docs/dirty-tracking.md has the measurements). */
#define TRACK_MIN_DEFAULT SIZE_MAX
/* Captures in the cheaper way before the other is measured again. */
#define PROBE_EVERY 16
/* The first capture after arming scans slowly (fresh page-table state): a
 * tracked trial lasts this many captures and the last one is measured. */
#define TRIAL_CAPTURES 2

static uint64_t g_next_tag = 1; /* atomic: jobs run on many threads */

static const char *track_env(void) {
  const char *v = getenv("KAFU_DIRTY_TRACK");
  return v && *v ? v : NULL;
}

/* KAFU_DIRTY_TRACK=always: track every memory, whatever it costs (tests). */
static bool track_always(void) {
  const char *v = track_env();
  return v && !strcmp(v, "always");
}

static size_t track_min_bytes(void) {
  const char *v = track_env();
  if (!v) return TRACK_MIN_DEFAULT;
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

static double mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void drop(kafu_job_track *t) {
  kafu_dirty_disarm(t->dirty);
  t->tag = 0;
  t->armed = false;
  t->trial = 0;
}

/* Whether the job's next stay on this node should be tracked. */
static bool want_tracking(kafu_job_track *t, size_t len) {
  if (t->unsupported || len < track_min_bytes()) return false;
  if (track_always()) return true;
  if (t->cost_len != len) { /* costs of another memory size: measure anew */
    t->cost_len = len;
    t->cost_hash_ms = t->cost_track_ms = 0;
  }
  if (t->cost_track_ms == 0) return true; /* not measured yet: try */
  if (t->cost_hash_ms == 0) return false;
  bool track = t->cost_track_ms < t->cost_hash_ms;
  if (++t->since_probe >= PROBE_EVERY) { /* measure the other way again */
    t->since_probe = 0;
    if (!track) t->cost_track_ms = 0;
    return !track;
  }
  return track;
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

void kafu_track_arm_pending(kafu_job *job) {
  kafu_job_track *t = &job->track;
  if (!t->tag || t->armed) return;
  size_t len = 0;
  const uint8_t *mem = kafu_instance_memory(job->inst, &len);
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
  kafu_log(KAFU_LOG_DEBUG, "track", "%zu of %zu pages written since the last encode", t->n_dirty,
           n_pages);
  if (verify_on()) verify(table, mem, t->bitmap, n_pages);
  opts->dirty = t->bitmap;
  opts->dirty_n = n_pages;
  return true;
}

void kafu_track_after_encode(kafu_job *job, kafu_snapshot_opts *opts, bool scanned, bool ok,
                             double capture_ms) {
  kafu_job_track *t = &job->track;
  kafu_page_table *table = opts->table_out;
  if (!ok || !table) {
    if (scanned) drop(t); /* the scan cleared marks the table never took in */
    return;
  }
  size_t len = 0;
  kafu_instance_memory(job->inst, &len);
  if (t->cost_len == len) {
    if (!scanned)
      t->cost_hash_ms = capture_ms;
    else if (++t->trial >= TRIAL_CAPTURES)
      t->cost_track_ms = capture_ms + t->unprotect_ms;
  }
  t->unprotect_ms = 0;
  if (scanned && t->trial < TRIAL_CAPTURES && t->cost_track_ms == 0) {
    table->track_tag = t->tag; /* a trial goes on */
    return;
  }
  if (!want_tracking(t, len)) {
    if (t->tag)
      kafu_log(KAFU_LOG_DEBUG, "track",
               "hashing instead: a tracked capture cost %.3f ms, hashing %.3f ms", t->cost_track_ms,
               t->cost_hash_ms);
    drop(t);
    return;
  }
  if (scanned) {
    table->track_tag = t->tag; /* exact now, and the scan re-armed */
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

void kafu_track_will_write(void *ud, const uint8_t *bitmap, size_t n_pages) {
  kafu_job *job = ud;
  kafu_job_track *t = &job->track;
  if (!t->armed || kafu_dirty_unprotect_us() >= kafu_dirty_fault_us()) return;
  double t0 = mono_ms();
  size_t i = 0;
  while (i < n_pages) {
    if (!((bitmap[i >> 3] >> (i & 7)) & 1)) {
      i++;
      continue;
    }
    size_t first = i;
    while (i < n_pages && ((bitmap[i >> 3] >> (i & 7)) & 1))
      i++;
    kafu_error err = {0};
    if (kafu_dirty_unprotect(t->dirty, first, i - first, &err)) {
      kafu_log(KAFU_LOG_WARN, "track", "%s; hashing all of memory at the next capture", err.msg);
      drop(t);
      return;
    }
  }
  t->unprotect_ms += mono_ms() - t0;
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
