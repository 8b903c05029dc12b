/* path_* functions: open, create/remove directories, unlink, rename, stat,
 * set times, symlinks and hard links. Every path goes through the sandbox in
 * resolve.c first; the final host call then acts on (dir fd, one name) with
 * symlink following turned off. */
#define _GNU_SOURCE /* O_PATH, ppoll, renameat, strndup */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wasi/wasi_int.h"

/* Resolves the guest path (ptr, len) relative to guest directory fd `fd`. */
static uint16_t resolve_arg(kafu_wasi *w, kafu_engine_instance *inst, uint32_t fd, uint32_t ptr,
                            uint32_t len, bool follow, wasi_resolved *out) {
  memset(out, 0, sizeof *out);
  out->dir_fd = -1;
  wasi_fd *dir = kafu_wasi_fd_get(w, fd);
  if (!dir) return WASI_EBADF;
  const uint8_t *path = kafu_wasi_mem(inst, ptr, len);
  if (!path) return WASI_EFAULT;
  return kafu_wasi_resolve(w, dir, path, len, follow, out);
}

static int clear_nonblock(int fd) {
  int fl = fcntl(fd, F_GETFL);
  return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
}

uint16_t kafu_wasi_open_resolved(kafu_wasi *w, wasi_resolved *r, uint16_t oflags, bool want_read,
                                 bool want_write, uint16_t fdflags, wasi_fd *f) {
  int flags = O_CLOEXEC | O_NOFOLLOW;
  if (oflags & WASI_OFLAG_CREAT) flags |= O_CREAT;
  if (oflags & WASI_OFLAG_EXCL) flags |= O_EXCL;
  if (oflags & WASI_OFLAG_TRUNC) flags |= O_TRUNC;
  if ((oflags & WASI_OFLAG_DIRECTORY) || r->must_dir) {
    flags |= O_DIRECTORY | O_RDONLY;
    want_write = false;
    want_read = true;
  } else if (want_read && want_write) {
    flags |= O_RDWR;
  } else if (want_write) {
    flags |= O_WRONLY;
  } else {
    flags |= O_RDONLY;
    want_read = true;
  }
  if (fdflags & WASI_FDFLAG_APPEND) flags |= O_APPEND;
  if (fdflags & WASI_FDFLAG_DSYNC) flags |= O_DSYNC;
  if (fdflags & WASI_FDFLAG_NONBLOCK) flags |= O_NONBLOCK;
  if (fdflags & WASI_FDFLAG_RSYNC) flags |= O_RSYNC;
  if (fdflags & WASI_FDFLAG_SYNC) flags |= O_SYNC;

  /* Open non-blocking so a FIFO without a peer cannot hang the node in
   * open(2); the guest's own NONBLOCK choice is applied right after. */
  flags |= O_NONBLOCK;
  int root_fd = w->preopens[r->preopen].root_fd;
  int fd = kafu_wasi_open_beneath(root_fd, r->rel_path, r->dir_fd, r->name, flags, 0666);
  if (fd < 0 && errno == EISDIR && want_write && !(flags & (O_CREAT | O_TRUNC))) {
    /* Callers often ask for every right; a directory can still be opened to
     * read it (or to resolve paths below it). */
    flags = (flags & ~O_ACCMODE) | O_RDONLY;
    want_write = false;
    want_read = true;
    fd = kafu_wasi_open_beneath(root_fd, r->rel_path, r->dir_fd, r->name, flags, 0666);
  }
  if (fd < 0) return kafu_wasi_errno(errno);
  struct stat st;
  if (fstat(fd, &st) != 0 || (!(fdflags & WASI_FDFLAG_NONBLOCK) && clear_nonblock(fd) != 0)) {
    int e = errno;
    close(fd);
    return kafu_wasi_errno(e);
  }
  memset(f, 0, sizeof *f);
  f->kind = WASI_FD_FILE;
  f->host_fd = fd;
  f->owns_host_fd = true;
  f->filetype = kafu_wasi_filetype(st.st_mode);
  f->fdflags = fdflags;
  f->oflags = oflags & WASI_OFLAG_DIRECTORY; /* CREAT/EXCL/TRUNC must not replay on restore */
  if (f->filetype == WASI_FILETYPE_DIRECTORY) f->oflags |= WASI_OFLAG_DIRECTORY;
  f->can_read = want_read;
  f->can_write = want_write;
  f->preopen = r->preopen;
  f->rel_path = r->rel_path; /* moved */
  r->rel_path = NULL;
  return WASI_ESUCCESS;
}

WASI_HOSTFN(path_open) {
  kafu_wasi *w = env;
  uint32_t dirflags = WASI_ARG32(1), oflags = WASI_ARG32(4), fdflags = WASI_ARG32(7);
  uint64_t rights_base = WASI_ARG64(5), rights_inheriting = WASI_ARG64(6);
  uint32_t fd_ptr = WASI_ARG32(8);
  if (!kafu_wasi_mem(inst, fd_ptr, 4)) WASI_RET(WASI_EFAULT);
  if (oflags & ~0xfu || fdflags & ~0x1fu) WASI_RET(WASI_EINVAL);

  wasi_resolved r;
  wasi_fd nf;
  memset(&nf, 0, sizeof nf);
  nf.host_fd = -1;
  uint16_t rc = resolve_arg(w, inst, WASI_ARG32(0), WASI_ARG32(2), WASI_ARG32(3),
                            dirflags & WASI_LOOKUP_SYMLINK_FOLLOW, &r);
  if (rc) goto out;
  const wasi_fd *dir = kafu_wasi_fd_get(w, WASI_ARG32(0));
  uint64_t read_rights = WASI_RIGHT_FD_READ | WASI_RIGHT_FD_READDIR;
  uint64_t write_rights = WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_DATASYNC | WASI_RIGHT_FD_ALLOCATE |
                          WASI_RIGHT_FD_FILESTAT_SET_SIZE;
  rc = kafu_wasi_open_resolved(w, &r, (uint16_t)oflags, rights_base & read_rights,
                               rights_base & write_rights, (uint16_t)fdflags, &nf);
  if (rc) goto out;
  nf.rights_base = rights_base & dir->rights_inheriting;
  nf.rights_inheriting = rights_inheriting & dir->rights_inheriting;
  int64_t slot = kafu_wasi_fd_alloc(w); /* may move w->fds: `dir` is dead after this */
  if (slot < 0) {
    rc = WASI_EMFILE;
    goto out;
  }
  w->fds[slot] = nf;
  memset(&nf, 0, sizeof nf);
  nf.host_fd = -1;
  kafu_wasi_store_u32(inst, fd_ptr, (uint32_t)slot);
out:
  kafu_wasi_fd_release(&nf);
  kafu_wasi_resolved_free(&r);
  WASI_RET(rc);
}

WASI_HOSTFN(path_create_directory) {
  wasi_resolved r;
  uint16_t rc = resolve_arg(env, inst, WASI_ARG32(0), WASI_ARG32(1), WASI_ARG32(2), false, &r);
  if (!rc && mkdirat(r.dir_fd, r.name, 0777) != 0) rc = kafu_wasi_errno(errno);
  kafu_wasi_resolved_free(&r);
  WASI_RET(rc);
}

WASI_HOSTFN(path_unlink_file) {
  wasi_resolved r;
  uint16_t rc = resolve_arg(env, inst, WASI_ARG32(0), WASI_ARG32(1), WASI_ARG32(2), false, &r);
  if (!rc && r.must_dir) rc = WASI_ENOTDIR;
  if (!rc && unlinkat(r.dir_fd, r.name, 0) != 0) rc = kafu_wasi_errno(errno);
  kafu_wasi_resolved_free(&r);
  WASI_RET(rc);
}

WASI_HOSTFN(path_remove_directory) {
  wasi_resolved r;
  uint16_t rc = resolve_arg(env, inst, WASI_ARG32(0), WASI_ARG32(1), WASI_ARG32(2), false, &r);
  if (!rc && unlinkat(r.dir_fd, r.name, AT_REMOVEDIR) != 0) rc = kafu_wasi_errno(errno);
  kafu_wasi_resolved_free(&r);
  WASI_RET(rc);
}

WASI_HOSTFN(path_rename) {
  wasi_resolved from, to;
  memset(&to, 0, sizeof to);
  to.dir_fd = -1;
  uint16_t rc = resolve_arg(env, inst, WASI_ARG32(0), WASI_ARG32(1), WASI_ARG32(2), false, &from);
  if (!rc) rc = resolve_arg(env, inst, WASI_ARG32(3), WASI_ARG32(4), WASI_ARG32(5), false, &to);
  if (!rc && renameat(from.dir_fd, from.name, to.dir_fd, to.name) != 0) rc = kafu_wasi_errno(errno);
  if (!rc) kafu_wasi_fds_renamed(env, from.preopen, from.rel_path, to.preopen, to.rel_path);
  kafu_wasi_resolved_free(&from);
  kafu_wasi_resolved_free(&to);
  WASI_RET(rc);
}

WASI_HOSTFN(path_filestat_get) {
  wasi_resolved r;
  uint8_t *out = kafu_wasi_mem(inst, WASI_ARG32(4), 64);
  if (!out) WASI_RET(WASI_EFAULT);
  uint16_t rc = resolve_arg(env, inst, WASI_ARG32(0), WASI_ARG32(2), WASI_ARG32(3),
                            WASI_ARG32(1) & WASI_LOOKUP_SYMLINK_FOLLOW, &r);
  struct stat st;
  if (!rc && fstatat(r.dir_fd, r.name, &st, AT_SYMLINK_NOFOLLOW) != 0) rc = kafu_wasi_errno(errno);
  if (!rc) kafu_wasi_put_filestat(out, &st);
  kafu_wasi_resolved_free(&r);
  WASI_RET(rc);
}

WASI_HOSTFN(path_filestat_set_times) {
  struct timespec ts[2];
  if (!kafu_wasi_times(WASI_ARG64(4), WASI_ARG64(5), WASI_ARG32(6), ts)) WASI_RET(WASI_EINVAL);
  wasi_resolved r;
  uint16_t rc = resolve_arg(env, inst, WASI_ARG32(0), WASI_ARG32(2), WASI_ARG32(3),
                            WASI_ARG32(1) & WASI_LOOKUP_SYMLINK_FOLLOW, &r);
  if (!rc && utimensat(r.dir_fd, r.name, ts, AT_SYMLINK_NOFOLLOW) != 0) rc = kafu_wasi_errno(errno);
  kafu_wasi_resolved_free(&r);
  WASI_RET(rc);
}

WASI_HOSTFN(path_readlink) {
  uint32_t buf_len = WASI_ARG32(4);
  uint8_t *buf = kafu_wasi_mem(inst, WASI_ARG32(3), buf_len);
  if (!buf || !kafu_wasi_mem(inst, WASI_ARG32(5), 4)) WASI_RET(WASI_EFAULT);
  wasi_resolved r;
  uint16_t rc = resolve_arg(env, inst, WASI_ARG32(0), WASI_ARG32(1), WASI_ARG32(2), false, &r);
  if (rc) goto out;
  char target[WASI_MAX_PATH + 1];
  ssize_t n = readlinkat(r.dir_fd, r.name, target, sizeof target);
  if (n < 0) {
    rc = kafu_wasi_errno(errno);
    goto out;
  }
  size_t used = (size_t)n < buf_len ? (size_t)n : buf_len; /* truncates like readlink(2) */
  memcpy(buf, target, used);
  kafu_wasi_store_u32(inst, WASI_ARG32(5), (uint32_t)used);
out:
  kafu_wasi_resolved_free(&r);
  WASI_RET(rc);
}

WASI_HOSTFN(path_symlink) {
  uint32_t target_len = WASI_ARG32(1);
  const uint8_t *target = kafu_wasi_mem(inst, WASI_ARG32(0), target_len);
  if (!target) WASI_RET(WASI_EFAULT);
  if (target_len == 0 || target_len > WASI_MAX_PATH || memchr(target, '\0', target_len))
    WASI_RET(target_len == 0 ? WASI_ENOENT : WASI_EINVAL);
  if (target[0] == '/') WASI_RET(WASI_ENOTCAPABLE); /* could never resolve in the sandbox */
  char *target_str = strndup((const char *)target, target_len);
  if (!target_str) WASI_RET(WASI_ENOMEM);
  wasi_resolved r;
  uint16_t rc = resolve_arg(env, inst, WASI_ARG32(2), WASI_ARG32(3), WASI_ARG32(4), false, &r);
  if (!rc && symlinkat(target_str, r.dir_fd, r.name) != 0) rc = kafu_wasi_errno(errno);
  kafu_wasi_resolved_free(&r);
  free(target_str);
  WASI_RET(rc);
}

WASI_HOSTFN(path_link) {
  wasi_resolved from, to;
  memset(&to, 0, sizeof to);
  to.dir_fd = -1;
  uint16_t rc = resolve_arg(env, inst, WASI_ARG32(0), WASI_ARG32(2), WASI_ARG32(3),
                            WASI_ARG32(1) & WASI_LOOKUP_SYMLINK_FOLLOW, &from);
  if (!rc) rc = resolve_arg(env, inst, WASI_ARG32(4), WASI_ARG32(5), WASI_ARG32(6), false, &to);
  /* No AT_SYMLINK_FOLLOW: the sandbox already followed what the guest asked for. */
  if (!rc && linkat(from.dir_fd, from.name, to.dir_fd, to.name, 0) != 0)
    rc = kafu_wasi_errno(errno);
  kafu_wasi_resolved_free(&from);
  kafu_wasi_resolved_free(&to);
  WASI_RET(rc);
}
