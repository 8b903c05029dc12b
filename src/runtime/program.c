/* kafu_program: a module loaded once per process (bytes, hash, kafu section,
 * engine module) and shared by every job and fresh instance created from it. */
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime.h"
#include "util/hash.h"

kafu_err kafu_program_load(const uint8_t *wasm, size_t len, const char *label,
                           const kafu_engine_ops *engine, kafu_program **out, kafu_error *err) {
  kafu_err rc = KAFU_OK;
  kafu_program *p = calloc(1, sizeof *p);
  if (!p) return kafu_fail(err, KAFU_E_NOMEM, "out of memory");
  p->wasm = malloc(len ? len : 1);
  p->label = strdup(label ? label : "module");
  if (!p->wasm || !p->label) {
    rc = kafu_fail(err, KAFU_E_NOMEM, "out of memory");
    goto out;
  }
  memcpy(p->wasm, wasm, len);
  p->wasm_len = len;
  p->engine = engine;
  kafu_sha256(wasm, len, p->sha256);

  bool found = false;
  rc = kafu_meta_read(wasm, len, &p->meta, &found, err);
  if (rc) {
    kafu_error_prefix(err, p->label);
    goto out;
  }
  p->migratable = found && (p->meta.flags & KAFU_META_FLAG_SNAPIFIED);
  rc = engine->load(p->wasm, p->wasm_len, p->label, &p->module, err);
  if (rc) goto out;
  *out = p;
  p = NULL;
out:
  kafu_program_free(p);
  return rc;
}

void kafu_program_free(kafu_program *p) {
  if (!p) return;
  if (p->module) p->engine->module_free(p->module);
  kafu_meta_free(&p->meta);
  free(p->wasm);
  free(p->label);
  free(p);
}
