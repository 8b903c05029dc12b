/* Private state of a kafu_job, shared by the runtime's files (job.c runs and
 * restores, points.c handles kafu.* imports, migstack.c encodes the stack). */
#ifndef KAFU_RUNTIME_JOB_INTERNAL_H
#define KAFU_RUNTIME_JOB_INTERNAL_H

#include <stdatomic.h>

#include "runtime/runtime.h"
#include "util/dirty.h"

/* Write tracking of the job's memory (track.c). */
typedef struct kafu_job_track {
  kafu_dirty *dirty; /* opened on first use */
  bool unsupported;  /* the kernel cannot: never try again */
  uint64_t tag;      /* nonzero: a table with this tag is exact but for writes */
  bool armed;        /* the tracker watches the memory (else arming is pending) */
  size_t len;        /* memory size the tag was given for */
  size_t n_dirty;    /* pages the last scan reported */
  uint8_t *bitmap;   /* the last scan */
  size_t bitmap_cap;
  /* Measured pause costs for memories of cost_len bytes (0: not yet). */
  size_t cost_len;
  double cost_hash_ms;  /* the last capture that hashed everything */
  double cost_track_ms; /* the last tracked capture, with its restore's share */
  double unprotect_ms;  /* this stay's restore lifting protections */
  unsigned trial;       /* tracked captures since arming */
  unsigned since_probe; /* captures since the other way was measured */
} kafu_job_track;

typedef enum { KAFU_MODE_NORMAL, KAFU_MODE_UNWINDING, KAFU_MODE_REWINDING } kafu_run_mode;

struct kafu_job {
  kafu_job_config cfg;
  const kafu_program *prog;
  kafu_wasi *wasi;
  kafu_host_import *imports;
  size_t n_imports;
  kafu_engine_instance *inst;
  char node[KAFU_NODE_NAME_MAX];

  kafu_mig_frame *stack;
  size_t depth, cap;
  uint64_t n_points, seq;

  uint32_t state_base, state_size, n_globals;
  kafu_run_mode mode;
  kafu_decision pending; /* where the unwinding run goes */
  bool restored;
  uint32_t countdown;
  bool adaptive;         /* retune countdown at every poll */
  uint64_t last_poll_ns; /* monotonic time of the previous poll (adaptive) */
  atomic_bool offload_req;

  /* The last capture, kept for kafu_job_encode_again until the job restores
   * or runs again (buffers are reused across captures). */
  bool captured;
  kafu_buf cap_wasi, cap_stack;

  /* A failure inside an import callback is parked here and reported by
   * kafu_job_run once the engine call has returned. */
  bool inner_failed;
  kafu_error inner_err;

  kafu_job_track track;
  double t_unwound; /* monotonic ms when the last unwind reached the host */
};

/* Fills job->imports with the kafu.* host functions (points.c). Returns the
 * number written (at most cap). */
size_t kafu_points_imports(kafu_job *job, kafu_host_import *out, size_t cap);

/* Migration-stack blob carried in snapshots (migstack.c). */
void kafu_migstack_encode(const kafu_job *job, kafu_buf *out);
kafu_err kafu_migstack_decode(kafu_job *job, const uint8_t *data, size_t len, kafu_error *err);
kafu_err kafu_migstack_push(kafu_job *job, uint32_t site_id, const char *from);

/* Dirty tracking around encodes and restores (track.c). before_encode fills
 * opts->dirty when opts->table_out is tracked and returns whether it
 * scanned; after_encode takes the encode's outcome. */
bool kafu_track_before_encode(kafu_job *job, kafu_snapshot_opts *opts);
void kafu_track_after_encode(kafu_job *job, kafu_snapshot_opts *opts, bool scanned, bool ok,
                             double capture_ms);
void kafu_track_before_restore(kafu_job *job, bool in_place);
void kafu_track_after_restore(kafu_job *job, kafu_page_table *table, bool ok);
/* Decoder hook (kafu_snapshot_decode_opts.will_write, ud = job): lifts the
 * write protection of the pages a restore is about to write, in runs. */
void kafu_track_will_write(void *job, const uint8_t *bitmap, size_t n_pages);
/* Arms a pending tracker: call before the job's memory can change. */
void kafu_track_arm_pending(kafu_job *job);
void kafu_track_free(kafu_job *job);

#endif
