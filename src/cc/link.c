/* kafu cc's link step: compiles the support library for this state size and
 * links everything with clang, without -O so that clang does not run
 * wasm-opt (which would drop the name section), exporting
 * kafu_state_region and stripping DWARF unless -g. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc/build.h"
#include "cc/wasm_sect.h"
#include "util/file.h"

#define ANNOT_SECTION "kafu_annot"

kafu_err kafu_cc_annots_from_wasm(const uint8_t *wasm, size_t len, const char *label,
                                  kafu_cc_annots *out, kafu_error *err) {
  kafu_cc_sections secs = {0};
  kafu_err rc = kafu_cc_wasm_sections(wasm, len, label, &secs, err);
  for (size_t i = 0; !rc && i < secs.n; i++) {
    const kafu_cc_section *s = &secs.v[i];
    if (s->id == 0 && !strcmp(s->name, ANNOT_SECTION))
      rc = kafu_cc_annot_decode(wasm + s->payload, s->payload_len, label, out, err);
  }
  kafu_cc_sections_free(&secs);
  return rc;
}

/* Before linking, when every object is known (no archives): a prototype
 * annotation whose function has no annotated definition anywhere is an
 * error even if the linker would fail on the missing body first. */
static kafu_err check_inputs(kafu_cc_ctx *c) {
  const kafu_cc_options *o = c->o;
  kafu_cc_annots all = {0};
  kafu_err rc = KAFU_OK;
  for (size_t i = 0; !rc && i < o->inputs.n; i++) {
    const char *path = c->objects[i] ? c->objects[i] : o->inputs.v[i];
    if (path[0] == '-') continue;
    uint8_t *bytes = NULL;
    size_t len = 0;
    rc = kafu_file_read(path, &bytes, &len, c->err);
    if (!rc) rc = kafu_cc_annots_from_wasm(bytes, len, o->inputs.v[i], &all, c->err);
    free(bytes);
  }
  if (!rc) rc = kafu_cc_check_protos(c, &all);
  kafu_cc_annots_free(&all);
  return rc;
}

static kafu_err compile_support(kafu_cc_ctx *c, char *obj, size_t cap) {
  char diag[PATH_MAX];
  kafu_cc_argv a = {0};
  kafu_err rc;
  if ((rc = kafu_cc_tmp_path(c, obj, cap, "kafu_support.o")) ||
      (rc = kafu_cc_tmp_path(c, diag, sizeof diag, "kafu_support.diag")))
    return rc;
  kafu_cc_clang_base(&a);
  kafu_cc_argv_push(&a, "-O2");
  kafu_cc_argv_pushf(&a, "-I%s/include", c->root);
  kafu_cc_argv_pushf(&a, "-DKAFU_STATE_SIZE=%u", (unsigned)c->o->state_size);
  kafu_cc_argv_push(&a, "-c");
  kafu_cc_argv_pushf(&a, "%s/wasm-support/kafu_support.c", c->root);
  kafu_cc_argv_push(&a, "-o");
  kafu_cc_argv_push(&a, obj);
  rc = kafu_cc_run_tool(c, &a, diag, "kafu_support.c");
  kafu_cc_argv_free(&a);
  return rc;
}

#define KAFU_CC_STACK_SIZE (1024u * 1024u)

kafu_err kafu_cc_link(kafu_cc_ctx *c, const char *linked) {
  const kafu_cc_options *o = c->o;
  char support[PATH_MAX], diag[PATH_MAX];
  kafu_cc_argv a = {0};
  kafu_err rc;
  if (!o->has_archives && (rc = check_inputs(c))) return rc;
  if ((rc = compile_support(c, support, sizeof support))) return rc;
  if ((rc = kafu_cc_tmp_path(c, diag, sizeof diag, "link.diag"))) return rc;
  kafu_cc_clang_base(&a);
  /* The shadow stack goes first, so that an overflow traps (it would run
   * below address 0) instead of silently overwriting data — including the
   * migration state region — and gets 1 MiB instead of wasm-ld's 64 KiB,
   * closer to what native code has. The user's -Wl flags come after and win. */
  kafu_cc_argv_push(&a, "-Wl,--stack-first");
  kafu_cc_argv_pushf(&a, "-Wl,-z,stack-size=%u", KAFU_CC_STACK_SIZE);
  kafu_cc_argv_append(&a, &o->link_flags);
  for (size_t i = 0; i < o->inputs.n; i++)
    kafu_cc_argv_push(&a, c->objects[i] ? c->objects[i] : o->inputs.v[i]);
  kafu_cc_argv_push(&a, support);
  kafu_cc_argv_push(&a, "-Wl,--export=kafu_state_region");
  if (!o->debug) kafu_cc_argv_push(&a, "-Wl,--strip-debug");
  kafu_cc_argv_push(&a, "-o");
  kafu_cc_argv_push(&a, linked);
  rc = kafu_cc_run_tool(c, &a, diag, "link");
  if (!rc) kafu_cc_show_file(diag);
  kafu_cc_argv_free(&a);
  return rc;
}
