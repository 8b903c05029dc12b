/* poll_oneoff: clock subscriptions sleep (relative or absolute); fd
 * subscriptions on files, directories and the output hook are always ready,
 * pipes/ttys/sockets are polled for real. Also the sock_* stubs (no sockets). */
#define _GNU_SOURCE /* O_PATH, ppoll, renameat, strndup */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "wasi/wasi_int.h"

#define SUB_SIZE 48
#define EVENT_SIZE 32
#define WASI_EVENT_HANGUP 1

typedef struct sub_state {
  uint64_t userdata;
  uint8_t type;
  bool done;         /* an event was already produced */
  uint64_t deadline; /* clocks: host monotonic ns at which it fires */
  int poll_index;    /* fds: index into pollfds, or -1 */
} sub_state;

static void put_event(uint8_t *out, uint32_t *n_events, const sub_state *s, uint16_t error,
                      uint64_t nbytes, uint16_t flags) {
  uint8_t *e = out + (size_t)*n_events * EVENT_SIZE;
  memset(e, 0, EVENT_SIZE);
  kafu_wasi_put_u64(e, s->userdata);
  kafu_wasi_put_u16(e + 8, error);
  e[10] = s->type;
  kafu_wasi_put_u64(e + 16, nbytes);
  kafu_wasi_put_u16(e + 24, flags);
  (*n_events)++;
}

/* Readable bytes for an always-ready fd (best effort). */
static uint64_t ready_bytes(const wasi_fd *f, uint8_t type) {
  if (type != WASI_EVENTTYPE_FD_READ || f->host_fd < 0) return 0;
  struct stat st;
  if (fstat(f->host_fd, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
  off_t pos = lseek(f->host_fd, 0, SEEK_CUR);
  return pos >= 0 && st.st_size > pos ? (uint64_t)(st.st_size - pos) : 0;
}

WASI_HOSTFN(poll_oneoff) {
  kafu_wasi *w = env;
  uint32_t n_subs = WASI_ARG32(2);
  uint16_t rc = WASI_ESUCCESS;
  if (n_subs == 0) WASI_RET(WASI_EINVAL);
  const uint8_t *in = kafu_wasi_mem(inst, WASI_ARG32(0), (uint64_t)n_subs * SUB_SIZE);
  uint8_t *out = kafu_wasi_mem(inst, WASI_ARG32(1), (uint64_t)n_subs * EVENT_SIZE);
  if (!in || !out || !kafu_wasi_mem(inst, WASI_ARG32(3), 4)) WASI_RET(WASI_EFAULT);

  sub_state *subs = calloc(n_subs, sizeof *subs);
  struct pollfd *pfds = calloc(n_subs, sizeof *pfds);
  uint32_t n_pfds = 0, n_events = 0;
  bool have_clock = false;
  uint64_t earliest = UINT64_MAX;
  if (!subs || !pfds) {
    rc = WASI_ENOMEM;
    goto out;
  }
  uint64_t now = kafu_wasi_host_monotonic();
  for (uint32_t i = 0; i < n_subs; i++) {
    const uint8_t *s = in + (size_t)i * SUB_SIZE;
    sub_state *st = &subs[i];
    st->userdata = kafu_wasi_get_u64(s);
    st->type = s[8];
    st->poll_index = -1;
    if (st->type == WASI_EVENTTYPE_CLOCK) {
      uint32_t clock = kafu_wasi_get_u32(s + 16);
      uint64_t timeout = kafu_wasi_get_u64(s + 24);
      uint16_t flags = kafu_wasi_get_u16(s + 40);
      uint64_t rel;
      if (flags & WASI_SUBCLOCK_ABSTIME) {
        uint64_t clock_now;
        struct timespec ts;
        if (clock == WASI_CLOCK_MONOTONIC) {
          clock_now = kafu_wasi_monotonic(w);
        } else if (clock == WASI_CLOCK_REALTIME && clock_gettime(CLOCK_REALTIME, &ts) == 0) {
          clock_now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
        } else {
          put_event(out, &n_events, st, WASI_ENOTSUP, 0, 0);
          st->done = true;
          continue;
        }
        rel = timeout > clock_now ? timeout - clock_now : 0;
      } else {
        if (clock > WASI_CLOCK_THREAD_CPUTIME) {
          put_event(out, &n_events, st, WASI_EINVAL, 0, 0);
          st->done = true;
          continue;
        }
        rel = timeout; /* relative sleeps measure elapsed time the same on any clock */
      }
      st->deadline = rel > UINT64_MAX - now ? UINT64_MAX : now + rel;
      have_clock = true;
      if (st->deadline < earliest) earliest = st->deadline;
    } else if (st->type == WASI_EVENTTYPE_FD_READ || st->type == WASI_EVENTTYPE_FD_WRITE) {
      wasi_fd *f = kafu_wasi_fd_get(w, kafu_wasi_get_u32(s + 16));
      if (!f) {
        put_event(out, &n_events, st, WASI_EBADF, 0, 0);
        st->done = true;
        continue;
      }
      bool pollable =
          f->host_fd >= 0 &&
          (f->filetype == WASI_FILETYPE_UNKNOWN || f->filetype == WASI_FILETYPE_CHARACTER_DEVICE ||
           f->filetype == WASI_FILETYPE_SOCKET_STREAM || f->filetype == WASI_FILETYPE_SOCKET_DGRAM);
      if (!pollable) {
        bool hangup =
            f->kind == WASI_FD_STDIO && f->host_fd < 0 && st->type == WASI_EVENTTYPE_FD_READ;
        put_event(out, &n_events, st, 0, ready_bytes(f, st->type), hangup ? WASI_EVENT_HANGUP : 0);
        st->done = true;
        continue;
      }
      st->poll_index = (int)n_pfds;
      pfds[n_pfds].fd = f->host_fd;
      pfds[n_pfds].events = st->type == WASI_EVENTTYPE_FD_READ ? POLLIN : POLLOUT;
      n_pfds++;
    } else {
      put_event(out, &n_events, st, WASI_EINVAL, 0, 0);
      st->done = true;
    }
  }

  /* Wait only if nothing is ready yet; then collect what is. Repeat until at
   * least one event exists (ppoll may return early on a signal). */
  bool first = true;
  while (first || n_events == 0) {
    first = false;
    now = kafu_wasi_host_monotonic();
    struct timespec wait = {0, 0}, *waitp = &wait;
    if (n_events == 0) {
      if (!have_clock) {
        waitp = NULL; /* only fds: block until one is ready */
      } else if (earliest > now) {
        uint64_t d = earliest - now;
        wait.tv_sec = (time_t)(d / 1000000000ull);
        wait.tv_nsec = (long)(d % 1000000000ull);
      }
    }
    int r = 0;
    if (n_pfds || !waitp || wait.tv_sec || wait.tv_nsec) r = ppoll(pfds, n_pfds, waitp, NULL);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      rc = kafu_wasi_errno(errno);
      goto out;
    }
    now = kafu_wasi_host_monotonic();
    for (uint32_t i = 0; i < n_subs; i++) {
      sub_state *st = &subs[i];
      if (st->done) continue;
      if (st->type == WASI_EVENTTYPE_CLOCK) {
        if (st->deadline > now) continue;
        put_event(out, &n_events, st, 0, 0, 0);
        st->done = true;
      } else if (st->poll_index >= 0) {
        short re = pfds[st->poll_index].revents;
        if (!re) continue;
        int avail = 0;
        if (st->type == WASI_EVENTTYPE_FD_READ &&
            ioctl(pfds[st->poll_index].fd, FIONREAD, &avail) != 0)
          avail = 0;
        put_event(out, &n_events, st, (re & (POLLERR | POLLNVAL)) ? WASI_EIO : 0,
                  avail > 0 ? (uint64_t)avail : 0, (re & POLLHUP) ? WASI_EVENT_HANGUP : 0);
        st->done = true;
      }
    }
  }
  kafu_wasi_store_u32(inst, WASI_ARG32(3), n_events);
out:
  free(subs);
  free(pfds);
  WASI_RET(rc);
}

WASI_HOSTFN(sock_accept) {
  WASI_RET(WASI_ENOTSUP);
}
WASI_HOSTFN(sock_recv) {
  WASI_RET(WASI_ENOTSUP);
}
WASI_HOSTFN(sock_send) {
  WASI_RET(WASI_ENOTSUP);
}
WASI_HOSTFN(sock_shutdown) {
  WASI_RET(WASI_ENOTSUP);
}
