/* Internal to src/cc: the state of one kafu cc run, shared by the compile,
 * link and finish steps, and the helpers that run clang. */
#ifndef KAFU_CC_BUILD_H
#define KAFU_CC_BUILD_H

#include <limits.h>

#include "cc/annot.h"
#include "cc/cc.h"

typedef struct kafu_cc_ctx {
  const kafu_cc_options *o;
  char tmp[PATH_MAX];  /* private temp dir, removed at the end */
  char root[PATH_MAX]; /* support root: include/ and wasm-support/ */
  char **objects;      /* per input: the compiled object of a source, else NULL (owned) */
  int *tool_status;    /* where a failing tool's exit status goes */
  kafu_error *err;
} kafu_cc_ctx;

/* Starts a clang command line: clang --target=wasm32-wasi --sysroot=/usr. */
void kafu_cc_clang_base(kafu_cc_argv *a);
void kafu_cc_argv_append(kafu_cc_argv *a, const kafu_cc_argv *from);
/* Runs a tool with stderr captured in `diag`; on a non-zero exit shows the
 * diagnostics, stores the status and fails with KAFU_E_IO naming `what`. */
kafu_err kafu_cc_run_tool(kafu_cc_ctx *c, const kafu_cc_argv *a, const char *diag,
                          const char *what);
/* Copies a captured diagnostics file to stderr. */
void kafu_cc_show_file(const char *path);
/* out = <tmp>/<name>. */
kafu_err kafu_cc_tmp_path(kafu_cc_ctx *c, char *out, size_t cap, const char *name);

/* Compiles C source input `index` into an object in the temp dir (path into
 * obj) that carries its annotations in a "kafu_annot" section. */
kafu_err kafu_cc_compile_source(kafu_cc_ctx *c, size_t index, char *obj, size_t cap);
/* Links the inputs with the support library into `linked`. */
kafu_err kafu_cc_link(kafu_cc_ctx *c, const char *linked);
/* Checks the linked module's annotations, writes the `kafu` section, runs
 * snapify unless --no-snapify and writes `output` atomically. */
kafu_err kafu_cc_finish(kafu_cc_ctx *c, const char *linked, const char *output);

/* Writes a result to the user's path: atomically for a regular file (or a
 * new one), straight through for a device or pipe such as /dev/null, which a
 * rename would replace. Errors: KAFU_E_IO naming path. */
kafu_err kafu_cc_write_output(const char *path, const void *data, size_t len, kafu_error *err);

/* Appends the entries of every "kafu_annot" section of a wasm object or
 * module (borrowed bytes). Errors: KAFU_E_INPUT naming label. */
kafu_err kafu_cc_annots_from_wasm(const uint8_t *wasm, size_t len, const char *label,
                                  kafu_cc_annots *out, kafu_error *err);
/* Every KAFU_ANNOT_PROTO entry needs a KAFU_ANNOT_DEF entry of the same
 * function and kind in `all`. Errors: KAFU_E_INPUT naming file:line. */
kafu_err kafu_cc_check_protos(kafu_cc_ctx *c, const kafu_cc_annots *all);

#endif
