/* Clocks, randomness and process control: clock_*, random_get, sched_yield,
 * proc_exit, proc_raise. The guest's monotonic clock is the host's plus an
 * offset, so that it continues (never jumps back) across migrations. */
#define _GNU_SOURCE /* O_PATH, ppoll, renameat, strndup */
#include <errno.h>
#include <sched.h>
#include <sys/random.h>
#include <time.h>

#include "wasi/wasi_int.h"

uint64_t kafu_wasi_host_monotonic(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t kafu_wasi_monotonic_peek(const kafu_wasi *w) {
  int64_t now;
  if (__builtin_add_overflow((int64_t)kafu_wasi_host_monotonic(), w->mono_offset, &now))
    now = w->mono_offset > 0 ? INT64_MAX : 0; /* saturate rather than wrap */
  uint64_t v = now < 0 ? 0 : (uint64_t)now;
  return v < w->mono_last ? w->mono_last : v; /* belt and braces: never backwards */
}

uint64_t kafu_wasi_monotonic(kafu_wasi *w) {
  w->mono_last = kafu_wasi_monotonic_peek(w);
  return w->mono_last;
}

static bool host_clock(uint32_t id, clockid_t *out) {
  switch (id) {
  case WASI_CLOCK_REALTIME: *out = CLOCK_REALTIME; return true;
  case WASI_CLOCK_MONOTONIC: *out = CLOCK_MONOTONIC; return true;
  case WASI_CLOCK_PROCESS_CPUTIME: *out = CLOCK_PROCESS_CPUTIME_ID; return true;
  case WASI_CLOCK_THREAD_CPUTIME: *out = CLOCK_THREAD_CPUTIME_ID; return true;
  default: return false;
  }
}

WASI_HOSTFN(clock_res_get) {
  clockid_t id;
  struct timespec ts;
  if (!host_clock(WASI_ARG32(0), &id)) WASI_RET(WASI_EINVAL);
  if (clock_getres(id, &ts) != 0) WASI_RET(kafu_wasi_errno(errno));
  uint64_t res = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
  if (!kafu_wasi_store_u64(inst, WASI_ARG32(1), res ? res : 1)) WASI_RET(WASI_EFAULT);
  WASI_RET(WASI_ESUCCESS);
}

WASI_HOSTFN(clock_time_get) {
  kafu_wasi *w = env;
  uint32_t clock = WASI_ARG32(0);
  uint64_t value;
  clockid_t id;
  if (!host_clock(clock, &id)) WASI_RET(WASI_EINVAL);
  if (clock == WASI_CLOCK_MONOTONIC) {
    value = kafu_wasi_monotonic(w);
  } else {
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0) WASI_RET(kafu_wasi_errno(errno));
    value = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
  }
  if (!kafu_wasi_store_u64(inst, WASI_ARG32(2), value)) WASI_RET(WASI_EFAULT);
  WASI_RET(WASI_ESUCCESS);
}

WASI_HOSTFN(random_get) {
  uint32_t len = WASI_ARG32(1);
  uint8_t *buf = kafu_wasi_mem(inst, WASI_ARG32(0), len);
  if (!buf) WASI_RET(WASI_EFAULT);
  size_t done = 0;
  while (done < len) {
    ssize_t n = getrandom(buf + done, len - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      WASI_RET(kafu_wasi_errno(errno));
    }
    done += (size_t)n;
  }
  WASI_RET(WASI_ESUCCESS);
}

WASI_HOSTFN(sched_yield) {
  sched_yield();
  WASI_RET(WASI_ESUCCESS);
}

/* Records the exit code and aborts the running call (non-zero return). */
WASI_HOSTFN(proc_exit) {
  kafu_wasi *w = env;
  w->exited = true;
  w->exit_code = (int)WASI_ARG32(0);
  return 1;
}

WASI_HOSTFN(proc_raise) {
  WASI_RET(WASI_ENOTSUP);
}
