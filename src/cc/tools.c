/* Running clang for kafu cc: the base command line, captured diagnostics and
 * temp file names. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cc/build.h"

/* KAFU_CLANG overrides the compiler (tests, other installs). */
static const char *clang_path(void) {
  const char *env = getenv("KAFU_CLANG");
  if (env && *env) return env;
  return access("/usr/bin/clang", X_OK) == 0 ? "/usr/bin/clang" : "clang";
}

void kafu_cc_clang_base(kafu_cc_argv *a) {
  kafu_cc_argv_push(a, clang_path());
  kafu_cc_argv_push(a, "--target=wasm32-wasi");
  kafu_cc_argv_push(a, "--sysroot=/usr");
}

void kafu_cc_argv_append(kafu_cc_argv *a, const kafu_cc_argv *from) {
  for (size_t i = 0; i < from->n; i++)
    kafu_cc_argv_push(a, from->v[i]);
}

void kafu_cc_show_file(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return;
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
    fwrite(chunk, 1, n, stderr);
  fclose(f);
}

kafu_err kafu_cc_run_tool(kafu_cc_ctx *c, const kafu_cc_argv *a, const char *diag,
                          const char *what) {
  int status = 0;
  kafu_err rc = kafu_cc_spawn(a, NULL, diag, c->o->verbose, &status, c->err);
  if (rc) return rc;
  if (status != 0) {
    kafu_cc_show_file(diag);
    *c->tool_status = status;
    return kafu_fail(c->err, KAFU_E_IO, "%s: %s failed (exit status %d)", what, a->v[0], status);
  }
  return KAFU_OK;
}

kafu_err kafu_cc_tmp_path(kafu_cc_ctx *c, char *out, size_t cap, const char *name) {
  if ((size_t)snprintf(out, cap, "%s/%s", c->tmp, name) >= cap)
    return kafu_fail(c->err, KAFU_E_INPUT, "%s: temp path too long", c->tmp);
  return KAFU_OK;
}
