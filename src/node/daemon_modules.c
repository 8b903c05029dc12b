/* The node's module cache: Wasm binaries by SHA-256, in memory and (when the
 * node has a state dir) on disk, and the program loaded for the node's
 * engine. A module arrives from a peer only when its hash is missing here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/daemon.h"
#include "util/file.h"
#include "util/log.h"

static kafu_node_module *find_locked(kafu_node_daemon *d, const uint8_t sha[KAFU_SHA256_LEN]) {
  for (kafu_node_module *m = d->modules; m; m = m->next)
    if (!memcmp(m->sha256, sha, KAFU_SHA256_LEN)) return m;
  return NULL;
}

static kafu_node_module *insert(kafu_node_daemon *d, const uint8_t sha[KAFU_SHA256_LEN],
                                uint8_t *wasm, size_t len) {
  kafu_node_module *m = calloc(1, sizeof *m);
  if (!m) return NULL;
  memcpy(m->sha256, sha, KAFU_SHA256_LEN);
  m->wasm = wasm;
  m->wasm_len = len;
  pthread_mutex_init(&m->load_lock, NULL);
  m->next = d->modules;
  d->modules = m;
  return m;
}

static void disk_path(kafu_node_daemon *d, const uint8_t sha[KAFU_SHA256_LEN], char *out,
                      size_t cap) {
  char hex[65];
  kafu_sha256_hex(sha, hex);
  snprintf(out, cap, "%s/modules/%s.wasm", d->self->state_dir, hex);
}

kafu_node_module *kafu_node_module_find(kafu_node_daemon *d, const uint8_t sha[KAFU_SHA256_LEN]) {
  pthread_mutex_lock(&d->lock);
  kafu_node_module *m = find_locked(d, sha);
  pthread_mutex_unlock(&d->lock);
  if (m || !d->self->state_dir) return m;
  /* Not in memory: maybe a previous run of this node left it on disk. */
  char path[4096];
  disk_path(d, sha, path, sizeof path);
  uint8_t *wasm = NULL;
  size_t len = 0;
  kafu_error ignored;
  if (kafu_file_read(path, &wasm, &len, &ignored)) return NULL;
  uint8_t got[KAFU_SHA256_LEN];
  kafu_sha256(wasm, len, got);
  if (memcmp(got, sha, KAFU_SHA256_LEN)) {
    kafu_log(KAFU_LOG_WARN, d->self->name, "ignoring corrupt cached module %s", path);
    free(wasm);
    return NULL;
  }
  kafu_node_module *added = NULL;
  (void)kafu_node_module_add(d, sha, wasm, len, &added, &ignored);
  free(wasm);
  return added;
}

kafu_err kafu_node_module_add(kafu_node_daemon *d, const uint8_t sha[KAFU_SHA256_LEN],
                              const uint8_t *wasm, size_t len, kafu_node_module **out,
                              kafu_error *err) {
  uint8_t got[KAFU_SHA256_LEN];
  kafu_sha256(wasm, len, got);
  if (memcmp(got, sha, KAFU_SHA256_LEN)) {
    char want_hex[65], got_hex[65];
    kafu_sha256_hex(sha, want_hex);
    kafu_sha256_hex(got, got_hex);
    return kafu_fail(err, KAFU_E_INPUT, "module bytes hash to %.16s..., not %.16s...", got_hex,
                     want_hex);
  }
  uint8_t *copy = malloc(len ? len : 1);
  if (!copy) return kafu_fail(err, KAFU_E_NOMEM, "out of memory for a %zu-byte module", len);
  memcpy(copy, wasm, len);
  pthread_mutex_lock(&d->lock);
  kafu_node_module *m = find_locked(d, sha);
  bool fresh = false;
  if (!m) {
    m = insert(d, sha, copy, len);
    fresh = m != NULL;
  }
  pthread_mutex_unlock(&d->lock);
  if (!fresh) free(copy);
  if (!m) return kafu_fail(err, KAFU_E_NOMEM, "out of memory");
  if (fresh && d->self->state_dir) {
    char path[4096], dir[4096];
    snprintf(dir, sizeof dir, "%s/modules", d->self->state_dir);
    disk_path(d, sha, path, sizeof path);
    kafu_error ignored;
    if (kafu_mkdirs(dir, &ignored) || kafu_file_write(path, wasm, len, &ignored))
      kafu_log(KAFU_LOG_WARN, d->self->name, "cannot cache module in %s: %s", dir, ignored.msg);
  }
  *out = m;
  return KAFU_OK;
}

kafu_err kafu_node_module_program(kafu_node_daemon *d, kafu_node_module *m,
                                  const kafu_program **out, kafu_error *err) {
  kafu_err rc = KAFU_OK;
  pthread_mutex_lock(&m->load_lock);
  if (!m->prog) {
    char label[80], hex[65];
    kafu_sha256_hex(m->sha256, hex);
    snprintf(label, sizeof label, "module %.16s", hex);
    double t0 = kafu_node_now_ms();
    rc = kafu_program_load(m->wasm, m->wasm_len, label, d->engine, &m->prog, err);
    if (!rc)
      kafu_log(KAFU_LOG_INFO, d->self->name, "loaded %s for engine %s in %.0f ms", label,
               d->engine->name, kafu_node_now_ms() - t0);
  }
  *out = m->prog;
  pthread_mutex_unlock(&m->load_lock);
  return rc;
}
