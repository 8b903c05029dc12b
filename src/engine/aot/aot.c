/* The AOT engine: a module is translated by wasm2c, compiled by the system C
 * compiler into a cached shared object, and dlopen'ed (see docs/aot.md). This
 * file holds the ops table and module loading; instance.c the rest. */
#define _GNU_SOURCE /* dladdr, pthread_getattr_np */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "engine/aot/aot_int.h"
#include "engine/aot/aot_module.h"
#include "util/log.h"

/* Opens so_path and checks the glue contract. KAFU_E_INTERNAL if it does not
 * load or does not carry the expected glue version. */
static kafu_err open_object(kafu_engine_module *mod, const char *so_path, kafu_error *err) {
  void *dl = dlopen(so_path, RTLD_NOW | RTLD_LOCAL);
  if (!dl) {
    const char *why = dlerror();
    return kafu_fail(err, KAFU_E_INTERNAL, "aot: cannot load %s: %s", so_path, why ? why : "?");
  }
  const kafu_aot_glue *glue = dlsym(dl, KAFU_AOT_GLUE_SYMBOL);
  if (!glue || glue->version != KAFU_AOT_GLUE_VERSION) {
    dlclose(dl);
    return kafu_fail(err, KAFU_E_INTERNAL, "aot: %s: missing or outdated glue", so_path);
  }
  Dl_info info;
  mod->dl_base = dladdr(glue, &info) ? (uintptr_t)info.dli_fbase : 0;
  kafu_aot_code_range(mod->dl_base, &mod->code_start, &mod->code_end);
  mod->dl = dl;
  mod->glue = glue;
  return KAFU_OK;
}

static void aot_module_free(kafu_engine_module *mod) {
  if (!mod) return;
  /* dlopen counts references: loading the same object twice shares one
   * mapping, which goes away with the last module. Instances must be freed
   * before their module. */
  if (mod->dl) dlclose(mod->dl);
  kafu_aot_symtab_free(mod->symtab);
  kafu_wasm_module_free(mod->wasm);
  free(mod->bytes);
  free(mod->label);
  free(mod->so_path);
  free(mod);
}

static kafu_err aot_load(const uint8_t *bytes, size_t len, const char *label,
                         kafu_engine_module **out, kafu_error *err) {
  kafu_err rc = KAFU_OK;
  if (!label) label = "module";
  kafu_engine_module *mod = calloc(1, sizeof *mod);
  if (!mod) return kafu_fail(err, KAFU_E_NOMEM, "out of memory");
  mod->bytes = malloc(len ? len : 1);
  mod->label = strdup(label);
  if (!mod->bytes || !mod->label) {
    rc = kafu_fail(err, KAFU_E_NOMEM, "out of memory");
    goto out;
  }
  memcpy(mod->bytes, bytes, len);
  mod->len = len;
  rc = kafu_wasm_decode(mod->bytes, len, label, &mod->wasm, err);
  if (rc) goto out;

  int compiled = 0;
  rc = kafu_aot_cache_get(mod->wasm, mod->bytes, len, label, &mod->so_path, &compiled, err);
  if (rc) goto out;
  rc = open_object(mod, mod->so_path, err);
  if (rc && !compiled) {
    /* Verified but unloadable (e.g. built by an older Kafu): rebuild once. */
    kafu_log(KAFU_LOG_WARN, "aot", "%s; rebuilding", err ? err->msg : "cache entry unusable");
    kafu_aot_cache_invalidate(mod->so_path);
    free(mod->so_path);
    mod->so_path = NULL;
    rc = kafu_aot_cache_get(mod->wasm, mod->bytes, len, label, &mod->so_path, &compiled, err);
    if (!rc) rc = open_object(mod, mod->so_path, err);
  }
  if (rc) goto out;
  *out = mod;
  mod = NULL;
out:
  aot_module_free(mod);
  return rc;
}

const kafu_engine_ops kafu_engine_aot_ops = {
    .name = "aot",
    .load = aot_load,
    .module_free = aot_module_free,
    .instantiate = kafu_aot_instantiate,
    .instance_free = kafu_aot_instance_free,
    .call = kafu_aot_call,
    .has_export = kafu_aot_has_export,
    .memory = kafu_aot_memory,
    .memory_grow = kafu_aot_memory_grow,
};
