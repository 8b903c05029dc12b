/* libFuzzer target for kafu_wasi_restore: hostile state bytes must only ever
 * be accepted or rejected as bad input, and an accepted state must leave a
 * context that saves again. One context (with one preopen "/data" in a temp
 * directory holding a file "f") is reused across inputs. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "wasi/wasi.h"

static kafu_wasi *g_wasi;

static kafu_wasi *context(void) {
  if (g_wasi) return g_wasi;
  static char dir[] = "/tmp/kafu-fuzz-wasi-XXXXXX";
  if (!mkdtemp(dir)) abort();
  char path[64];
  snprintf(path, sizeof path, "%s/f", dir);
  FILE *f = fopen(path, "w");
  if (!f) abort();
  fputs("fuzz", f);
  fclose(f);
  kafu_wasi_preopen pre = {dir, "/data"};
  kafu_wasi_config cfg = {.n_preopens = 1, .preopens = &pre, .stdin_fd = -1};
  kafu_error err;
  if (kafu_wasi_new(&cfg, &g_wasi, &err) != KAFU_OK) abort();
  kafu_log_set_level(KAFU_LOG_ERROR); /* lost-fd warnings are expected */
  return g_wasi;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  kafu_wasi *w = context();
  kafu_error err;
  kafu_err rc = kafu_wasi_restore(w, data, size, &err);
  if (rc != KAFU_OK && rc != KAFU_E_INPUT && rc != KAFU_E_NOMEM) abort();
  kafu_buf out = {0};
  if (kafu_wasi_save(w, &out, &err) != KAFU_OK) abort();
  /* what we save, we must be able to restore */
  if (kafu_wasi_restore(w, out.data, out.len, &err) != KAFU_OK) abort();
  kafu_buf_free(&out);
  return 0;
}
