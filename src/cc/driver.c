/* The kafu cc pipeline (docs/cc.md): compile every source (compile.c), stop
 * with -c, else link with the support library (link.c) and finish the module
 * (finish.c). Nothing reaches the user's output path unless every step
 * succeeded; the temp dir is always removed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc/build.h"
#include "util/file.h"

/* -c: the object of `src` goes to -o or to NAME.o in the current directory. */
static kafu_err deliver_object(kafu_cc_ctx *c, const char *src, const char *obj) {
  char out[PATH_MAX];
  if (c->o->output) {
    snprintf(out, sizeof out, "%s", c->o->output);
  } else {
    const char *base = strrchr(src, '/');
    base = base ? base + 1 : src;
    size_t n = strlen(base) - 2; /* drop ".c" */
    if ((size_t)snprintf(out, sizeof out, "%.*s.o", (int)n, base) >= sizeof out)
      return kafu_fail(c->err, KAFU_E_INPUT, "%s: name too long", src);
  }
  uint8_t *bytes = NULL;
  size_t len = 0;
  kafu_err rc = kafu_file_read(obj, &bytes, &len, c->err);
  if (!rc) rc = kafu_cc_write_output(out, bytes, len, c->err);
  free(bytes);
  return rc;
}

kafu_err kafu_cc_build(const kafu_cc_options *o, int *tool_status, kafu_error *err) {
  kafu_cc_ctx c;
  memset(&c, 0, sizeof c);
  c.o = o;
  c.tool_status = tool_status;
  c.err = err;
  *tool_status = 0;
  kafu_err rc = kafu_cc_support_root(c.root, sizeof c.root, err);
  if (rc) return rc;
  if ((rc = kafu_cc_tmpdir_create(c.tmp, sizeof c.tmp, err))) return rc;
  kafu_cc_signals_catch();
  c.objects = calloc(o->inputs.n ? o->inputs.n : 1, sizeof *c.objects);
  if (!c.objects) {
    rc = kafu_fail(err, KAFU_E_NOMEM, "out of memory");
    goto out;
  }
  for (size_t i = 0; i < o->inputs.n; i++) {
    if (!o->is_source[i]) continue;
    char obj[PATH_MAX];
    if ((rc = kafu_cc_compile_source(&c, i, obj, sizeof obj))) goto out;
    if (!(c.objects[i] = strdup(obj))) {
      rc = kafu_fail(err, KAFU_E_NOMEM, "out of memory");
      goto out;
    }
  }
  if (o->compile_only) {
    for (size_t i = 0; i < o->inputs.n; i++)
      if (o->is_source[i] && (rc = deliver_object(&c, o->inputs.v[i], c.objects[i]))) goto out;
    goto out;
  }
  char linked[PATH_MAX];
  if ((rc = kafu_cc_tmp_path(&c, linked, sizeof linked, "linked.wasm"))) goto out;
  if ((rc = kafu_cc_link(&c, linked))) goto out;
  rc = kafu_cc_finish(&c, linked, o->output ? o->output : "a.out.wasm");
out:
  if (c.objects)
    for (size_t i = 0; i < o->inputs.n; i++)
      free(c.objects[i]);
  free(c.objects);
  kafu_cc_tmpdir_remove(c.tmp);
  kafu_cc_signals_restore(); /* re-raises a signal that stopped the build */
  return rc;
}
