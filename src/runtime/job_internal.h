/* Private state of a kafu_job, shared by the runtime's files (job.c runs and
 * restores, points.c handles kafu.* imports, migstack.c encodes the stack). */
#ifndef KAFU_RUNTIME_JOB_INTERNAL_H
#define KAFU_RUNTIME_JOB_INTERNAL_H

#include <stdatomic.h>

#include "runtime/runtime.h"

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
};

/* Fills job->imports with the kafu.* host functions (points.c). Returns the
 * number written (at most cap). */
size_t kafu_points_imports(kafu_job *job, kafu_host_import *out, size_t cap);

/* Migration-stack blob carried in snapshots (migstack.c). */
void kafu_migstack_encode(const kafu_job *job, kafu_buf *out);
kafu_err kafu_migstack_decode(kafu_job *job, const uint8_t *data, size_t len, kafu_error *err);
kafu_err kafu_migstack_push(kafu_job *job, uint32_t site_id, const char *from);

#endif
