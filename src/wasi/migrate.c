/* Migration state: kafu_wasi_save encodes what a WASI context needs on another
 * node (preopen guest names, every open fd by guest path + offset + flags, the
 * guest monotonic clock); kafu_wasi_restore decodes it (hostile input) and
 * reopens the files below this node's preopens of the same guest names. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/log.h"
#include "wasi/wasi_int.h"

#define STATE_MAGIC 0x4953574bu /* "KWSI" */
#define STATE_VERSION 1
/* 2^62 ns is 146 years of uptime: anything above is corrupt, and the bound
 * keeps the clock offset arithmetic far from overflow. */
#define MAX_MONOTONIC_NS (1ull << 62)

enum { REC_STDIO = 1, REC_PREOPEN = 2, REC_FILE = 3, REC_BAD = 4 };

kafu_err kafu_wasi_save(const kafu_wasi *w, kafu_buf *out, kafu_error *err) {
  kafu_buf_u32le(out, STATE_MAGIC);
  kafu_buf_u16le(out, STATE_VERSION);
  kafu_buf_u64le(out, kafu_wasi_monotonic_peek(w));
  kafu_buf_u32le(out, (uint32_t)w->n_preopens);
  for (size_t i = 0; i < w->n_preopens; i++)
    kafu_buf_str(out, w->preopens[i].guest_path);
  uint32_t n_live = 0;
  for (uint32_t fd = 0; fd < w->n_fds; fd++)
    n_live += w->fds[fd].kind != WASI_FD_FREE;
  kafu_buf_u32le(out, n_live);
  for (uint32_t fd = 0; fd < w->n_fds; fd++) {
    const wasi_fd *f = &w->fds[fd];
    if (f->kind == WASI_FD_FREE) continue;
    kafu_buf_u32le(out, fd);
    switch (f->kind) {
    case WASI_FD_STDIO:
      kafu_buf_u8(out, REC_STDIO);
      kafu_buf_u8(out, f->stdio);
      break;
    case WASI_FD_PREOPEN:
      kafu_buf_u8(out, REC_PREOPEN);
      kafu_buf_u32le(out, f->preopen);
      break;
    case WASI_FD_FILE: {
      off_t pos = f->filetype == WASI_FILETYPE_REGULAR_FILE ? lseek(f->host_fd, 0, SEEK_CUR) : 0;
      kafu_buf_u8(out, REC_FILE);
      kafu_buf_u32le(out, f->preopen);
      kafu_buf_str(out, f->rel_path ? f->rel_path : "");
      kafu_buf_u8(out, f->filetype);
      kafu_buf_u8(out, (uint8_t)((f->can_read ? 1 : 0) | (f->can_write ? 2 : 0)));
      kafu_buf_u16le(out, f->fdflags);
      kafu_buf_u16le(out, f->oflags);
      kafu_buf_u64le(out, f->rights_base);
      kafu_buf_u64le(out, f->rights_inheriting);
      kafu_buf_u64le(out, pos > 0 ? (uint64_t)pos : 0);
      break;
    }
    default: kafu_buf_u8(out, REC_BAD); break;
    }
  }
  if (out->failed) return kafu_fail(err, KAFU_E_NOMEM, "wasi: out of memory saving state");
  return KAFU_OK;
}

/* ---- restore ---- */

typedef struct saved_fd {
  uint32_t fd;
  uint8_t kind, stdio, filetype, access;
  uint32_t preopen;
  char *rel_path;
  uint16_t fdflags, oflags;
  uint64_t rights_base, rights_inheriting, offset;
} saved_fd;

typedef struct saved_state {
  uint64_t monotonic;
  uint32_t n_preopens, n_fds;
  uint32_t fds_cap; /* entries allocated in fds (a failed decode may stop midway) */
  char **preopens;
  saved_fd *fds;
} saved_state;

static void saved_free(saved_state *s) {
  for (uint32_t i = 0; s->preopens && i < s->n_preopens; i++)
    free(s->preopens[i]);
  for (uint32_t i = 0; s->fds && i < s->fds_cap; i++)
    free(s->fds[i].rel_path);
  free(s->preopens);
  free(s->fds);
}

/* Reads a u32-length string without NULs, at most WASI_MAX_PATH bytes. */
static char *read_str(kafu_rd *r) {
  uint32_t len = kafu_rd_u32le(r);
  if (r->bad || len > WASI_MAX_PATH) {
    r->bad = true;
    return NULL;
  }
  const uint8_t *p = kafu_rd_bytes(r, len);
  if (!p || memchr(p, '\0', len)) {
    r->bad = true;
    return NULL;
  }
  char *s = strndup((const char *)p, len);
  if (!s) r->bad = true;
  return s;
}

static kafu_err decode(const uint8_t *data, size_t len, saved_state *s, kafu_error *err) {
  kafu_rd r = kafu_rd_init(data, len);
  uint8_t *seen = NULL;
  const char *why = "truncated";
  if (kafu_rd_u32le(&r) != STATE_MAGIC || r.bad) {
    why = "bad magic";
    goto bad;
  }
  if (kafu_rd_u16le(&r) != STATE_VERSION || r.bad) {
    why = "unsupported version";
    goto bad;
  }
  s->monotonic = kafu_rd_u64le(&r);
  if (s->monotonic > MAX_MONOTONIC_NS) {
    why = "monotonic clock out of range";
    goto bad;
  }
  uint32_t n_pre = kafu_rd_u32le(&r);
  if (r.bad) goto bad;
  if (n_pre > WASI_MAX_FDS || n_pre > kafu_rd_left(&r) / 4) {
    why = "preopen count out of range";
    goto bad;
  }
  s->preopens = calloc(n_pre ? n_pre : 1, sizeof *s->preopens);
  if (!s->preopens) return kafu_fail(err, KAFU_E_NOMEM, "wasi: out of memory restoring state");
  for (; s->n_preopens < n_pre; s->n_preopens++) {
    s->preopens[s->n_preopens] = read_str(&r);
    if (r.bad) {
      why = "bad preopen name";
      goto bad;
    }
  }
  uint32_t n_fds = kafu_rd_u32le(&r);
  if (r.bad) goto bad;
  if (n_fds > WASI_MAX_FDS || n_fds > kafu_rd_left(&r) / 5) {
    why = "fd count out of range";
    goto bad;
  }
  s->fds = calloc(n_fds ? n_fds : 1, sizeof *s->fds);
  if (s->fds) s->fds_cap = n_fds;
  seen = calloc(WASI_MAX_FDS, 1);
  if (!s->fds || !seen) {
    free(seen);
    return kafu_fail(err, KAFU_E_NOMEM, "wasi: out of memory restoring state");
  }
  for (; s->n_fds < n_fds; s->n_fds++) {
    saved_fd *f = &s->fds[s->n_fds];
    f->fd = kafu_rd_u32le(&r);
    f->kind = kafu_rd_u8(&r);
    if (r.bad) goto bad;
    if (f->fd >= WASI_MAX_FDS || seen[f->fd]) {
      why = "fd number out of range or repeated";
      goto bad;
    }
    seen[f->fd] = 1;
    switch (f->kind) {
    case REC_STDIO:
      f->stdio = kafu_rd_u8(&r);
      if (!r.bad && f->stdio > 2) {
        why = "bad stdio index";
        goto bad;
      }
      break;
    case REC_PREOPEN:
    case REC_FILE:
      f->preopen = kafu_rd_u32le(&r);
      if (!r.bad && f->preopen >= n_pre) {
        why = "fd refers to an unknown preopen";
        goto bad;
      }
      if (f->kind == REC_PREOPEN) break;
      f->rel_path = read_str(&r);
      f->filetype = kafu_rd_u8(&r);
      f->access = kafu_rd_u8(&r);
      f->fdflags = kafu_rd_u16le(&r);
      f->oflags = kafu_rd_u16le(&r);
      f->rights_base = kafu_rd_u64le(&r);
      f->rights_inheriting = kafu_rd_u64le(&r);
      f->offset = kafu_rd_u64le(&r);
      if (r.bad) goto bad;
      if (f->filetype > WASI_FILETYPE_SYMBOLIC_LINK || f->access > 3 || f->fdflags > 0x1f ||
          f->oflags & ~(uint16_t)WASI_OFLAG_DIRECTORY || f->offset > INT64_MAX) {
        why = "bad file record";
        goto bad;
      }
      break;
    case REC_BAD: break;
    default: why = "unknown fd record kind"; goto bad;
    }
    if (r.bad) goto bad;
  }
  if (kafu_rd_left(&r) != 0) {
    why = "trailing bytes";
    goto bad;
  }
  free(seen);
  return KAFU_OK;
bad:
  free(seen);
  return kafu_fail(err, KAFU_E_INPUT, "wasi state: %s at offset %zu", why, kafu_rd_offset(&r));
}

static int find_preopen(const kafu_wasi *w, const char *guest_path) {
  for (size_t i = 0; i < w->n_preopens; i++)
    if (!strcmp(w->preopens[i].guest_path, guest_path)) return (int)i;
  return -1;
}

static void lose_fd(wasi_fd *f, uint32_t fd, const char *guest_dir, const char *rel,
                    const char *why) {
  memset(f, 0, sizeof *f);
  f->host_fd = -1;
  f->kind = WASI_FD_BAD;
  kafu_log(KAFU_LOG_WARN, "wasi", "fd %u (%s/%s) could not be restored: %s; it is now closed", fd,
           guest_dir, rel, why);
}

/* Rebuilds one saved fd into *f (which starts zeroed) using w's preopens and
 * the stdio entries of the old table. */
static void restore_one(kafu_wasi *w, wasi_fd *old, uint32_t n_old, const saved_state *s,
                        const saved_fd *sf, wasi_fd *f) {
  memset(f, 0, sizeof *f);
  f->host_fd = -1;
  if (sf->kind == REC_BAD) {
    f->kind = WASI_FD_BAD;
    return;
  }
  if (sf->kind == REC_STDIO) {
    for (uint32_t i = 0; i < n_old && i < 3; i++) {
      if (old[i].kind == WASI_FD_STDIO && old[i].stdio == sf->stdio) {
        *f = old[i];
        memset(&old[i], 0, sizeof old[i]);
        old[i].host_fd = -1;
        return;
      }
    }
    f->kind = WASI_FD_BAD; /* stdio already handed to another saved fd */
    return;
  }
  const char *guest_dir = s->preopens[sf->preopen];
  int pre = find_preopen(w, guest_dir);
  const char *rel = sf->kind == REC_FILE ? sf->rel_path : "";
  if (pre < 0) {
    lose_fd(f, sf->fd, guest_dir, rel, "no preopen of that name on this node");
    return;
  }
  if (sf->kind == REC_PREOPEN) {
    f->host_fd = fcntl(w->preopens[pre].root_fd, F_DUPFD_CLOEXEC, 3);
    if (f->host_fd < 0 || !(f->rel_path = strdup(""))) {
      if (f->host_fd >= 0) close(f->host_fd);
      lose_fd(f, sf->fd, guest_dir, rel, strerror(errno));
      return;
    }
    f->kind = WASI_FD_PREOPEN;
    f->owns_host_fd = true;
    f->filetype = WASI_FILETYPE_DIRECTORY;
    f->can_read = true;
    f->rights_base = f->rights_inheriting = WASI_RIGHTS_ALL;
    f->oflags = WASI_OFLAG_DIRECTORY;
    f->preopen = (uint32_t)pre;
    return;
  }
  wasi_resolved r;
  const char *path = rel[0] ? rel : ".";
  /* Following is safe (the walk is sandboxed) and lets a node provide the
   * file through a symlink inside its preopen. */
  uint16_t e =
      kafu_wasi_resolve_in(w, (uint32_t)pre, "", (const uint8_t *)path, strlen(path), true, &r);
  if (!e)
    e = kafu_wasi_open_resolved(w, &r, sf->oflags, sf->access & 1, sf->access & 2, sf->fdflags, f);
  kafu_wasi_resolved_free(&r);
  if (!e && f->filetype != sf->filetype) e = WASI_EBADF;
  if (!e && sf->filetype == WASI_FILETYPE_REGULAR_FILE &&
      lseek(f->host_fd, (off_t)sf->offset, SEEK_SET) < 0)
    e = kafu_wasi_errno(errno);
  if (e) {
    kafu_wasi_fd_release(f);
    char why[64];
    if (e == WASI_EBADF)
      snprintf(why, sizeof why, "file type changed");
    else
      snprintf(why, sizeof why, "wasi errno %u", e);
    lose_fd(f, sf->fd, guest_dir, rel, why);
    return;
  }
  f->rights_base = sf->rights_base;
  f->rights_inheriting = sf->rights_inheriting;
}

kafu_err kafu_wasi_restore(kafu_wasi *w, const uint8_t *data, size_t len, kafu_error *err) {
  saved_state s;
  memset(&s, 0, sizeof s);
  kafu_err rc = decode(data, len, &s, err);
  if (rc) goto out;

  uint32_t n_new = 3;
  for (uint32_t i = 0; i < s.n_fds; i++)
    if (s.fds[i].fd + 1 > n_new) n_new = s.fds[i].fd + 1;
  wasi_fd *fresh = calloc(n_new, sizeof *fresh);
  if (!fresh) {
    rc = kafu_fail(err, KAFU_E_NOMEM, "wasi: out of memory restoring state");
    goto out;
  }
  for (uint32_t i = 0; i < n_new; i++)
    fresh[i].host_fd = -1;
  for (uint32_t i = 0; i < s.n_fds; i++)
    restore_one(w, w->fds, w->n_fds, &s, &s.fds[i], &fresh[s.fds[i].fd]);
  for (uint32_t i = 0; i < w->n_fds; i++)
    kafu_wasi_fd_release(&w->fds[i]);
  free(w->fds);
  w->fds = fresh;
  w->n_fds = n_new;

  /* guest monotonic = host monotonic + offset continues from the saved value. */
  w->mono_offset = (int64_t)(s.monotonic - kafu_wasi_host_monotonic());
  w->mono_last = s.monotonic;
out:
  saved_free(&s);
  return rc;
}
