/* The runtime core: runs a snapified module on one engine, handles the
 * migration points (kafu.enter/leave/poll), keeps the migration stack, and
 * captures/restores snapshots with Asyncify (docs/abi.md). It knows nothing
 * about networks: a run ends either with the program's exit or with a
 * snapshot for another node, which the caller (kafu exec, the node daemon)
 * ships and restores. */
#ifndef KAFU_RUNTIME_H
#define KAFU_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "snapify/meta.h"
#include "snapshot/snapshot.h"
#include "util/buf.h"
#include "util/err.h"
#include "wasi/wasi.h"

#define KAFU_NODE_NAME_MAX 64
#define KAFU_POLL_COUNTDOWN_DEFAULT 10000u

/* A loaded program: module bytes (owned copy), their SHA-256, the kafu
 * section and the engine's compiled module. Shared by many jobs. */
typedef struct kafu_program {
  uint8_t *wasm;
  size_t wasm_len;
  char *label;
  uint8_t sha256[KAFU_SHA256_LEN];
  kafu_meta meta;
  bool migratable; /* has a snapified kafu section; plain WASI modules run without points */
  const kafu_engine_ops *engine;
  kafu_engine_module *module;
} kafu_program;

/* Loads (and for aot compiles or fetches from cache) `wasm` (copied) for
 * `engine`. A module without a snapified kafu section loads too (migratable
 * is false): it runs, but can never migrate. Errors: KAFU_E_INPUT if the
 * module is malformed. */
kafu_err kafu_program_load(const uint8_t *wasm, size_t len, const char *label,
                           const kafu_engine_ops *engine, kafu_program **out, kafu_error *err);
void kafu_program_free(kafu_program *p);

/* Sets this process's malloc policy for hosting migrating programs; call
 * once, first thing. Linear memories, snapshot buffers and decode buffers
 * are tens of MiB that come and go with every migration. By default glibc
 * maps each such block fresh, unmaps it on free, and grows it with mremap,
 * which moves its pages. On a VM both hurt: a fresh page costs a fault
 * (3–25 µs on the project's VM), and after a move every page is cold again
 * for the hypervisor (reading 64 MiB right after glibc's realloc moved it:
 * 88 ms instead of 2 ms). So: no mmap for large blocks, no trimming, one
 * arena (per-thread arenas would hand their heaps back). The footprint stays
 * at its high-water mark. */
void kafu_runtime_keep_memory_warm(void);

/* One active annotated frame: the site and the node it was entered from. */
typedef struct kafu_mig_frame {
  uint32_t site_id;
  char from[KAFU_NODE_NAME_MAX];
} kafu_mig_frame;

typedef enum { KAFU_POINT_ENTER, KAFU_POINT_LEAVE, KAFU_POINT_POLL } kafu_point_kind;

/* What a policy sees at a migration point. All pointers are borrowed for the
 * duration of the callback. */
typedef struct kafu_point {
  kafu_point_kind kind;
  uint32_t site_id;         /* 0xffffffff for an anonymous poll */
  const kafu_site *site;    /* NULL for an anonymous poll */
  const char *here;         /* the node executing now */
  /* Where the annotations send execution: DEST enter → the site's node;
   * leave → the frame's origin node; poll → the innermost active OFFLOAD
   * frame's node (NULL when no offload region is active, it is here, or a
   * DEST frame was entered inside the region: that function stays put).
   * NULL or equal to `here` when nothing needs to move. */
  const char *natural_dst;
  const kafu_mig_frame *offload; /* innermost active OFFLOAD frame, or NULL */
  uint64_t n_points;        /* points reached by this job so far, this one included */
  size_t depth;             /* migration stack depth after this point's push/pop */
} kafu_point;

typedef enum {
  KAFU_STAY = 0,    /* continue here */
  KAFU_MIGRATE,     /* checkpoint and end the run with a snapshot for dst */
  KAFU_RENAME,      /* continue in-process but as node dst (kafu exec's single-node mode) */
} kafu_action;

typedef struct kafu_decision {
  kafu_action action;
  char dst[KAFU_NODE_NAME_MAX];
} kafu_decision;

/* A policy: called at every migration point reached in normal (not rewinding)
 * state. The default policy (policy == NULL) migrates to natural_dst when it
 * differs from here. */
typedef kafu_decision (*kafu_policy_fn)(void *ud, const kafu_point *pt);
kafu_decision kafu_policy_default(void *ud, const kafu_point *pt);

typedef struct kafu_job_config {
  const kafu_program *program; /* borrowed; outlives the job */
  const char *node;            /* this node's name */
  kafu_wasi_config wasi;       /* copied by kafu_wasi_new */
  kafu_policy_fn policy;       /* NULL = kafu_policy_default */
  void *policy_ud;
  /* Loop heads between polls that reach the host. 0 = adaptive: start at
   * KAFU_POLL_COUNTDOWN_DEFAULT and retune at every poll so that polls come
   * about every KAFU_POLL_TARGET_US of execution, whatever the engine's speed. */
  uint32_t poll_countdown;
  uint64_t job_id;
  kafu_snapshot_opts snapshot_opts; /* compression etc. for captured snapshots */
  /* Optional: called before a snapshot for `dst` is encoded, to adjust the
   * options (e.g. set the delta baseline this node shares with dst). */
  void (*snapshot_opts_for)(void *ud, const char *dst, kafu_snapshot_opts *opts);
  void *snapshot_ud;
} kafu_job_config;

#define KAFU_POLL_TARGET_US 1000u

typedef enum { KAFU_JOB_EXITED = 1, KAFU_JOB_MIGRATE = 2 } kafu_job_outcome;

typedef struct kafu_job_result {
  kafu_job_outcome outcome;
  int exit_code;                 /* EXITED */
  char dst[KAFU_NODE_NAME_MAX];  /* MIGRATE: destination node */
  kafu_buf snapshot;             /* MIGRATE: encoded snapshot (owned; free it) */
  uint64_t seq;                  /* MIGRATE: snapshot sequence number */
  uint64_t n_points;             /* points reached so far (carried in snapshots) */
  uint32_t mem_bytes;            /* MIGRATE: linear memory size captured */
  double capture_ms;             /* MIGRATE: unwind + capture + encode time */
} kafu_job_result;

typedef struct kafu_job kafu_job;

/* Creates a job on a fresh instance of cfg->program (no code runs yet).
 * Errors: from the WASI host or engine instantiation. */
kafu_err kafu_job_new(const kafu_job_config *cfg, kafu_job **out, kafu_error *err);

/* Loads a snapshot into a job created but not yet run: memory, state region,
 * globals, WASI state and migration stack. The next kafu_job_run rewinds to
 * the point where the snapshot was taken. Errors: KAFU_E_INPUT for a
 * malformed snapshot or one of another module. */
kafu_err kafu_job_restore(kafu_job *job, const uint8_t *snap, size_t len, kafu_error *err);

/* kafu_job_restore for delta snapshots: baseline (borrowed) is the memory
 * image the snapshot was encoded against; baseline_sha256 (may be NULL) is its
 * hash if the caller already knows it. Memory is decoded straight into the
 * instance. Errors as kafu_job_restore, plus "baseline mismatch". */
kafu_err kafu_job_restore_ex(kafu_job *job, const uint8_t *snap, size_t len,
                             const uint8_t *baseline, size_t baseline_len,
                             const uint8_t *baseline_sha256, kafu_error *err);

/* Options of kafu_job_restore_with; zero-initialize, then set fields. */
typedef struct kafu_job_restore_opts {
  /* Delta baseline, as kafu_job_restore_ex (baseline may be NULL with
   * in_place). */
  const uint8_t *baseline;
  size_t baseline_len;
  const uint8_t *baseline_sha256;
  /* The job is spent (its last run ended in a MIGRATE outcome) and its
   * memory still holds exactly the delta's baseline, baseline_len bytes named
   * by baseline_sha256: the delta is applied in place, touching only the
   * pages it carries. A full snapshot may be restored into a spent job
   * without this flag: its memory is overwritten (warm pages, no faults). */
  bool in_place;
  /* Optional page-hash table of the job's memory, brought to the restored
   * image (for a delta it must hold the baseline's table on entry). */
  kafu_page_table *table;
} kafu_job_restore_opts;

/* kafu_job_restore with options; also accepts a spent job (see in_place),
 * whose run state is reset first. Errors as kafu_job_restore_ex; after a
 * failure a spent job's memory may hold a partial image (free the job). */
kafu_err kafu_job_restore_with(kafu_job *job, const uint8_t *snap, size_t len,
                               const kafu_job_restore_opts *opts, kafu_error *err);

/* Encodes the job's last capture again with other options (e.g. in full
 * after a delta was refused, or with a table). Valid after a MIGRATE outcome
 * until the job is restored or run again. Errors: KAFU_E_INTERNAL when there
 * is no capture, else as kafu_snapshot_encode. */
kafu_err kafu_job_encode_again(kafu_job *job, const kafu_snapshot_opts *opts, kafu_buf *out,
                               kafu_error *err);

/* Optional, for a spent job kept for a later restore (a parked instance):
 * does now, off the migration pause, the set-up of write tracking that the
 * next restore or run would otherwise do (docs/dirty-tracking.md). */
void kafu_job_track_settle(kafu_job *job);

/* The instance's linear memory right now (borrowed; valid until the job runs
 * again or is freed), e.g. to keep as a delta baseline after a capture or a
 * restore. */
const uint8_t *kafu_job_memory(kafu_job *job, size_t *len);

/* Runs (or resumes) the program until it exits or a policy asks to migrate.
 * res->snapshot must be zero-initialized by the caller. Errors: KAFU_E_TRAP
 * for a Wasm trap (message names it), KAFU_E_LIMIT for a state region
 * overflow, others from the engine. After a MIGRATE outcome the job's
 * instance is spent: free it, or keep it to restore a later snapshot of the
 * same job into (kafu_job_restore_with), with warm memory. res->snapshot
 * may hold a buffer from an earlier call (len 0): it is reused. */
kafu_err kafu_job_run(kafu_job *job, kafu_job_result *res, kafu_error *err);

/* The seq of the job's last capture or restore: after a MIGRATE outcome (or
 * a restore) the instance's memory is that snapshot's image. */
uint64_t kafu_job_seq(const kafu_job *job);
/* The node the job runs on now (changes with KAFU_RENAME). */
const char *kafu_job_node(const kafu_job *job);
/* The migration stack, innermost last (borrowed). */
const kafu_mig_frame *kafu_job_stack(const kafu_job *job, size_t *depth);
/* Asks the job to treat its next poll as if policy returned dst. Thread-safe
 * (called by the daemon's network thread). */
void kafu_job_request_offload(kafu_job *job);
bool kafu_job_offload_requested(const kafu_job *job);

void kafu_job_free(kafu_job *job);

#endif
