/* The kafu.* host imports: migration points (enter, leave, poll) and
 * kafu.node_name. A point either continues, renames the node, or starts an
 * Asyncify unwind whose snapshot kafu_job_run then captures. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "runtime/job_internal.h"
#include "util/log.h"

#define ANON_SITE 0xffffffffu
#define PAGE_SIZE 65536u

/* Records a failure for kafu_job_run and aborts the engine call. */
static int fail_inside(kafu_job *job, kafu_err code, const char *msg, unsigned arg) {
  job->inner_failed = true;
  kafu_fail(&job->inner_err, code, msg, arg);
  return 1;
}

static void put_u32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Makes sure the state region exists: a module without the support library
 * gets pages grown at the top of memory, which its allocator never owns. */
static kafu_err ensure_region(kafu_job *job) {
  if (job->state_base) return KAFU_OK;
  uint32_t pages = (job->state_size + PAGE_SIZE - 1) / PAGE_SIZE, old = 0;
  kafu_err rc = job->inst->ops->memory_grow(job->inst, pages, &old, &job->inner_err);
  if (rc) return rc;
  job->state_base = old * PAGE_SIZE;
  return KAFU_OK;
}

/* Starts the unwind towards dst (docs/abi.md: region header, then
 * asyncify_start_unwind from inside the import). */
static int start_unwind(kafu_job *job, const kafu_decision *d) {
  if (ensure_region(job)) {
    job->inner_failed = true;
    return 1;
  }
  size_t mem_size = 0;
  uint8_t *mem = kafu_instance_memory(job->inst, &mem_size);
  uint32_t data_start = job->state_base + 8 + 8 * job->n_globals;
  uint64_t end = (uint64_t)job->state_base + job->state_size;
  if (!mem || end > mem_size || data_start + 64 > end)
    return fail_inside(job, KAFU_E_INPUT, "state region at 0x%x does not fit in memory",
                       job->state_base);
  put_u32(mem + job->state_base, data_start);
  put_u32(mem + job->state_base + 4, (uint32_t)end);
  kafu_slot arg = job->state_base;
  if (kafu_instance_call(job->inst, "asyncify_start_unwind", &arg, 1, NULL, 0, &job->inner_err)) {
    job->inner_failed = true;
    return 1;
  }
  job->mode = KAFU_MODE_UNWINDING;
  job->pending = *d;
  return 0;
}

/* In rewinding state the point we unwound from is reached again: stop the
 * rewind and carry on as if the call had just returned. */
static int finish_rewind(kafu_job *job) {
  if (kafu_instance_call(job->inst, "asyncify_stop_rewind", NULL, 0, NULL, 0, &job->inner_err)) {
    job->inner_failed = true;
    return 1;
  }
  job->mode = KAFU_MODE_NORMAL;
  return 0;
}

static const kafu_mig_frame *innermost_offload(const kafu_job *job) {
  for (size_t i = job->depth; i-- > 0;) {
    const kafu_site *s = &job->prog->meta.sites[job->stack[i].site_id];
    if (s->kind == KAFU_SITE_OFFLOAD) return &job->stack[i];
  }
  return NULL;
}

/* Asks the policy and applies its answer. */
static int decide(kafu_job *job, kafu_point *pt) {
  pt->here = job->node;
  pt->n_points = ++job->n_points;
  pt->depth = job->depth;
  pt->offload = innermost_offload(job);
  if (pt->natural_dst && !strcmp(pt->natural_dst, job->node)) pt->natural_dst = NULL;
  kafu_policy_fn policy = job->cfg.policy ? job->cfg.policy : kafu_policy_default;
  kafu_decision d = policy(job->cfg.policy_ud, pt);
  switch (d.action) {
  case KAFU_STAY: return 0;
  case KAFU_RENAME:
    d.dst[sizeof d.dst - 1] = '\0';
    memcpy(job->node, d.dst, sizeof job->node);
    return 0;
  case KAFU_MIGRATE:
    d.dst[sizeof d.dst - 1] = '\0';
    return start_unwind(job, &d);
  }
  return fail_inside(job, KAFU_E_INTERNAL, "policy returned unknown action %u", d.action);
}

static int check_site(kafu_job *job, uint32_t site, const char *what) {
  if (site < job->prog->meta.n_sites) return 0;
  job->inner_failed = true;
  kafu_fail(&job->inner_err, KAFU_E_TRAP, "trap: kafu.%s called with unknown site %u", what, site);
  return 1;
}

static int host_enter(void *env, kafu_engine_instance *inst, const kafu_slot *args,
                      kafu_slot *results) {
  kafu_job *job = env;
  if (job->mode == KAFU_MODE_REWINDING) return finish_rewind(job);
  uint32_t site = (uint32_t)args[0];
  if (check_site(job, site, "enter")) return 1;
  if (kafu_migstack_push(job, site, job->node))
    return fail_inside(job, KAFU_E_LIMIT, "migration stack too deep (%u)", (unsigned)job->depth);
  const kafu_site *s = &job->prog->meta.sites[site];
  kafu_point pt = {.kind = KAFU_POINT_ENTER, .site_id = site, .site = s};
  pt.natural_dst = s->kind == KAFU_SITE_DEST ? s->node : NULL;
  return decide(job, &pt);
}

static int host_leave(void *env, kafu_engine_instance *inst, const kafu_slot *args,
                      kafu_slot *results) {
  kafu_job *job = env;
  if (job->mode == KAFU_MODE_REWINDING) return finish_rewind(job);
  uint32_t site = (uint32_t)args[0];
  if (check_site(job, site, "leave")) return 1;
  if (job->depth == 0 || job->stack[job->depth - 1].site_id != site)
    return fail_inside(job, KAFU_E_TRAP, "trap: migration stack mismatch at kafu.leave(%u)", site);
  kafu_mig_frame frame = job->stack[--job->depth];
  kafu_point pt = {.kind = KAFU_POINT_LEAVE, .site_id = site, .site = &job->prog->meta.sites[site]};
  pt.natural_dst = frame.from;
  return decide(job, &pt);
}

#define COUNTDOWN_MIN 16u
#define COUNTDOWN_MAX (1u << 26)

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Retunes the countdown so that polls reach the host about every
 * KAFU_POLL_TARGET_US: scale by target/elapsed, at most 4x per step so one
 * odd interval (a migration, a sleep) cannot swing it far. */
static void retune_countdown(kafu_job *job) {
  uint64_t now = mono_ns();
  uint64_t last = job->last_poll_ns;
  job->last_poll_ns = now;
  if (!last || now <= last) return;
  double ratio = (double)KAFU_POLL_TARGET_US * 1000.0 / (double)(now - last);
  if (ratio > 4.0) ratio = 4.0;
  if (ratio < 0.25) ratio = 0.25;
  double next = job->countdown * ratio;
  if (next < COUNTDOWN_MIN) next = COUNTDOWN_MIN;
  if (next > COUNTDOWN_MAX) next = COUNTDOWN_MAX;
  job->countdown = (uint32_t)next;
}

static int host_poll(void *env, kafu_engine_instance *inst, const kafu_slot *args,
                     kafu_slot *results) {
  kafu_job *job = env;
  if (job->adaptive && job->mode != KAFU_MODE_REWINDING) retune_countdown(job);
  results[0] = job->countdown;
  if (job->mode == KAFU_MODE_REWINDING) return finish_rewind(job);
  uint32_t site = (uint32_t)args[0];
  kafu_point pt = {.kind = KAFU_POINT_POLL, .site_id = site};
  if (site != ANON_SITE) {
    if (check_site(job, site, "poll")) return 1;
    pt.site = &job->prog->meta.sites[site];
  }
  /* Only offloadable while no DEST frame sits above the innermost OFFLOAD
   * frame: a DEST function called from the region must stay on its node. */
  for (size_t i = job->depth; i-- > 0;) {
    const kafu_site *s = &job->prog->meta.sites[job->stack[i].site_id];
    if (s->kind == KAFU_SITE_DEST) break;
    if (s->kind == KAFU_SITE_OFFLOAD) {
      pt.natural_dst = s->node;
      break;
    }
  }
  return decide(job, &pt);
}

static int host_node_name(void *env, kafu_engine_instance *inst, const kafu_slot *args,
                          kafu_slot *results) {
  kafu_job *job = env;
  uint32_t ptr = (uint32_t)args[0], cap = (uint32_t)args[1];
  size_t mem_size = 0;
  uint8_t *mem = kafu_instance_memory(inst, &mem_size);
  size_t n = strlen(job->node);
  if (n > cap) n = cap;
  if (!mem || (uint64_t)ptr + n > mem_size)
    return fail_inside(job, KAFU_E_TRAP, "trap: kafu.node_name buffer 0x%x out of bounds", ptr);
  memcpy(mem + ptr, job->node, n);
  results[0] = n;
  return 0;
}

size_t kafu_points_imports(kafu_job *job, kafu_host_import *out, size_t cap) {
  const kafu_host_import table[] = {
      {"kafu", "enter", 1, 0, {KAFU_I32}, {0}, host_enter, job},
      {"kafu", "leave", 1, 0, {KAFU_I32}, {0}, host_leave, job},
      {"kafu", "poll", 1, 1, {KAFU_I32}, {KAFU_I32}, host_poll, job},
      {"kafu", "node_name", 2, 1, {KAFU_I32, KAFU_I32}, {KAFU_I32}, host_node_name, job},
  };
  size_t n = sizeof table / sizeof table[0];
  if (n > cap) n = cap;
  memcpy(out, table, n * sizeof table[0]);
  return n;
}

kafu_decision kafu_policy_default(void *ud, const kafu_point *pt) {
  kafu_decision d = {KAFU_STAY, ""};
  if (pt->kind != KAFU_POINT_POLL && pt->natural_dst) {
    d.action = KAFU_MIGRATE;
    snprintf(d.dst, sizeof d.dst, "%s", pt->natural_dst);
  }
  return d;
}
