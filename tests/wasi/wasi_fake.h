/* Test scaffolding for the WASI unit tests: a fake engine instance whose
 * memory is a plain buffer, a context builder, temp directories, and a call
 * helper that goes through the import table exactly like an engine would. */
#ifndef KAFU_TEST_WASI_FAKE_H
#define KAFU_TEST_WASI_FAKE_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wasi/wasi.h"

#define FAKE_MEM_SIZE 65536u

typedef struct fake_inst {
  kafu_engine_instance hdr; /* must be first, as in every engine */
  uint8_t *mem;
  size_t size;
} fake_inst;

static inline uint8_t *fake_memory(kafu_engine_instance *inst, size_t *size) {
  fake_inst *f = (fake_inst *)inst;
  *size = f->size;
  return f->mem;
}

static const kafu_engine_ops fake_ops = {.name = "fake", .memory = fake_memory};

typedef struct wasi_t {
  kafu_wasi *w;
  kafu_host_import imports[80];
  size_t n_imports;
  fake_inst inst;
  uint8_t mem[FAKE_MEM_SIZE];
  char out[8192]; /* what fd 1 and 2 wrote through the hook */
  size_t out_len;
  int out_fds[2]; /* bytes seen per stdio fd (1, 2) */
} wasi_t;

static inline int fake_output(void *ud, int fd, const uint8_t *data, size_t len) {
  wasi_t *t = ud;
  if (fd == 1 || fd == 2) t->out_fds[fd - 1] += (int)len;
  if (t->out_len + len > sizeof t->out) return -1;
  memcpy(t->out + t->out_len, data, len);
  t->out_len += len;
  return 0;
}

/* Creates a context (cfg.output is pointed at the capture unless no_hook). */
static inline wasi_t *wasi_t_new(kafu_wasi_config cfg, int no_hook) {
  wasi_t *t = calloc(1, sizeof *t);
  if (!t) abort();
  t->inst.hdr.ops = &fake_ops;
  t->inst.mem = t->mem;
  t->inst.size = FAKE_MEM_SIZE;
  if (!no_hook) {
    cfg.output = fake_output;
    cfg.output_ud = t;
  }
  kafu_error err = {0};
  if (kafu_wasi_new(&cfg, &t->w, &err) != KAFU_OK) {
    fprintf(stderr, "kafu_wasi_new: %s\n", err.msg);
    free(t);
    return NULL;
  }
  t->n_imports = kafu_wasi_imports(t->w, t->imports, 80);
  return t;
}

static inline void wasi_t_free(wasi_t *t) {
  if (!t) return;
  kafu_wasi_free(t->w);
  free(t);
}

static inline const kafu_host_import *wasi_t_find(wasi_t *t, const char *name) {
  for (size_t i = 0; i < t->n_imports; i++)
    if (!strcmp(t->imports[i].name, name)) return &t->imports[i];
  return NULL;
}

/* Calls import `name` with n_args slot values; returns results[0] (the
 * errno), or 0xdead if the function aborted the call (proc_exit), or 0xbad
 * if the import is missing or the arity is wrong. */
static inline uint32_t wcall(wasi_t *t, const char *name, int n_args, ...) {
  const kafu_host_import *imp = wasi_t_find(t, name);
  if (!imp || imp->n_params != n_args) return 0xbad;
  kafu_slot args[KAFU_HOST_MAX_PARAMS] = {0}, results[KAFU_HOST_MAX_RESULTS] = {0};
  va_list ap;
  va_start(ap, n_args);
  for (int i = 0; i < n_args; i++) {
    uint64_t v = va_arg(ap, uint64_t);
    args[i] = imp->params[i] == KAFU_I32 ? (uint32_t)v : v;
  }
  va_end(ap);
  if (imp->fn(imp->env, &t->inst.hdr, args, results) != 0) return 0xdead;
  return (uint32_t)results[0];
}
#define W(t, name, ...) wcall((t), (name), WARGC(__VA_ARGS__), WARGS(__VA_ARGS__))
/* Up to 9 args, each widened to uint64_t. */
#define WARGC(...) WARGC_(__VA_ARGS__, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define WARGC_(a, b, c, d, e, f, g, h, i, n, ...) n
#define WA(x) ((uint64_t)(x))
#define WARGS(...) WMAP(__VA_ARGS__, 0, 0, 0, 0, 0, 0, 0, 0, 0)
#define WMAP(a, b, c, d, e, f, g, h, i, ...)                                                       \
  WA(a), WA(b), WA(c), WA(d), WA(e), WA(f), WA(g), WA(h), WA(i)

static inline uint32_t rd32(wasi_t *t, uint32_t off) {
  uint32_t v;
  memcpy(&v, t->mem + off, 4);
  return v;
}
static inline uint64_t rd64(wasi_t *t, uint32_t off) {
  uint64_t v;
  memcpy(&v, t->mem + off, 8);
  return v;
}
static inline void wr32(wasi_t *t, uint32_t off, uint32_t v) {
  memcpy(t->mem + off, &v, 4);
}

/* Puts s (no NUL) at guest offset off; returns its length. */
static inline uint32_t put_str(wasi_t *t, uint32_t off, const char *s) {
  size_t n = strlen(s);
  memcpy(t->mem + off, s, n);
  return (uint32_t)n;
}

/* Guest scratch layout used by the helpers below. */
#define G_PATH 1024u /* path strings */
#define G_PATH2 3072u
#define G_IOV 5120u /* iovec array */
#define G_RES 5200u /* result u32/u64 slots */
#define G_BUF 8192u /* data buffers */

/* path_open relative to dirfd; returns errno, fd in *fd. */
static inline uint32_t wopen(wasi_t *t, uint32_t dirfd, const char *path, uint32_t follow,
                             uint32_t oflags, uint32_t fdflags, uint32_t *fd) {
  uint32_t len = put_str(t, G_PATH, path);
  wr32(t, G_RES, 0xffffffffu);
  uint32_t e = W(t, "path_open", dirfd, follow, G_PATH, len, oflags, (uint64_t)0x3fffffff,
                 (uint64_t)0x3fffffff, fdflags, G_RES);
  if (fd) *fd = rd32(t, G_RES);
  return e;
}

/* fd_write of one buffer; returns errno. */
static inline uint32_t wwrite(wasi_t *t, uint32_t fd, const char *data, uint32_t *n) {
  uint32_t len = put_str(t, G_BUF, data);
  wr32(t, G_IOV, G_BUF);
  wr32(t, G_IOV + 4, len);
  uint32_t e = W(t, "fd_write", fd, G_IOV, 1, G_RES);
  if (n) *n = rd32(t, G_RES);
  return e;
}

/* fd_read of up to cap bytes into out (NUL-terminated); returns errno. */
static inline uint32_t wread(wasi_t *t, uint32_t fd, uint32_t cap, char *out) {
  wr32(t, G_IOV, G_BUF);
  wr32(t, G_IOV + 4, cap);
  uint32_t e = W(t, "fd_read", fd, G_IOV, 1, G_RES);
  uint32_t n = e ? 0 : rd32(t, G_RES);
  memcpy(out, t->mem + G_BUF, n);
  out[n] = '\0';
  return e;
}

/* ---- temp directories ---- */
static inline int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}
static inline void rm_rf(const char *path) {
  nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static inline char *make_tmpdir(void) {
  char *p = strdup("/tmp/kafu-wasi-test-XXXXXX");
  if (!p || !mkdtemp(p)) abort();
  return p;
}

static inline void write_file(const char *dir, const char *name, const char *content) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  if (!f) abort();
  fputs(content, f);
  fclose(f);
}

static inline void make_dir(const char *dir, const char *name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if (mkdir(path, 0755) != 0) abort();
}

static inline void make_link(const char *dir, const char *name, const char *target) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if (symlink(target, path) != 0) abort();
}

static inline int path_exists(const char *dir, const char *name) {
  char path[4096];
  struct stat st;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return lstat(path, &st) == 0;
}

#endif
