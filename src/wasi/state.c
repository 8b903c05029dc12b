/* The WASI context: creation from a kafu_wasi_config (args, env, preopens,
 * stdio), the fd table, and teardown. */
#define _GNU_SOURCE /* O_PATH, ppoll, renameat, strndup */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wasi/wasi_int.h"

static char **copy_strings(int n, const char *const *src) {
  char **out = calloc((size_t)n + 1, sizeof *out);
  if (!out) return NULL;
  for (int i = 0; i < n; i++) {
    out[i] = strdup(src[i] ? src[i] : "");
    if (!out[i]) {
      for (int j = 0; j < i; j++)
        free(out[j]);
      free(out);
      return NULL;
    }
  }
  return out;
}

static void free_strings(char **v, int n) {
  if (!v) return;
  for (int i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

bool kafu_wasi_fd_reserve(kafu_wasi *w, uint32_t n) {
  if (n <= w->n_fds) return true;
  if (n > WASI_MAX_FDS) return false;
  uint32_t cap = w->n_fds ? w->n_fds : 8;
  while (cap < n)
    cap *= 2;
  if (cap > WASI_MAX_FDS) cap = WASI_MAX_FDS;
  wasi_fd *p = realloc(w->fds, cap * sizeof *p);
  if (!p) return false;
  memset(p + w->n_fds, 0, (cap - w->n_fds) * sizeof *p);
  for (uint32_t i = w->n_fds; i < cap; i++)
    p[i].host_fd = -1;
  w->fds = p;
  w->n_fds = cap;
  return true;
}

wasi_fd *kafu_wasi_fd_get(kafu_wasi *w, uint32_t fd) {
  if (fd >= w->n_fds) return NULL;
  wasi_fd *f = &w->fds[fd];
  if (f->kind == WASI_FD_FREE || f->kind == WASI_FD_BAD) return NULL;
  return f;
}

int64_t kafu_wasi_fd_alloc(kafu_wasi *w) {
  for (uint32_t i = 3; i < w->n_fds; i++)
    if (w->fds[i].kind == WASI_FD_FREE) return i;
  uint32_t next = w->n_fds < 3 ? 3 : w->n_fds;
  if (!kafu_wasi_fd_reserve(w, next + 1)) return -1;
  return next;
}

void kafu_wasi_dircache_clear(wasi_dirent_cache *c) {
  for (size_t i = 0; i < c->n; i++)
    free(c->entries[i].name);
  free(c->entries);
  c->entries = NULL;
  c->n = 0;
}

void kafu_wasi_fd_release(wasi_fd *f) {
  if (f->owns_host_fd && f->host_fd >= 0) close(f->host_fd);
  free(f->rel_path);
  kafu_wasi_dircache_clear(&f->dir);
  memset(f, 0, sizeof *f);
  f->host_fd = -1;
}

/* Sets up fd 0/1/2 per the config. */
static kafu_err init_stdio(kafu_wasi *w, const kafu_wasi_config *cfg, kafu_error *err) {
  for (int i = 0; i < 3; i++) {
    wasi_fd *f = &w->fds[i];
    f->kind = WASI_FD_STDIO;
    f->stdio = (uint8_t)i;
    f->filetype = WASI_FILETYPE_CHARACTER_DEVICE;
    f->rights_base = WASI_RIGHT_FD_READ | WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_FDSTAT_SET_FLAGS |
                     WASI_RIGHT_FD_SYNC | WASI_RIGHT_FD_DATASYNC | WASI_RIGHT_POLL_FD_READWRITE |
                     WASI_RIGHT_FD_FILESTAT_GET;
    f->host_fd = -1;
    if (i == 0) {
      f->can_read = true;
      if (cfg->stdin_fd >= 0) {
        f->host_fd = fcntl(cfg->stdin_fd, F_DUPFD_CLOEXEC, 3);
        if (f->host_fd < 0)
          return kafu_fail(err, KAFU_E_IO, "wasi: cannot use stdin fd %d: %s", cfg->stdin_fd,
                           strerror(errno));
        f->owns_host_fd = true;
      }
    } else {
      f->can_write = true;
      if (!cfg->output) f->host_fd = i; /* borrowed: this process's own stdout/stderr */
    }
    if (f->host_fd >= 0) {
      struct stat st;
      if (fstat(f->host_fd, &st) == 0) f->filetype = kafu_wasi_filetype(st.st_mode);
      if (f->filetype == WASI_FILETYPE_REGULAR_FILE)
        f->rights_base |= WASI_RIGHT_FD_SEEK | WASI_RIGHT_FD_TELL;
    }
  }
  return KAFU_OK;
}

static bool same_root(const kafu_wasi *w, uint32_t a, uint32_t b) {
  return a == b || (w->preopens[a].root_dev == w->preopens[b].root_dev &&
                    w->preopens[a].root_ino == w->preopens[b].root_ino);
}

void kafu_wasi_fds_renamed(kafu_wasi *w, uint32_t from_preopen, const char *from_rel,
                           uint32_t to_preopen, const char *to_rel) {
  size_t from_len = strlen(from_rel), to_len = strlen(to_rel);
  if (from_len == 0) return; /* a preopen root cannot be renamed */
  for (uint32_t i = 0; i < w->n_fds; i++) {
    wasi_fd *f = &w->fds[i];
    if (f->kind != WASI_FD_FILE || !f->rel_path || !same_root(w, f->preopen, from_preopen))
      continue;
    if (strncmp(f->rel_path, from_rel, from_len) != 0 ||
        (f->rel_path[from_len] != '\0' && f->rel_path[from_len] != '/'))
      continue;
    const char *rest = f->rel_path + from_len;
    char *moved = malloc(to_len + strlen(rest) + 1);
    if (!moved) continue; /* keep the old path: only migration suffers */
    memcpy(moved, to_rel, to_len);
    strcpy(moved + to_len, rest);
    free(f->rel_path);
    f->rel_path = moved;
    f->preopen = to_preopen;
  }
}

kafu_err kafu_wasi_new(const kafu_wasi_config *cfg, kafu_wasi **out, kafu_error *err) {
  kafu_err rc = KAFU_OK;
  *out = NULL;
  kafu_wasi *w = calloc(1, sizeof *w);
  if (!w) return kafu_fail(err, KAFU_E_NOMEM, "wasi: out of memory");
  if (cfg->argc < 0 || cfg->envc < 0 || (cfg->argc && !cfg->argv) || (cfg->envc && !cfg->envp)) {
    rc = kafu_fail(err, KAFU_E_INPUT, "wasi: bad argv/envp in config");
    goto out;
  }
  w->argc = cfg->argc;
  w->envc = cfg->envc;
  w->argv = copy_strings(cfg->argc, cfg->argv);
  w->envp = copy_strings(cfg->envc, cfg->envp);
  w->output = cfg->output;
  w->output_ud = cfg->output_ud;
  if (!w->argv || !w->envp) {
    rc = kafu_fail(err, KAFU_E_NOMEM, "wasi: out of memory");
    goto out;
  }
  if (cfg->n_preopens > WASI_MAX_FDS - 3) {
    rc = kafu_fail(err, KAFU_E_LIMIT, "wasi: too many preopens (%zu)", cfg->n_preopens);
    goto out;
  }
  if (!kafu_wasi_fd_reserve(w, 3 + (uint32_t)cfg->n_preopens)) {
    rc = kafu_fail(err, KAFU_E_NOMEM, "wasi: out of memory");
    goto out;
  }
  if ((rc = init_stdio(w, cfg, err))) goto out;

  w->preopens = calloc(cfg->n_preopens ? cfg->n_preopens : 1, sizeof *w->preopens);
  if (!w->preopens) {
    rc = kafu_fail(err, KAFU_E_NOMEM, "wasi: out of memory");
    goto out;
  }
  for (size_t i = 0; i < cfg->n_preopens; i++) {
    const kafu_wasi_preopen *p = &cfg->preopens[i];
    if (!p->host_path || !p->guest_path) {
      rc = kafu_fail(err, KAFU_E_INPUT, "wasi: preopen %zu lacks a path", i);
      goto out;
    }
    wasi_preopen *dst = &w->preopens[i];
    dst->root_fd = -1;
    dst->host_path = strdup(p->host_path);
    dst->guest_path = strdup(p->guest_path);
    w->n_preopens = i + 1;
    if (!dst->host_path || !dst->guest_path) {
      rc = kafu_fail(err, KAFU_E_NOMEM, "wasi: out of memory");
      goto out;
    }
    wasi_fd *f = &w->fds[3 + i];
    dst->root_fd = open(p->host_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dst->root_fd >= 0) f->host_fd = fcntl(dst->root_fd, F_DUPFD_CLOEXEC, 3);
    struct stat st;
    if (dst->root_fd < 0 || f->host_fd < 0 || fstat(dst->root_fd, &st) != 0) {
      rc = kafu_fail(err, KAFU_E_INPUT, "%s: cannot open preopen directory: %s", p->host_path,
                     strerror(errno));
      goto out;
    }
    dst->root_dev = (uint64_t)st.st_dev;
    dst->root_ino = (uint64_t)st.st_ino;
    f->kind = WASI_FD_PREOPEN;
    f->owns_host_fd = true;
    f->filetype = WASI_FILETYPE_DIRECTORY;
    f->can_read = true;
    f->rights_base = WASI_RIGHTS_ALL;
    f->rights_inheriting = WASI_RIGHTS_ALL;
    f->oflags = WASI_OFLAG_DIRECTORY;
    f->preopen = (uint32_t)i;
    f->rel_path = strdup("");
    if (!f->rel_path) {
      rc = kafu_fail(err, KAFU_E_NOMEM, "wasi: out of memory");
      goto out;
    }
  }
  w->mono_offset = 0;
  *out = w;
  w = NULL;
out:
  kafu_wasi_free(w);
  return rc;
}

void kafu_wasi_free(kafu_wasi *w) {
  if (!w) return;
  for (uint32_t i = 0; i < w->n_fds; i++)
    kafu_wasi_fd_release(&w->fds[i]);
  free(w->fds);
  for (size_t i = 0; i < w->n_preopens; i++) {
    free(w->preopens[i].host_path);
    free(w->preopens[i].guest_path);
    if (w->preopens[i].root_fd >= 0) close(w->preopens[i].root_fd);
  }
  free(w->preopens);
  free_strings(w->argv, w->argc);
  free_strings(w->envp, w->envc);
  free(w);
}

bool kafu_wasi_exited(const kafu_wasi *w, int *code) {
  if (!w->exited) return false;
  if (code) *code = w->exit_code;
  return true;
}
