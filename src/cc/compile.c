/* kafu cc, per source: clang -S -emit-llvm shows the emitted annotations and
 * all diagnostics, clang -E the annotations the IR cannot show; the IR then
 * becomes an object carrying them in a "kafu_annot" custom section. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cc/build.h"
#include "cc/wasm_sect.h"
#include "util/file.h"

#define ANNOT_SECTION "kafu_annot"

/* <tmp>/<fmt with index>. */
static kafu_err tmp_path_n(kafu_cc_ctx *c, char *out, size_t cap, const char *fmt, size_t index) {
  char name[64];
  snprintf(name, sizeof name, fmt, index);
  return kafu_cc_tmp_path(c, out, cap, name);
}

/* Reads `path`, appends the "kafu_annot" section holding list, writes back. */
static kafu_err add_annot_section(kafu_cc_ctx *c, const char *path, const kafu_cc_annots *list) {
  uint8_t *obj = NULL;
  size_t len = 0;
  kafu_cc_sections secs = {0};
  kafu_buf payload = {0}, out = {0};
  kafu_err rc = kafu_file_read(path, &obj, &len, c->err);
  if (rc) goto out;
  rc = kafu_cc_wasm_sections(obj, len, path, &secs, c->err);
  if (rc) goto out;
  kafu_cc_annot_encode(list, &payload);
  kafu_cc_wasm_rewrite(obj, &secs, NULL, 0, ANNOT_SECTION, payload.data, payload.len, &out);
  if (payload.failed || out.failed) {
    rc = kafu_fail(c->err, KAFU_E_NOMEM, "out of memory");
    goto out;
  }
  rc = kafu_file_write(path, out.data, out.len, c->err);
out:
  free(obj);
  kafu_cc_sections_free(&secs);
  kafu_buf_free(&payload);
  kafu_buf_free(&out);
  return rc;
}

/* Finds the annotations of source `index` from its IR and preprocessed text. */
static kafu_err read_annotations(kafu_cc_ctx *c, const char *src, const char *ll, const char *pre,
                                 kafu_cc_annots *list) {
  uint8_t *ir = NULL, *text = NULL;
  size_t ir_len, text_len;
  kafu_cc_annots extra = {0};
  kafu_err rc = kafu_file_read(ll, &ir, &ir_len, c->err);
  if (!rc) rc = kafu_file_read(pre, &text, &text_len, c->err);
  if (!rc) rc = kafu_cc_annot_from_ir((const char *)ir, src, list, c->err);
  if (!rc) rc = kafu_cc_annot_from_source((const char *)text, src, list, &extra, c->err);
  for (size_t i = 0; !rc && i < extra.n; i++) {
    const kafu_cc_annot *a = &extra.v[i];
    rc = kafu_cc_annots_add(list, a->state, a->kind, a->func, a->node, a->file, a->line, c->err);
  }
  kafu_cc_annots_free(&extra);
  free(ir);
  free(text);
  return rc;
}

/* Compiles source input `index` to an object in the temp dir. */
kafu_err kafu_cc_compile_source(kafu_cc_ctx *c, size_t index, char *obj, size_t cap) {
  const kafu_cc_options *o = c->o;
  const char *src = o->inputs.v[index];
  char ll[PATH_MAX], pre[PATH_MAX], diag[PATH_MAX], pre_diag[PATH_MAX];
  kafu_cc_argv a = {0};
  kafu_cc_annots list = {0};
  kafu_err rc = KAFU_OK;
  if ((rc = tmp_path_n(c, ll, sizeof ll, "s%zu.ll", index)) ||
      (rc = tmp_path_n(c, pre, sizeof pre, "s%zu.i", index)) ||
      (rc = tmp_path_n(c, obj, cap, "s%zu.o", index)) ||
      (rc = tmp_path_n(c, diag, sizeof diag, "s%zu.diag", index)) ||
      (rc = tmp_path_n(c, pre_diag, sizeof pre_diag, "s%zu.pdiag", index)))
    return rc;
  if (access(src, R_OK) != 0) return kafu_fail(c->err, KAFU_E_INPUT, "%s: cannot read", src);

  /* 1. IR: shows every emitted annotation and all of clang's diagnostics. */
  kafu_cc_clang_base(&a);
  kafu_cc_argv_pushf(&a, "-I%s/include", c->root);
  kafu_cc_argv_append(&a, &o->compile_flags);
  kafu_cc_argv_push(&a, "-S");
  kafu_cc_argv_push(&a, "-emit-llvm");
  kafu_cc_argv_push(&a, src);
  kafu_cc_argv_push(&a, "-o");
  kafu_cc_argv_push(&a, ll);
  if ((rc = kafu_cc_run_tool(c, &a, diag, src))) goto out;
  kafu_cc_argv_free(&a);

  /* 2. Preprocessed text: annotations the IR drops (prototypes, unused statics). */
  kafu_cc_clang_base(&a);
  kafu_cc_argv_pushf(&a, "-I%s/include", c->root);
  kafu_cc_argv_append(&a, &o->compile_flags);
  kafu_cc_argv_push(&a, "-E");
  kafu_cc_argv_push(&a, "-w");
  kafu_cc_argv_push(&a, src);
  kafu_cc_argv_push(&a, "-o");
  kafu_cc_argv_push(&a, pre);
  if ((rc = kafu_cc_run_tool(c, &a, pre_diag, src))) goto out;
  kafu_cc_argv_free(&a);

  /* Annotation errors replace clang's warnings: one line, nothing else. */
  if ((rc = read_annotations(c, src, ll, pre, &list))) goto out;
  kafu_cc_show_file(diag);

  /* 3. IR to object without optimizing twice. */
  kafu_cc_clang_base(&a);
  kafu_cc_argv_append(&a, &o->codegen_flags);
  kafu_cc_argv_push(&a, "-Wno-unused-command-line-argument");
  kafu_cc_argv_push(&a, "-Xclang");
  kafu_cc_argv_push(&a, "-disable-llvm-passes");
  kafu_cc_argv_push(&a, "-c");
  kafu_cc_argv_push(&a, ll);
  kafu_cc_argv_push(&a, "-o");
  kafu_cc_argv_push(&a, obj);
  if ((rc = kafu_cc_run_tool(c, &a, diag, src))) goto out;
  rc = add_annot_section(c, obj, &list);
out:
  kafu_cc_argv_free(&a);
  kafu_cc_annots_free(&list);
  return rc;
}
