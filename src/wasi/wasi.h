/* WASI preview1 host, shared by every engine. It provides the
 * `wasi_snapshot_preview1` imports, sandboxes paths inside preopens, and can
 * serialize the state a migration needs (open files by guest path + offset,
 * the monotonic clock) and restore it on another node. */
#ifndef KAFU_WASI_H
#define KAFU_WASI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "util/buf.h"
#include "util/err.h"

typedef struct kafu_wasi kafu_wasi;

typedef struct kafu_wasi_preopen {
  const char *host_path;  /* directory on this node */
  const char *guest_path; /* name the program sees, e.g. "/data" or "." */
} kafu_wasi_preopen;

/* Receives the program's stdout (fd 1) and stderr (fd 2) when set; otherwise
 * they go to this process's fds 1 and 2. Returns 0 on success. */
typedef int (*kafu_wasi_output_fn)(void *ud, int fd, const uint8_t *data, size_t len);

typedef struct kafu_wasi_config {
  int argc;
  const char *const *argv; /* argv[0] is the program name */
  int envc;
  const char *const *envp; /* "KEY=VALUE" */
  size_t n_preopens;
  const kafu_wasi_preopen *preopens;
  kafu_wasi_output_fn output; /* optional */
  void *output_ud;
  int stdin_fd; /* host fd for fd 0; -1 = empty stdin */
} kafu_wasi_config;

/* Creates a WASI context; cfg and everything it points to is copied.
 * Errors: KAFU_E_INPUT if a preopen directory does not exist. */
kafu_err kafu_wasi_new(const kafu_wasi_config *cfg, kafu_wasi **out, kafu_error *err);
void kafu_wasi_free(kafu_wasi *w);

/* Fills `out` with the wasi_snapshot_preview1 host imports bound to w (env = w)
 * and returns how many there are; at most `cap` are written. The array must
 * outlive the instance that uses it. Guest paths never leave their preopen:
 * escapes answer ENOTCAPABLE (see docs/wasi.md). proc_exit aborts the call
 * (non-zero return); read the code with kafu_wasi_exited. */
size_t kafu_wasi_imports(kafu_wasi *w, kafu_host_import *out, size_t cap);

/* After a call aborted by proc_exit: true and *code set. */
bool kafu_wasi_exited(const kafu_wasi *w, int *code);

/* Serializes the migratable state (open fds with guest path/offset/flags,
 * preopen names, clock) into out. */
kafu_err kafu_wasi_save(const kafu_wasi *w, kafu_buf *out, kafu_error *err);

/* Restores state saved on another node into a fresh context: files are
 * reopened by guest path in this context's preopen of the same guest name;
 * a file that cannot be reopened gets EBADF and one warning is logged.
 * The monotonic clock continues from the saved value. Errors: KAFU_E_INPUT
 * for malformed bytes (treated as hostile). */
kafu_err kafu_wasi_restore(kafu_wasi *w, const uint8_t *data, size_t len, kafu_error *err);

#endif
