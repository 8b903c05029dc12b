/* fd_readdir. A directory is listed once (when the guest starts at cookie 0),
 * sorted by name and cached on the fd; a cookie is an index into that list.
 * Sorting makes cookies mean the same thing on every node, so a listing
 * interrupted by a migration continues where it stopped. */
#define _GNU_SOURCE /* O_PATH, ppoll, renameat, strndup */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "wasi/wasi_int.h"

static uint8_t dirent_type(unsigned char d_type) {
  switch (d_type) {
  case DT_REG: return WASI_FILETYPE_REGULAR_FILE;
  case DT_DIR: return WASI_FILETYPE_DIRECTORY;
  case DT_LNK: return WASI_FILETYPE_SYMBOLIC_LINK;
  case DT_CHR: return WASI_FILETYPE_CHARACTER_DEVICE;
  case DT_BLK: return WASI_FILETYPE_BLOCK_DEVICE;
  case DT_SOCK: return WASI_FILETYPE_SOCKET_STREAM;
  default: return WASI_FILETYPE_UNKNOWN;
  }
}

static int by_name(const void *a, const void *b) {
  return strcmp(((const struct wasi_dirent_entry *)a)->name,
                ((const struct wasi_dirent_entry *)b)->name);
}

/* (Re)reads the whole directory into f->dir. Returns a preview1 errno. */
static uint16_t load(wasi_fd *f) {
  uint16_t rc = WASI_ESUCCESS;
  kafu_wasi_dircache_clear(&f->dir);
  f->dir.loaded = false;
  int fd = fcntl(f->host_fd, F_DUPFD_CLOEXEC, 3);
  if (fd < 0) return kafu_wasi_errno(errno);
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return kafu_wasi_errno(errno);
  }
  rewinddir(d);
  size_t cap = 0;
  struct dirent *de;
  errno = 0;
  while ((de = readdir(d)) != NULL) {
    if (f->dir.n == cap) {
      size_t ncap = cap ? cap * 2 : 32;
      struct wasi_dirent_entry *p = realloc(f->dir.entries, ncap * sizeof *p);
      if (!p) {
        rc = WASI_ENOMEM;
        goto out;
      }
      f->dir.entries = p;
      cap = ncap;
    }
    struct wasi_dirent_entry *e = &f->dir.entries[f->dir.n];
    e->name = strdup(de->d_name);
    if (!e->name) {
      rc = WASI_ENOMEM;
      goto out;
    }
    e->ino = (uint64_t)de->d_ino;
    e->type = dirent_type(de->d_type);
    f->dir.n++;
    errno = 0;
  }
  if (errno) {
    rc = kafu_wasi_errno(errno);
    goto out;
  }
  qsort(f->dir.entries, f->dir.n, sizeof *f->dir.entries, by_name);
  f->dir.loaded = true;
out:
  closedir(d);
  if (rc) kafu_wasi_dircache_clear(&f->dir);
  return rc;
}

WASI_HOSTFN(fd_readdir) {
  kafu_wasi *w = env;
  wasi_fd *f = kafu_wasi_fd_get(w, WASI_ARG32(0));
  uint32_t buf_len = WASI_ARG32(2);
  uint64_t cookie = WASI_ARG64(3);
  if (!f) WASI_RET(WASI_EBADF);
  uint8_t *buf = kafu_wasi_mem(inst, WASI_ARG32(1), buf_len);
  if (!buf || !kafu_wasi_mem(inst, WASI_ARG32(4), 4)) WASI_RET(WASI_EFAULT);
  if (f->filetype != WASI_FILETYPE_DIRECTORY || f->host_fd < 0) WASI_RET(WASI_ENOTDIR);
  if (cookie == 0 || !f->dir.loaded) {
    uint16_t rc = load(f);
    if (rc) WASI_RET(rc);
  }
  size_t used = 0;
  for (uint64_t i = cookie; i < f->dir.n && used < buf_len; i++) {
    const struct wasi_dirent_entry *e = &f->dir.entries[i];
    size_t name_len = strlen(e->name);
    uint8_t header[24];
    memset(header, 0, sizeof header);
    kafu_wasi_put_u64(header, i + 1);
    kafu_wasi_put_u64(header + 8, e->ino);
    kafu_wasi_put_u32(header + 16, (uint32_t)name_len);
    header[20] = e->type;
    /* The last entry may be cut short: the guest sees a full buffer and asks
     * again with that entry's cookie. */
    size_t n = sizeof header < buf_len - used ? sizeof header : buf_len - used;
    memcpy(buf + used, header, n);
    used += n;
    n = name_len < buf_len - used ? name_len : buf_len - used;
    memcpy(buf + used, e->name, n);
    used += n;
  }
  kafu_wasi_store_u32(inst, WASI_ARG32(4), (uint32_t)used);
  WASI_RET(WASI_ESUCCESS);
}
