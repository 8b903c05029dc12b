/* The node daemon (kafu serve): one process per node. It accepts
 * connections (a thread each), runs jobs (a thread each), hands jobs to
 * other nodes with the two-phase MIGRATE/ACK/COMMIT exchange, and, for the
 * jobs submitted to it (it is their coordinator), forwards their output to
 * the client in program order. docs/cluster.md describes the design. */
#ifndef KAFU_NODE_DAEMON_H
#define KAFU_NODE_DAEMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "node/config.h"
#include "node/delta.h"
#include "node/offload.h"
#include "node/peers.h"
#include "node/policy.h"
#include "node/proto.h"
#include "runtime/runtime.h"

typedef struct kafu_node_serve_opts {
  uint32_t chaos_every; /* --chaos jobs migrate on average every N points; 0 = 1 */
  const char *log_path; /* unused by the daemon itself; for messages */
} kafu_node_serve_opts;

/* Runs node `node_name` of cfg until SIGINT/SIGTERM, a SHUTDOWN message, or
 * (follower_on_coordinator_lost: shutdown_self) the loss of the first node.
 * cfg is borrowed for the whole run. Errors: KAFU_E_INPUT for an unknown node
 * or an engine not built in, KAFU_E_IO when the port cannot be bound. */
kafu_err kafu_node_serve(const kafu_config *cfg, const char *node_name,
                         const kafu_node_serve_opts *opts, kafu_error *err);

/* ---- internals shared by daemon*.c and jobs*.c ---- */

/* A cached module: its bytes and, once needed, the program loaded for this
 * node's engine. Entries live until the daemon exits. */
typedef struct kafu_node_module {
  uint8_t sha256[KAFU_SHA256_LEN];
  uint8_t *wasm;
  size_t wasm_len;
  kafu_program *prog;
  pthread_mutex_t load_lock; /* one load at a time per module */
  struct kafu_node_module *next;
} kafu_node_module;

/* What travels with a job from node to node besides the snapshot (MIGRATE
 * `context`). Strings are owned. */
typedef struct kafu_node_ctx {
  char *program;
  char **args;
  uint32_t n_args;
  char **env;
  uint32_t n_env;
  uint32_t flags; /* KAFU_SUBMIT_* */
  uint64_t chaos_seed;
  uint64_t n_points; /* policy points decided so far */
} kafu_node_ctx;

void kafu_node_ctx_free(kafu_node_ctx *c);
void kafu_node_ctx_encode(const kafu_node_ctx *c, kafu_buf *out);
/* Decodes hostile bytes. Errors: KAFU_E_INPUT "job context: ...". */
kafu_err kafu_node_ctx_decode(const uint8_t *data, size_t len, kafu_node_ctx *c, kafu_error *err);
kafu_err kafu_node_ctx_from_submit(const kafu_msg *submit, kafu_node_ctx *c, kafu_error *err);

typedef struct kafu_node_daemon kafu_node_daemon;

/* A job running (or about to run) on this node. */
typedef struct kafu_node_job {
  kafu_node_daemon *d;
  uint64_t id;
  char coordinator[KAFU_NODE_NAME_MAX]; /* where OUTPUT/EXIT/EVENT go */
  uint64_t out_seq;                     /* the next output seq number */
  kafu_node_ctx ctx;
  kafu_node_module *mod;
  kafu_job *job;
  kafu_node_policy pol;
  bool failed_output;           /* one warning per job */
  kafu_node_baseline *enc_base; /* reference: the baseline the last capture was encoded against */
  bool stay_local;              /* a MAY_OFFLOAD handoff failed for good: continue here (jobs.c) */
  /* The image in j->job's memory after its last capture or restore (its
   * seq is kafu_job_seq): its page-hash table and id (kafu_page_table_id).
   * The table is kept up to date by every capture and restore while deltas
   * are on. */
  kafu_page_table table;
  uint8_t image_id[KAFU_SHA256_LEN];
  /* Its thread (jobs.c): while the job is parked the thread waits on
   * wake_cond (with the daemon lock) for wake. */
  bool has_thread;
  int wake; /* 0, KAFU_NODE_WAKE_RUN or KAFU_NODE_WAKE_EXIT */
  pthread_cond_t wake_cond;
  struct kafu_node_job *next;
} kafu_node_job;

#define KAFU_NODE_WAKE_RUN 1
#define KAFU_NODE_WAKE_EXIT 2

/* A job that left this node, kept with its spent instance (jobs_park.c), or
 * the promise of one while the job thread finishes the handoff (pending). */
typedef struct kafu_node_parked {
  uint64_t id;
  kafu_node_job *j; /* NULL while pending */
  size_t bytes;     /* its instance's memory */
  uint64_t stamp;
  double parked_ms; /* kafu_node_now_ms() when parked */
  struct kafu_node_parked *next;
} kafu_node_parked;

/* Parked instances: at most this much memory in all, this many, and none
 * idle for longer than KAFU_NODE_PARK_IDLE_MS (a node does not learn when a
 * job it no longer runs has ended; these bound what such jobs keep). */
#define KAFU_NODE_PARK_BUDGET ((size_t)1 << 30)
#define KAFU_NODE_PARK_MAX 16
#define KAFU_NODE_PARK_IDLE_MS (10 * 60 * 1000.0)
/* How often kafu_node_park_sweep runs (from the load sampler's thread). */
#define KAFU_NODE_SWEEP_MS 2000.0

/* One output item waiting for its turn at the coordinator. */
typedef struct kafu_node_out {
  uint64_t seq;
  uint8_t type; /* KAFU_MSG_OUTPUT or KAFU_MSG_EVENT */
  uint8_t fd;
  uint8_t *data; /* owned; text for EVENT (NUL-terminated) */
  size_t len;
  struct kafu_node_out *next;
} kafu_node_out;

/* A job this node coordinates: reorders output and exit for the client. */
typedef struct kafu_node_coord {
  uint64_t id;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  uint64_t next_seq;
  kafu_node_out *pending; /* unordered; small */
  bool exited;
  uint8_t exit_status;
  int32_t exit_code;
  char exit_node[KAFU_NODE_NAME_MAX];
  char *exit_message;
  uint64_t output_end;
  /* Where the job runs now: the destination of the EVENT with the highest
   * seq seen (events may arrive out of order), and since when. */
  char running_on[KAFU_NODE_NAME_MAX];
  uint64_t running_seq;
  double running_since_ms;
  bool lost; /* the running node died: release what arrived, gaps and all */
  struct kafu_node_coord *next;
} kafu_node_coord;

struct kafu_node_daemon {
  const kafu_config *cfg;
  const kafu_config_node *self;
  const kafu_engine_ops *engine;
  kafu_node_serve_opts opts;
  int listen_fd;
  volatile int stop;
  double started_ms;
  kafu_node_peers peers;

  pthread_mutex_t lock; /* modules, jobs, coords, counters, threads */
  pthread_cond_t idle;  /* signalled when n_threads drops */
  kafu_node_module *modules;
  kafu_node_job *jobs;
  kafu_node_coord *coords;
  unsigned n_threads;
  uint64_t migrations_in, migrations_out;
  unsigned idle_sweeps; /* park sweeps in a row that found no job here */
  uint64_t job_counter;
  double last_coordinator_ok_ms;
  /* When the first node last handed this node a job (a sign of life beside
   * heartbeat replies, which a busy coordinator may answer late). */
  _Atomic double coordinator_heard_ms;
  /* Per config node: when its HEARTBEAT came (0 never). Own lock, taken
   * with a coordinator record's lock held (jobs_coord.c). */
  pthread_mutex_t hb_lock;
  double *last_heartbeat_ms;
  char *empty_root;              /* the preopen of a node without preopened_dir */
  kafu_node_offload *offload;    /* owned: load and peer view for MAY_OFFLOAD (offload.h) */
  kafu_node_baselines baselines; /* delta baselines per (job, peer), delta.h */
  kafu_node_parked *parked;      /* under lock; jobs_park.c */
  pthread_cond_t parked_cond;    /* a pending park was filled or cancelled */
  size_t parked_bytes;
  uint64_t parked_stamp;
};

/* Module cache (daemon_modules.c). */
kafu_node_module *kafu_node_module_find(kafu_node_daemon *d, const uint8_t sha[KAFU_SHA256_LEN]);
/* Adds bytes after checking they hash to sha; returns the entry (existing or
 * new). Also writes <state_dir>/modules/<hex>.wasm when a state dir is set.
 * Errors: KAFU_E_INPUT on a hash mismatch. */
kafu_err kafu_node_module_add(kafu_node_daemon *d, const uint8_t sha[KAFU_SHA256_LEN],
                              const uint8_t *wasm, size_t len, kafu_node_module **out,
                              kafu_error *err);
/* The program for this node's engine, loading (for aot: compiling) once. */
kafu_err kafu_node_module_program(kafu_node_daemon *d, kafu_node_module *m,
                                  const kafu_program **out, kafu_error *err);

/* Coordinator side (jobs_coord.c). */
kafu_node_coord *kafu_node_coord_new(kafu_node_daemon *d, uint64_t id);
kafu_node_coord *kafu_node_coord_find(kafu_node_daemon *d, uint64_t id);
/* Queues an OUTPUT/EVENT item (data copied). Unknown job: KAFU_E_INPUT. */
kafu_err kafu_node_coord_put(kafu_node_daemon *d, uint64_t id, uint8_t type, uint64_t seq,
                             uint8_t fd, const uint8_t *data, size_t len, kafu_error *err);
kafu_err kafu_node_coord_exit(kafu_node_daemon *d, uint64_t id, const kafu_msg *exit_msg,
                              kafu_error *err);
/* This node, the job's coordinator, committed its handoff to dst with the
 * migration EVENT at output seq seq (which dst sends): watch dst from now on,
 * so that dst dying before its EVENT arrives is noticed. Unknown job: no-op. */
void kafu_node_coord_handed(kafu_node_daemon *d, uint64_t id, uint64_t seq, const char *dst);
/* Streams the job's output and exit to the client on fd, in seq order, then
 * removes the record. Returns when the EXIT was sent or the client is gone. */
void kafu_node_coord_stream(kafu_node_daemon *d, kafu_node_coord *c, int client_fd);
/* Frees a record whose job never started. */
void kafu_node_coord_discard(kafu_node_daemon *d, kafu_node_coord *c);

/* Jobs (jobs.c, jobs_migrate.c). */
/* Creates a job for program `mod` on this node: new instance, output hook,
 * policy. Takes ownership of *ctx (emptied). Errors from the runtime. */
kafu_err kafu_node_job_create(kafu_node_daemon *d, uint64_t id, const char *coordinator,
                              uint64_t out_seq, kafu_node_ctx *ctx, kafu_node_module *mod,
                              kafu_node_job **out, kafu_error *err);
/* Makes parked job j (restored with this visit's snapshot) ready to start:
 * coordinator, output seq, context (taken from *ctx) and policy as
 * kafu_node_job_create sets them. */
void kafu_node_job_reuse(kafu_node_job *j, const char *coordinator, uint64_t out_seq,
                         kafu_node_ctx *ctx);
void kafu_node_job_free(kafu_node_job *j);
/* Ends a job that is not running: frees it, or tells its waiting thread to
 * (a parked job's). */
void kafu_node_job_release(kafu_node_job *j);
/* Registers j and starts its thread; the daemon owns j from here on. */
kafu_err kafu_node_job_start(kafu_node_job *j, kafu_error *err);
/* Sends an OUTPUT/EVENT/EXIT about job j to its coordinator (or queues it
 * locally when that is this node). */
kafu_err kafu_node_job_emit(kafu_node_job *j, const kafu_msg *m, kafu_error *err);
/* Source side of a migration (jobs_migrate.c): hands res->snapshot to
 * res->dst with MIGRATE/ACK/COMMIT, retrying with backoff for up to
 * migration_timeout_ms (docs/failures.md). On success the job now runs
 * there, or, when a MAY_OFFLOAD handoff gave up, j->stay_local is set and
 * the caller continues the job here from res->snapshot. */
kafu_err kafu_node_job_migrate(kafu_node_job *j, kafu_job_result *res, kafu_error *err);
/* Destination side: handles a received MIGRATE on connection fd (restore, ACK,
 * wait for COMMIT, start). Replies NACK on failure; returns whether the
 * connection may keep serving. */
bool kafu_node_job_receive(kafu_node_daemon *d, int fd, kafu_node_frame *f);

/* Parked instances (jobs_park.c). A job whose handoff is about to commit
 * announces its parking, so that an arrival of the same job (a quick
 * return) waits for the instance instead of missing it. */
void kafu_node_park_announce(kafu_node_daemon *d, uint64_t id);
/* Parks j (ownership passes; it must be unregistered and its instance
 * spent with j->table/image_* describing its memory), filling the announced
 * entry. Evicts the least recently parked beyond the budget. Returns false
 * (j still the caller's) when out of memory. */
bool kafu_node_park(kafu_node_daemon *d, kafu_node_job *j);
void kafu_node_park_cancel(kafu_node_daemon *d, uint64_t id);
/* Takes job id's parked instance out (waiting up to wait_ms while it is
 * pending); NULL when there is none. */
kafu_node_job *kafu_node_unpark(kafu_node_daemon *d, uint64_t id, int wait_ms);
/* Releases job id's parked instance (the job ended); id 0 releases all. */
void kafu_node_park_forget(kafu_node_daemon *d, uint64_t id);
/* Housekeeping, every KAFU_NODE_SWEEP_MS: ends parked instances idle for
 * KAFU_NODE_PARK_IDLE_MS, and once the node has held no job (running or
 * parked) for two sweeps in a row, hands its freed heap back to the OS (the
 * daemon keeps freed memory for reuse while it works, runtime.h). */
void kafu_node_park_sweep(kafu_node_daemon *d, double now_ms);

/* Serves a new connection on its own thread (daemon_conn.c); takes fd. */
void kafu_node_conn_start(kafu_node_daemon *d, int fd, const char *peer);

/* Threads (daemon.c). */
kafu_err kafu_node_spawn(kafu_node_daemon *d, void *(*fn)(void *), void *arg, kafu_error *err);
void kafu_node_thread_done(kafu_node_daemon *d);
/* Makes sure the module named by sha is here, asking on fd with
 * MODULE_NEED and reading the MODULE_PUT reply (daemon_conn.c). */
kafu_err kafu_node_fetch_module(kafu_node_daemon *d, int fd, uint64_t job_id,
                                const uint8_t sha[KAFU_SHA256_LEN], kafu_node_module **out,
                                kafu_error *err);

#endif
