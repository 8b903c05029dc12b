/* kafu_job: one program instance on one node. Runs _start, turns a finished
 * Asyncify unwind into a snapshot, and restores a snapshot into a fresh
 * instance so that the next run rewinds to the same migration point. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/job_internal.h"
#include "util/log.h"

#define PAGE_SIZE 65536u
#define MAX_IMPORTS 128

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

kafu_err kafu_job_new(const kafu_job_config *cfg, kafu_job **out, kafu_error *err) {
  kafu_err rc = KAFU_OK;
  kafu_job *job = calloc(1, sizeof *job);
  if (!job) return kafu_fail(err, KAFU_E_NOMEM, "out of memory");
  job->cfg = *cfg;
  job->prog = cfg->program;
  snprintf(job->node, sizeof job->node, "%s", cfg->node ? cfg->node : "local");
  job->countdown = cfg->poll_countdown ? cfg->poll_countdown : KAFU_POLL_COUNTDOWN_DEFAULT;
  job->adaptive = cfg->poll_countdown == 0;
  job->state_base = job->prog->meta.state_base;
  job->state_size =
      job->prog->meta.state_size ? job->prog->meta.state_size : KAFU_STATE_SIZE_DEFAULT;
  job->n_globals = job->prog->meta.n_globals;
  atomic_init(&job->offload_req, false);

  rc = kafu_wasi_new(&cfg->wasi, &job->wasi, err);
  if (rc) goto out;
  job->imports = calloc(MAX_IMPORTS, sizeof *job->imports);
  if (!job->imports) {
    rc = kafu_fail(err, KAFU_E_NOMEM, "out of memory");
    goto out;
  }
  job->n_imports = kafu_wasi_imports(job->wasi, job->imports, MAX_IMPORTS);
  job->n_imports +=
      kafu_points_imports(job, job->imports + job->n_imports, MAX_IMPORTS - job->n_imports);
  const kafu_engine_ops *eng = job->prog->engine;
  rc = eng->instantiate(job->prog->module, job->imports, job->n_imports, &job->inst, err);
  if (rc) goto out;
  *out = job;
  job = NULL;
out:
  kafu_job_free(job);
  return rc;
}

void kafu_job_free(kafu_job *job) {
  if (!job) return;
  kafu_track_free(job); /* unregister before the memory goes */
  if (job->inst) job->prog->engine->instance_free(job->inst);
  kafu_wasi_free(job->wasi);
  free(job->imports);
  free(job->stack);
  kafu_buf_free(&job->cap_wasi);
  kafu_buf_free(&job->cap_stack);
  free(job);
}

const char *kafu_job_node(const kafu_job *job) {
  return job->node;
}

uint64_t kafu_job_seq(const kafu_job *job) {
  return job->seq;
}

const kafu_mig_frame *kafu_job_stack(const kafu_job *job, size_t *depth) {
  *depth = job->depth;
  return job->stack;
}

void kafu_job_request_offload(kafu_job *job) {
  atomic_store(&job->offload_req, true);
}

bool kafu_job_offload_requested(const kafu_job *job) {
  return atomic_load((atomic_bool *)&job->offload_req);
}

static kafu_err call0(kafu_job *job, const char *name, uint32_t arg, bool has_arg,
                      kafu_error *err) {
  kafu_slot a = arg;
  return kafu_instance_call(job->inst, name, has_arg ? &a : NULL, has_arg ? 1 : 0, NULL, 0, err);
}

/* memory_for callback: grow the fresh instance to the snapshot's size and
 * let the decoder write straight into it. */
static uint8_t *instance_memory_for(void *ud, uint32_t mem_pages, kafu_error *err) {
  kafu_job *job = ud;
  size_t mem_size = 0;
  uint8_t *mem = kafu_instance_memory(job->inst, &mem_size);
  uint64_t want = (uint64_t)mem_pages * PAGE_SIZE;
  if (!mem || want < mem_size) {
    kafu_fail(err, KAFU_E_INPUT, "snapshot: memory of %u pages is smaller than the module's",
              mem_pages);
    return NULL;
  }
  if (want > mem_size) {
    uint32_t old = 0;
    if (job->inst->ops->memory_grow(job->inst, (uint32_t)((want - mem_size) / PAGE_SIZE), &old,
                                    err))
      return NULL;
    mem = kafu_instance_memory(job->inst, &mem_size);
  }
  return mem;
}

/* Makes a spent job (or a fresh one) ready to take a snapshot: the run state
 * a finished unwind leaves behind is cleared. */
static void reset_run_state(kafu_job *job) {
  job->mode = KAFU_MODE_NORMAL;
  job->restored = false;
  job->captured = false;
  job->inner_failed = false;
  memset(&job->pending, 0, sizeof job->pending);
  atomic_store(&job->offload_req, false); /* a request is for the run that saw it */
}

kafu_err kafu_job_restore_with(kafu_job *job, const uint8_t *snap, size_t len,
                               const kafu_job_restore_opts *o, kafu_error *err) {
  static const kafu_job_restore_opts none;
  if (!o) o = &none;
  reset_run_state(job);
  kafu_track_before_restore(job, o->in_place);
  kafu_snapshot s;
  memset(&s, 0, sizeof s);
  kafu_snapshot_decode_opts dopts = {
      .expected_sha256 = job->prog->sha256,
      .baseline = o->baseline,
      .baseline_len = o->baseline_len,
      .baseline_sha256 = o->baseline_sha256,
      .memory_for = instance_memory_for,
      .memory_ud = job,
      .baseline_in_memory = o->in_place,
      .table = o->table,
      .will_write = job->track.armed ? kafu_track_will_write : NULL,
  };
  if (o->in_place) {
    size_t mem_size = 0;
    kafu_instance_memory(job->inst, &mem_size);
    if (mem_size != o->baseline_len)
      return kafu_fail(err, KAFU_E_INTERNAL,
                       "restore in place: memory is %zu bytes, the baseline %zu", mem_size,
                       o->baseline_len);
  }
  kafu_err rc = kafu_snapshot_decode_ex(snap, len, &dopts, &s, err);
  if (rc) {
    kafu_track_after_restore(job, o->table, false);
    return rc;
  }
  size_t mem_size = 0;
  uint8_t *mem = kafu_instance_memory(job->inst, &mem_size);
  if (s.state_len) {
    if ((uint64_t)s.state_base + s.state_len > mem_size) {
      rc = kafu_fail(err, KAFU_E_INPUT, "snapshot: state region outside memory");
      goto out;
    }
    memcpy(mem + s.state_base, s.state, s.state_len);
  }
  rc = kafu_migstack_decode(job, s.mig_stack, s.mig_stack_len, err);
  if (rc) goto out;
  if (job->state_base != s.state_base) {
    rc = kafu_fail(err, KAFU_E_INPUT, "snapshot: state region base mismatch");
    goto out;
  }
  rc = kafu_wasi_restore(job->wasi, s.wasi, s.wasi_len, err);
  if (rc) goto out;
  rc = call0(job, "kafu_globals_restore", job->state_base + 8, true, err);
  if (rc) goto out;
  job->seq = s.seq;
  job->restored = true;
out:
  kafu_track_after_restore(job, o->table, rc == KAFU_OK);
  kafu_snapshot_free(&s);
  return rc;
}

kafu_err kafu_job_restore_ex(kafu_job *job, const uint8_t *snap, size_t len,
                             const uint8_t *baseline, size_t baseline_len,
                             const uint8_t *baseline_sha256, kafu_error *err) {
  kafu_job_restore_opts o = {
      .baseline = baseline, .baseline_len = baseline_len, .baseline_sha256 = baseline_sha256};
  return kafu_job_restore_with(job, snap, len, &o, err);
}

kafu_err kafu_job_restore(kafu_job *job, const uint8_t *snap, size_t len, kafu_error *err) {
  return kafu_job_restore_with(job, snap, len, NULL, err);
}

const uint8_t *kafu_job_memory(kafu_job *job, size_t *len) {
  return kafu_instance_memory(job->inst, len);
}

static uint32_t get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Encodes the capture kept in job (memory is the instance's, untouched since
 * the unwind). The state section carries the used part of the state region
 * (up to Asyncify's current pointer): the rest is unused, and all of it also
 * travels in the memory pages. */
static kafu_err encode_capture(kafu_job *job, const kafu_snapshot_opts *opts, kafu_buf *out,
                               kafu_error *err) {
  size_t mem_size = 0;
  uint8_t *mem = kafu_instance_memory(job->inst, &mem_size);
  uint32_t used = job->state_size;
  if ((uint64_t)job->state_base + job->state_size <= mem_size) {
    uint32_t cur = get_u32(mem + job->state_base);
    if (cur > job->state_base && cur - job->state_base < used) used = cur - job->state_base;
  }
  kafu_snapshot s;
  memset(&s, 0, sizeof s);
  memcpy(s.module_sha256, job->prog->sha256, KAFU_SHA256_LEN);
  s.job_id = job->cfg.job_id;
  s.seq = job->seq;
  s.mig_stack = job->cap_stack.data;
  s.mig_stack_len = job->cap_stack.len;
  s.state_base = job->state_base;
  s.state = mem + job->state_base;
  s.state_len = used;
  s.wasi = job->cap_wasi.data;
  s.wasi_len = job->cap_wasi.len;
  s.memory = mem;
  s.mem_pages = (uint32_t)(mem_size / PAGE_SIZE);
  return kafu_snapshot_encode(&s, opts, out, err);
}

kafu_err kafu_job_encode_again(kafu_job *job, const kafu_snapshot_opts *opts, kafu_buf *out,
                               kafu_error *err) {
  if (!job->captured) return kafu_fail(err, KAFU_E_INTERNAL, "no capture to encode again");
  return encode_capture(job, opts, out, err);
}

/* After the unwind reached _start's caller: save globals, take memory, the
 * WASI state and the migration stack into an encoded snapshot. */
static kafu_err capture(kafu_job *job, kafu_job_result *res, kafu_error *err) {
  job->t_unwound = now_ms();
  kafu_err rc = call0(job, "asyncify_stop_unwind", 0, false, err);
  if (rc == KAFU_E_TRAP) /* Asyncify checks the data pointer against its end here */
    return kafu_fail(err, KAFU_E_LIMIT,
                     "migration state region too small: rebuild with kafu cc --state-size=%u",
                     job->state_size * 4);
  if (!rc) rc = call0(job, "kafu_globals_save", job->state_base + 8, true, err);
  if (rc) return rc;
  job->cap_wasi.len = 0;
  job->cap_wasi.failed = false;
  job->cap_stack.len = 0;
  job->cap_stack.failed = false;
  rc = kafu_wasi_save(job->wasi, &job->cap_wasi, err);
  if (rc) return rc;
  job->mode = KAFU_MODE_NORMAL;
  job->seq++;
  kafu_migstack_encode(job, &job->cap_stack);
  if (job->cap_stack.failed || job->cap_wasi.failed)
    return kafu_fail(err, KAFU_E_NOMEM, "out of memory while capturing");
  job->captured = true;
  kafu_snapshot_opts opts = job->cfg.snapshot_opts;
  if (job->cfg.snapshot_opts_for)
    job->cfg.snapshot_opts_for(job->cfg.snapshot_ud, job->pending.dst, &opts);
  res->snapshot.len = 0;
  res->snapshot.failed = false;
  size_t mem_size = 0;
  kafu_instance_memory(job->inst, &mem_size);
  double t_scan = now_ms();
  bool scanned = kafu_track_before_encode(job, &opts);
  double t_enc = now_ms();
  rc = encode_capture(job, &opts, &res->snapshot, err);
  double t_done = now_ms();
  kafu_track_after_encode(job, &opts, scanned, rc == KAFU_OK, t_done - t_scan);
  kafu_log(KAFU_LOG_DEBUG, "job",
           "capture: state %.3f ms, scan %.3f ms, encode %.3f ms (%zu bytes)",
           t_scan - job->t_unwound, t_enc - t_scan, t_done - t_enc, res->snapshot.len);
  if (rc) return rc;
  res->outcome = KAFU_JOB_MIGRATE;
  memcpy(res->dst, job->pending.dst, sizeof res->dst);
  res->seq = job->seq;
  res->mem_bytes = (uint32_t)mem_size;
  return KAFU_OK;
}

kafu_err kafu_job_run(kafu_job *job, kafu_job_result *res, kafu_error *err) {
  kafu_err rc;
  double t0 = 0;
  job->captured = false;
  kafu_track_arm_pending(job);
  if (job->restored) {
    job->restored = false;
    rc = call0(job, "asyncify_start_rewind", job->state_base, true, err);
    if (rc) return rc;
    job->mode = KAFU_MODE_REWINDING;
  }
  job->inner_failed = false;
  rc = kafu_instance_call(job->inst, "_start", NULL, 0, NULL, 0, err);
  res->n_points = job->n_points;
  if (job->inner_failed) {
    if (err) *err = job->inner_err;
    return job->inner_err.code ? job->inner_err.code : KAFU_E_INTERNAL;
  }
  int code = 0;
  if (job->mode == KAFU_MODE_UNWINDING) {
    if (rc == KAFU_E_TRAP)
      return kafu_fail(err, KAFU_E_LIMIT,
                       "migration state region too small: rebuild with kafu cc --state-size=%u",
                       job->state_size * 4);
    if (rc) return rc;
    t0 = now_ms();
    rc = capture(job, res, err);
    res->capture_ms = now_ms() - t0;
    return rc;
  }
  if (rc == KAFU_E_TRAP && kafu_wasi_exited(job->wasi, &code)) {
    res->outcome = KAFU_JOB_EXITED;
    res->exit_code = code;
    return KAFU_OK;
  }
  if (rc) return rc;
  if (job->mode == KAFU_MODE_REWINDING)
    return kafu_fail(err, KAFU_E_INTERNAL, "rewind finished without reaching a migration point");
  res->outcome = KAFU_JOB_EXITED;
  res->exit_code = 0;
  return KAFU_OK;
}
