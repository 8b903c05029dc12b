/* kafu cc's last steps on the linked module: check every annotation against
 * the functions that survived the link, replace the objects' "kafu_annot"
 * records by the `kafu` section (docs/abi.md), snapify, write the output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc/build.h"
#include "cc/wasm_sect.h"
#include "snapify/meta.h"
#include "snapify/snapify.h"
#include "util/file.h"

static const char *macro_name(kafu_site_kind kind) {
  return kind == KAFU_SITE_DEST ? "KAFU_DEST" : "KAFU_MAY_OFFLOAD";
}

static const kafu_cc_annot *find_def(const kafu_cc_annots *all, const char *func,
                                     kafu_site_kind kind) {
  for (size_t i = 0; i < all->n; i++) {
    const kafu_cc_annot *a = &all->v[i];
    if (a->state == KAFU_ANNOT_DEF && a->kind == kind && !strcmp(a->func, func)) return a;
  }
  return NULL;
}

kafu_err kafu_cc_check_protos(kafu_cc_ctx *c, const kafu_cc_annots *all) {
  for (size_t i = 0; i < all->n; i++) {
    const kafu_cc_annot *a = &all->v[i];
    if (a->state == KAFU_ANNOT_PROTO && !find_def(all, a->func, a->kind))
      return kafu_fail(c->err, KAFU_E_INPUT,
                       "%s:%u: %s(\"%s\") on '%s', a prototype without an annotated definition",
                       a->file, a->line, macro_name(a->kind), a->node, a->func);
  }
  return KAFU_OK;
}

static void collect_name(const char *name, size_t len, void *arg) {
  kafu_cc_argv *names = arg;
  char text[1024];
  if (len >= sizeof text) return;
  memcpy(text, name, len);
  text[len] = '\0';
  kafu_cc_argv_push(names, text);
}

static bool has_name(const kafu_cc_argv *names, const char *name) {
  for (size_t i = 0; i < names->n; i++)
    if (!strcmp(names->v[i], name)) return true;
  return false;
}

/* The function's name in the linked module, or NULL if it is gone. wasi-libc
 * renames a `int main(void)` to __original_main. */
static const char *linked_name(const kafu_cc_argv *names, const char *func) {
  if (has_name(names, func)) return func;
  if (!strcmp(func, "main") && has_name(names, "__original_main")) return "__original_main";
  return NULL;
}

/* Checks the link's annotations and turns the definitions into sites. */
static kafu_err make_sites(kafu_cc_ctx *c, const kafu_cc_annots *all, const kafu_cc_argv *names,
                           kafu_meta *meta) {
  kafu_err rc = kafu_cc_check_protos(c, all);
  if (rc) return rc;
  for (size_t i = 0; i < all->n; i++) {
    const kafu_cc_annot *a = &all->v[i];
    if (a->state == KAFU_ANNOT_PROTO) continue;
    const kafu_cc_annot *def = find_def(all, a->func, a->kind);
    const char *name = def ? linked_name(names, a->func) : NULL;
    if (!name)
      return kafu_fail(c->err, KAFU_E_INPUT,
                       "%s:%u: annotated function '%s' is not in the linked module (unused "
                       "static/inline or uncalled functions are removed)",
                       a->file, a->line, a->func);
    if (a->state != KAFU_ANNOT_DEF) continue;
    if (strcmp(def->node, a->node) != 0)
      return kafu_fail(c->err, KAFU_E_INPUT,
                       "%s:%u: '%s' has %s(\"%s\") here and (\"%s\") at %s:%u", a->file, a->line,
                       a->func, macro_name(a->kind), a->node, def->node, def->file, def->line);
    if (def != a) continue; /* the same function seen from another object */
    if (kafu_meta_add_site(meta, a->kind, name, a->node, a->file, a->line) < 0)
      return kafu_fail(c->err, KAFU_E_NOMEM, "out of memory");
  }
  return KAFU_OK;
}

/* Builds the module with the `kafu` section in place of "kafu_annot". */
static kafu_err add_meta(kafu_cc_ctx *c, const uint8_t *wasm, size_t len, kafu_buf *out) {
  static const char *const drop[] = {"kafu_annot", "kafu"};
  kafu_cc_sections secs = {0};
  kafu_cc_annots all = {0};
  kafu_cc_argv names = {0};
  kafu_meta meta;
  kafu_buf payload = {0};
  memset(&meta, 0, sizeof meta);
  kafu_err rc = kafu_cc_wasm_sections(wasm, len, "linked module", &secs, c->err);
  if (rc) goto out;
  rc = kafu_cc_annots_from_wasm(wasm, len, "linked module", &all, c->err);
  if (rc) goto out;
  if (!kafu_cc_wasm_func_names(wasm, &secs, collect_name, &names) || names.failed) {
    rc = kafu_fail(c->err, KAFU_E_INPUT,
                   "linked module has no function names (stripped by -Wl,--strip-all?)");
    goto out;
  }
  if ((rc = make_sites(c, &all, &names, &meta))) goto out;
  meta.state_size = c->o->state_size;
  rc = kafu_cc_wasm_export_address(wasm, &secs, "kafu_state_region", "linked module",
                                   &meta.state_base, c->err);
  if (rc) goto out;
  kafu_meta_encode(&meta, &payload);
  kafu_cc_wasm_rewrite(wasm, &secs, drop, 2, "kafu", payload.data, payload.len, out);
  if (payload.failed || out->failed) rc = kafu_fail(c->err, KAFU_E_NOMEM, "out of memory");
out:
  kafu_cc_sections_free(&secs);
  kafu_cc_annots_free(&all);
  kafu_cc_argv_free(&names);
  kafu_meta_free(&meta);
  kafu_buf_free(&payload);
  return rc;
}

kafu_err kafu_cc_finish(kafu_cc_ctx *c, const char *linked, const char *output) {
  uint8_t *wasm = NULL;
  size_t len = 0;
  kafu_buf module = {0}, snapified = {0};
  kafu_err rc = kafu_file_read(linked, &wasm, &len, c->err);
  if (rc) goto out;
  if ((rc = add_meta(c, wasm, len, &module))) goto out;
  const kafu_buf *result = &module;
  if (!c->o->no_snapify) {
    kafu_snapify_options opts;
    memset(&opts, 0, sizeof opts);
    opts.policy = c->o->policy;
    opts.state_size = c->o->state_size;
    opts.label = output;
    if ((rc = kafu_snapify(module.data, module.len, &opts, &snapified, c->err))) goto out;
    result = &snapified;
  }
  if (kafu_cc_signal_pending()) {
    rc = kafu_fail(c->err, KAFU_E_IO, "interrupted by signal %d", kafu_cc_signal_pending());
    goto out;
  }
  rc = kafu_cc_write_output(output, result->data, result->len, c->err);
out:
  free(wasm);
  kafu_buf_free(&module);
  kafu_buf_free(&snapified);
  return rc;
}
