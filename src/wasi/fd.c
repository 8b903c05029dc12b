/* fd_* functions that work on an open descriptor: read/write (vectored,
 * positional), seek/tell, close/renumber, sync, fdstat, prestat, filestat,
 * advise, allocate. Directory listing lives in dir.c. */
#define _GNU_SOURCE /* O_PATH, ppoll, renameat, strndup */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "wasi/wasi_int.h"

#define WASI_IOV_MAX 1024

/* Gathers guest iovecs into host ones; *n_out may be smaller than n_iovs if
 * the guest passes more than WASI_IOV_MAX (a short transfer is legal). */
static uint16_t gather_iovs(kafu_engine_instance *inst, uint32_t iovs_ptr, uint32_t n_iovs,
                            struct iovec *out, int *n_out) {
  const uint8_t *raw = kafu_wasi_mem(inst, iovs_ptr, (uint64_t)n_iovs * 8);
  if (!raw) return WASI_EFAULT;
  if (n_iovs > WASI_IOV_MAX) n_iovs = WASI_IOV_MAX;
  uint64_t total = 0;
  for (uint32_t i = 0; i < n_iovs; i++) {
    uint32_t buf = kafu_wasi_get_u32(raw + 8 * i);
    uint32_t len = kafu_wasi_get_u32(raw + 8 * i + 4);
    uint8_t *mem = kafu_wasi_mem(inst, buf, len);
    if (!mem) return WASI_EFAULT;
    if (total + len > SSIZE_MAX / 2) len = 0; /* keep the sum in range */
    total += len;
    out[i].iov_base = mem;
    out[i].iov_len = len;
  }
  *n_out = (int)n_iovs;
  return WASI_ESUCCESS;
}

/* Shared body of fd_read/fd_pread/fd_write/fd_pwrite. offset < 0: current position. */
static uint16_t do_io(kafu_wasi *w, kafu_engine_instance *inst, const kafu_slot *args, bool write,
                      int64_t offset, uint32_t result_ptr) {
  wasi_fd *f = kafu_wasi_fd_get(w, WASI_ARG32(0));
  if (!f) return WASI_EBADF;
  struct iovec *iov = malloc(WASI_IOV_MAX * sizeof *iov);
  if (!iov) return WASI_ENOMEM;
  int n_iov = 0;
  uint16_t rc = gather_iovs(inst, WASI_ARG32(1), WASI_ARG32(2), iov, &n_iov);
  if (rc) goto out;
  /* The result pointer is checked before any side effect happens. */
  if (!kafu_wasi_mem(inst, result_ptr, 4)) {
    rc = WASI_EFAULT;
    goto out;
  }
  if (f->kind == WASI_FD_STDIO && (write ? !f->can_write : !f->can_read)) {
    rc = WASI_EBADF;
    goto out;
  }
  uint64_t done = 0;
  if (f->kind == WASI_FD_STDIO && f->host_fd < 0) {
    if (offset >= 0) {
      rc = WASI_ESPIPE;
      goto out;
    }
    if (write) { /* the output hook */
      for (int i = 0; i < n_iov; i++) {
        if (!iov[i].iov_len) continue;
        if (w->output(w->output_ud, f->stdio, iov[i].iov_base, iov[i].iov_len) != 0) {
          rc = done ? WASI_ESUCCESS : WASI_EIO;
          break;
        }
        done += iov[i].iov_len;
      }
    } /* else: empty stdin, EOF */
  } else {
    ssize_t n;
    do {
      if (write)
        n = offset >= 0 ? pwritev(f->host_fd, iov, n_iov, offset) : writev(f->host_fd, iov, n_iov);
      else
        n = offset >= 0 ? preadv(f->host_fd, iov, n_iov, offset) : readv(f->host_fd, iov, n_iov);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      rc = kafu_wasi_errno(errno);
      goto out;
    }
    done = (uint64_t)n;
  }
  kafu_wasi_store_u32(inst, result_ptr, (uint32_t)done);
out:
  free(iov);
  return rc;
}

WASI_HOSTFN(fd_read) {
  WASI_RET(do_io(env, inst, args, false, -1, WASI_ARG32(3)));
}
WASI_HOSTFN(fd_write) {
  WASI_RET(do_io(env, inst, args, true, -1, WASI_ARG32(3)));
}

WASI_HOSTFN(fd_pread) {
  if (WASI_ARG64(3) > INT64_MAX) WASI_RET(WASI_EINVAL);
  WASI_RET(do_io(env, inst, args, false, (int64_t)WASI_ARG64(3), WASI_ARG32(4)));
}

WASI_HOSTFN(fd_pwrite) {
  if (WASI_ARG64(3) > INT64_MAX) WASI_RET(WASI_EINVAL);
  WASI_RET(do_io(env, inst, args, true, (int64_t)WASI_ARG64(3), WASI_ARG32(4)));
}

/* Returns the entry if it has a seekable host fd, else NULL with *rc set. */
static wasi_fd *seekable(kafu_wasi *w, uint32_t fd, uint16_t *rc) {
  wasi_fd *f = kafu_wasi_fd_get(w, fd);
  *rc = WASI_EBADF;
  if (!f) return NULL;
  if (f->filetype == WASI_FILETYPE_DIRECTORY) {
    *rc = WASI_EISDIR;
    return NULL;
  }
  if (f->host_fd < 0) {
    *rc = WASI_ESPIPE;
    return NULL;
  }
  return f;
}

WASI_HOSTFN(fd_seek) {
  kafu_wasi *w = env;
  uint16_t rc;
  wasi_fd *f = seekable(w, WASI_ARG32(0), &rc);
  if (!f) WASI_RET(rc);
  int whence;
  switch (WASI_ARG32(2)) {
  case WASI_WHENCE_SET: whence = SEEK_SET; break;
  case WASI_WHENCE_CUR: whence = SEEK_CUR; break;
  case WASI_WHENCE_END: whence = SEEK_END; break;
  default: WASI_RET(WASI_EINVAL);
  }
  if (!kafu_wasi_mem(inst, WASI_ARG32(3), 8)) WASI_RET(WASI_EFAULT);
  off_t pos = lseek(f->host_fd, (off_t)(int64_t)WASI_ARG64(1), whence);
  if (pos < 0) WASI_RET(kafu_wasi_errno(errno));
  kafu_wasi_store_u64(inst, WASI_ARG32(3), (uint64_t)pos);
  WASI_RET(WASI_ESUCCESS);
}

WASI_HOSTFN(fd_tell) {
  kafu_wasi *w = env;
  uint16_t rc;
  wasi_fd *f = seekable(w, WASI_ARG32(0), &rc);
  if (!f) WASI_RET(rc);
  if (!kafu_wasi_mem(inst, WASI_ARG32(1), 8)) WASI_RET(WASI_EFAULT);
  off_t pos = lseek(f->host_fd, 0, SEEK_CUR);
  if (pos < 0) WASI_RET(kafu_wasi_errno(errno));
  kafu_wasi_store_u64(inst, WASI_ARG32(1), (uint64_t)pos);
  WASI_RET(WASI_ESUCCESS);
}

WASI_HOSTFN(fd_close) {
  kafu_wasi *w = env;
  uint32_t fd = WASI_ARG32(0);
  if (fd >= w->n_fds || w->fds[fd].kind == WASI_FD_FREE) WASI_RET(WASI_EBADF);
  kafu_wasi_fd_release(&w->fds[fd]); /* a BAD (lost on restore) fd may be closed */
  WASI_RET(WASI_ESUCCESS);
}

WASI_HOSTFN(fd_renumber) {
  kafu_wasi *w = env;
  uint32_t from = WASI_ARG32(0), to = WASI_ARG32(1);
  if (!kafu_wasi_fd_get(w, from) || !kafu_wasi_fd_get(w, to)) WASI_RET(WASI_EBADF);
  if (from == to) WASI_RET(WASI_ESUCCESS);
  kafu_wasi_fd_release(&w->fds[to]);
  w->fds[to] = w->fds[from];
  memset(&w->fds[from], 0, sizeof w->fds[from]);
  w->fds[from].host_fd = -1;
  WASI_RET(WASI_ESUCCESS);
}

static uint16_t sync_fd(kafu_wasi *w, uint32_t fd, bool data_only) {
  wasi_fd *f = kafu_wasi_fd_get(w, fd);
  if (!f) return WASI_EBADF;
  if (f->host_fd < 0) return WASI_ESUCCESS; /* output hook / empty stdin */
  int r = data_only ? fdatasync(f->host_fd) : fsync(f->host_fd);
  if (r != 0 && errno != EINVAL && errno != EROFS) return kafu_wasi_errno(errno);
  return WASI_ESUCCESS; /* pipes and ttys cannot be synced: nothing to do */
}

WASI_HOSTFN(fd_sync) {
  WASI_RET(sync_fd(env, WASI_ARG32(0), false));
}
WASI_HOSTFN(fd_datasync) {
  WASI_RET(sync_fd(env, WASI_ARG32(0), true));
}

WASI_HOSTFN(fd_fdstat_get) {
  kafu_wasi *w = env;
  wasi_fd *f = kafu_wasi_fd_get(w, WASI_ARG32(0));
  if (!f) WASI_RET(WASI_EBADF);
  uint8_t *p = kafu_wasi_mem(inst, WASI_ARG32(1), 24);
  if (!p) WASI_RET(WASI_EFAULT);
  memset(p, 0, 24);
  p[0] = f->filetype;
  kafu_wasi_put_u16(p + 2, f->fdflags);
  kafu_wasi_put_u64(p + 8, f->rights_base);
  kafu_wasi_put_u64(p + 16, f->rights_inheriting);
  WASI_RET(WASI_ESUCCESS);
}

WASI_HOSTFN(fd_fdstat_set_flags) {
  kafu_wasi *w = env;
  wasi_fd *f = kafu_wasi_fd_get(w, WASI_ARG32(0));
  uint32_t flags = WASI_ARG32(1);
  if (!f) WASI_RET(WASI_EBADF);
  if (flags & ~(uint32_t)0x1f) WASI_RET(WASI_EINVAL);
  /* Linux can only change O_APPEND and O_NONBLOCK after open. */
  uint32_t fixed = WASI_FDFLAG_DSYNC | WASI_FDFLAG_RSYNC | WASI_FDFLAG_SYNC;
  if ((flags & fixed) != (f->fdflags & fixed)) WASI_RET(WASI_ENOTSUP);
  /* stdio host fds share their open file description with this process (or
   * the embedder's stdin): record the flags but never change the host's. */
  if (f->host_fd >= 0 && f->kind != WASI_FD_STDIO) {
    int fl = fcntl(f->host_fd, F_GETFL);
    if (fl < 0) WASI_RET(kafu_wasi_errno(errno));
    fl &= ~(O_APPEND | O_NONBLOCK);
    if (flags & WASI_FDFLAG_APPEND) fl |= O_APPEND;
    if (flags & WASI_FDFLAG_NONBLOCK) fl |= O_NONBLOCK;
    if (fcntl(f->host_fd, F_SETFL, fl) != 0) WASI_RET(kafu_wasi_errno(errno));
  }
  f->fdflags = (uint16_t)flags;
  WASI_RET(WASI_ESUCCESS);
}

WASI_HOSTFN(fd_fdstat_set_rights) {
  kafu_wasi *w = env;
  wasi_fd *f = kafu_wasi_fd_get(w, WASI_ARG32(0));
  if (!f) WASI_RET(WASI_EBADF);
  uint64_t base = WASI_ARG64(1), inheriting = WASI_ARG64(2);
  /* Rights may only shrink. */
  if ((base & ~f->rights_base) || (inheriting & ~f->rights_inheriting)) WASI_RET(WASI_ENOTCAPABLE);
  f->rights_base = base;
  f->rights_inheriting = inheriting;
  WASI_RET(WASI_ESUCCESS);
}

WASI_HOSTFN(fd_prestat_get) {
  kafu_wasi *w = env;
  wasi_fd *f = kafu_wasi_fd_get(w, WASI_ARG32(0));
  if (!f || f->kind != WASI_FD_PREOPEN) WASI_RET(WASI_EBADF);
  uint8_t *p = kafu_wasi_mem(inst, WASI_ARG32(1), 8);
  if (!p) WASI_RET(WASI_EFAULT);
  memset(p, 0, 8);
  p[0] = WASI_PREOPENTYPE_DIR;
  kafu_wasi_put_u32(p + 4, (uint32_t)strlen(w->preopens[f->preopen].guest_path));
  WASI_RET(WASI_ESUCCESS);
}

WASI_HOSTFN(fd_prestat_dir_name) {
  kafu_wasi *w = env;
  wasi_fd *f = kafu_wasi_fd_get(w, WASI_ARG32(0));
  if (!f || f->kind != WASI_FD_PREOPEN) WASI_RET(WASI_EBADF);
  const char *name = w->preopens[f->preopen].guest_path;
  size_t len = strlen(name);
  if (WASI_ARG32(2) < len) WASI_RET(WASI_ENAMETOOLONG);
  uint8_t *p = kafu_wasi_mem(inst, WASI_ARG32(1), len);
  if (!p) WASI_RET(WASI_EFAULT);
  memcpy(p, name, len);
  WASI_RET(WASI_ESUCCESS);
}

void kafu_wasi_put_filestat(uint8_t *p, const struct stat *st) {
  memset(p, 0, 64);
  kafu_wasi_put_u64(p + 0, (uint64_t)st->st_dev);
  kafu_wasi_put_u64(p + 8, (uint64_t)st->st_ino);
  p[16] = kafu_wasi_filetype(st->st_mode);
  kafu_wasi_put_u64(p + 24, (uint64_t)st->st_nlink);
  kafu_wasi_put_u64(p + 32, (uint64_t)st->st_size);
  kafu_wasi_put_u64(p + 40,
                    (uint64_t)st->st_atim.tv_sec * 1000000000ull + (uint64_t)st->st_atim.tv_nsec);
  kafu_wasi_put_u64(p + 48,
                    (uint64_t)st->st_mtim.tv_sec * 1000000000ull + (uint64_t)st->st_mtim.tv_nsec);
  kafu_wasi_put_u64(p + 56,
                    (uint64_t)st->st_ctim.tv_sec * 1000000000ull + (uint64_t)st->st_ctim.tv_nsec);
}

WASI_HOSTFN(fd_filestat_get) {
  kafu_wasi *w = env;
  wasi_fd *f = kafu_wasi_fd_get(w, WASI_ARG32(0));
  if (!f) WASI_RET(WASI_EBADF);
  uint8_t *p = kafu_wasi_mem(inst, WASI_ARG32(1), 64);
  if (!p) WASI_RET(WASI_EFAULT);
  if (f->host_fd < 0) { /* output hook or empty stdin: a bare character device */
    memset(p, 0, 64);
    p[16] = f->filetype;
    WASI_RET(WASI_ESUCCESS);
  }
  struct stat st;
  if (fstat(f->host_fd, &st) != 0) WASI_RET(kafu_wasi_errno(errno));
  kafu_wasi_put_filestat(p, &st);
  WASI_RET(WASI_ESUCCESS);
}

WASI_HOSTFN(fd_filestat_set_size) {
  kafu_wasi *w = env;
  wasi_fd *f = kafu_wasi_fd_get(w, WASI_ARG32(0));
  if (!f) WASI_RET(WASI_EBADF);
  if (f->host_fd < 0) WASI_RET(WASI_EINVAL);
  if (WASI_ARG64(1) > INT64_MAX) WASI_RET(WASI_EFBIG);
  if (ftruncate(f->host_fd, (off_t)WASI_ARG64(1)) != 0) WASI_RET(kafu_wasi_errno(errno));
  WASI_RET(WASI_ESUCCESS);
}

bool kafu_wasi_times(uint64_t atim, uint64_t mtim, uint32_t fstflags, struct timespec ts[2]) {
  if ((fstflags & WASI_FSTFLAG_ATIM && fstflags & WASI_FSTFLAG_ATIM_NOW) ||
      (fstflags & WASI_FSTFLAG_MTIM && fstflags & WASI_FSTFLAG_MTIM_NOW) || (fstflags & ~0xfu))
    return false;
  const uint64_t times[2] = {atim, mtim};
  const uint32_t set[2] = {WASI_FSTFLAG_ATIM, WASI_FSTFLAG_MTIM};
  const uint32_t now[2] = {WASI_FSTFLAG_ATIM_NOW, WASI_FSTFLAG_MTIM_NOW};
  for (int i = 0; i < 2; i++) {
    if (fstflags & now[i]) {
      ts[i].tv_sec = 0;
      ts[i].tv_nsec = UTIME_NOW;
    } else if (fstflags & set[i]) {
      ts[i].tv_sec = (time_t)(times[i] / 1000000000ull);
      ts[i].tv_nsec = (long)(times[i] % 1000000000ull);
    } else {
      ts[i].tv_sec = 0;
      ts[i].tv_nsec = UTIME_OMIT;
    }
  }
  return true;
}

WASI_HOSTFN(fd_filestat_set_times) {
  kafu_wasi *w = env;
  wasi_fd *f = kafu_wasi_fd_get(w, WASI_ARG32(0));
  if (!f) WASI_RET(WASI_EBADF);
  if (f->host_fd < 0) WASI_RET(WASI_EINVAL);
  struct timespec ts[2];
  if (!kafu_wasi_times(WASI_ARG64(1), WASI_ARG64(2), WASI_ARG32(3), ts)) WASI_RET(WASI_EINVAL);
  if (futimens(f->host_fd, ts) != 0) WASI_RET(kafu_wasi_errno(errno));
  WASI_RET(WASI_ESUCCESS);
}

WASI_HOSTFN(fd_advise) {
  kafu_wasi *w = env;
  wasi_fd *f = kafu_wasi_fd_get(w, WASI_ARG32(0));
  if (!f) WASI_RET(WASI_EBADF);
  static const int advice[] = {POSIX_FADV_NORMAL,   POSIX_FADV_SEQUENTIAL, POSIX_FADV_RANDOM,
                               POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED,   POSIX_FADV_NOREUSE};
  uint32_t a = WASI_ARG32(3);
  if (a >= sizeof advice / sizeof advice[0]) WASI_RET(WASI_EINVAL);
  if (WASI_ARG64(1) > INT64_MAX || WASI_ARG64(2) > INT64_MAX) WASI_RET(WASI_EINVAL);
  if (f->filetype != WASI_FILETYPE_REGULAR_FILE || f->host_fd < 0) WASI_RET(WASI_ESUCCESS);
  int r = posix_fadvise(f->host_fd, (off_t)WASI_ARG64(1), (off_t)WASI_ARG64(2), advice[a]);
  WASI_RET(r ? kafu_wasi_errno(r) : WASI_ESUCCESS); /* advice is only a hint */
}

WASI_HOSTFN(fd_allocate) {
  kafu_wasi *w = env;
  wasi_fd *f = kafu_wasi_fd_get(w, WASI_ARG32(0));
  if (!f) WASI_RET(WASI_EBADF);
  if (f->filetype == WASI_FILETYPE_DIRECTORY) WASI_RET(WASI_EISDIR);
  if (f->host_fd < 0) WASI_RET(WASI_EINVAL);
  uint64_t off = WASI_ARG64(1), len = WASI_ARG64(2);
  if (off > INT64_MAX || len > INT64_MAX || off + len > INT64_MAX) WASI_RET(WASI_EFBIG);
  int r = posix_fallocate(f->host_fd, (off_t)off, (off_t)len);
  WASI_RET(r ? kafu_wasi_errno(r) : WASI_ESUCCESS);
}
