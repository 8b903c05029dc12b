/* snapify's copies of instrumented functions for calls made while not
 * rewinding (docs/abi.md, "Shape of the transformed code"): every
 * instrumented function that polls gets one, with the same polls, the
 * original dispatches to it unless rewinding, and copies call copies;
 * functions that do not poll get none. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <binaryen-c.h>
#include <cmocka.h>

#include "snapify/internal.h"
#include "snapify/meta.h"
#include "snapify/snapify.h"
#include "util/file.h"

static char tmpdir[] = "/tmp/kafu-snapify-rewind-XXXXXX";

static const char *src_dir(void) {
  const char *s = getenv("KAFU_SRC");
  return s && s[0] ? s : "..";
}

/* tests/snapify/wat/loops.wat, snapified with `kernel` MAY_OFFLOAD. */
static void snapify_loops(kafu_buf *out, kafu_meta *meta) {
  char path[512], cmd[2048];
  snprintf(path, sizeof path, "%s/loops.wasm", tmpdir);
  snprintf(cmd, sizeof cmd, "wat2wasm --debug-names %s/tests/snapify/wat/loops.wat -o %s",
           src_dir(), path);
  if (system(cmd) != 0) fail_msg("command failed: %s", cmd);
  uint8_t *in = NULL;
  size_t len = 0;
  kafu_error err = {0};
  if (kafu_file_read(path, &in, &len, &err) != KAFU_OK) fail_msg("%s", err.msg);
  static const kafu_snapify_annotation ann[] = {{KAFU_SITE_OFFLOAD, "kernel", "cloud1"}};
  kafu_snapify_options opts = {.policy = KAFU_POLICY_KAFU, .extra = ann, .n_extra = 1};
  memset(out, 0, sizeof *out);
  if (kafu_snapify(in, len, &opts, out, &err) != KAFU_OK) fail_msg("%s", err.msg);
  free(in);
  bool found = false;
  memset(meta, 0, sizeof *meta);
  if (kafu_meta_read(out->data, out->len, meta, &found, &err) != KAFU_OK) fail_msg("%s", err.msg);
  assert_true(found);
  snprintf(path, sizeof path, "%s/loops.snap.wasm", tmpdir);
  assert_int_equal(kafu_file_write(path, out->data, out->len, &err), KAFU_OK);
  snprintf(cmd, sizeof cmd, "wasm-validate %s", path);
  if (system(cmd) != 0) fail_msg("snapify output does not validate: %s", cmd);
}

static const char *poll_import(BinaryenModuleRef mod) {
  for (BinaryenIndex i = 0; i < BinaryenGetNumFunctions(mod); i++) {
    BinaryenFunctionRef f = BinaryenGetFunctionByIndex(mod, i);
    const char *m = BinaryenFunctionImportGetModule(f);
    if (m && !strcmp(m, "kafu") && !strcmp(BinaryenFunctionImportGetBase(f), "poll"))
      return BinaryenFunctionGetName(f);
  }
  return NULL;
}

static kafu_snapify_scan scan_of(BinaryenModuleRef mod, const char *func) {
  BinaryenFunctionRef f = BinaryenGetFunction(mod, func);
  if (!f) fail_msg("no function '%s'", func);
  kafu_snapify_scan scan = {0};
  assert_int_equal(kafu_snapify_walk(BinaryenFunctionGetBody(f), &scan, NULL), KAFU_OK);
  return scan;
}

static size_t count(const kafu_snapify_scan *scan, const char *target) {
  size_t n = 0;
  for (size_t i = 0; i < scan->n_callees; i++)
    n += !strcmp(scan->callees[i], target);
  return n;
}

static void test_normal_copies(void **state) {
  (void)state;
  kafu_buf out;
  kafu_meta meta;
  snapify_loops(&out, &meta);
  BinaryenModuleRef mod = BinaryenModuleRead((char *)out.data, out.len);
  const char *poll = poll_import(mod);
  assert_non_null(poll);
  assert_true(meta.n_instrumented >= 3); /* _start, kernel, kernel$kafu_body */
  size_t n_copies = 0;
  for (uint32_t i = 0; i < meta.n_instrumented; i++) {
    char name[256];
    const char *f = meta.instrumented[i];
    snprintf(name, sizeof name, "%s%s", f, KAFU_SNAPIFY_NORMAL_SUFFIX);
    kafu_snapify_scan orig = scan_of(mod, f);
    if (!BinaryenGetFunction(mod, name)) {
      /* only functions that poll get a copy */
      if (count(&orig, poll)) fail_msg("'%s' polls but has no copy", f);
      kafu_snapify_scan_free(&orig);
      continue;
    }
    n_copies++;
    kafu_snapify_scan copy = scan_of(mod, name);
    /* the same polls in both, and at least one */
    assert_int_equal(count(&orig, poll), count(&copy, poll));
    assert_true(count(&orig, poll) > 0);
    /* the original starts with the dispatch and calls its copy once */
    BinaryenExpressionRef body = BinaryenFunctionGetBody(BinaryenGetFunction(mod, f));
    assert_int_equal(BinaryenExpressionGetId(body), BinaryenIfId());
    assert_int_equal(count(&orig, name), 1);
    /* the copy calls no original that has a copy, itself included */
    for (uint32_t k = 0; k < meta.n_instrumented; k++) {
      char other[256];
      snprintf(other, sizeof other, "%s%s", meta.instrumented[k], KAFU_SNAPIFY_NORMAL_SUFFIX);
      if (count(&copy, meta.instrumented[k]) && BinaryenGetFunction(mod, other))
        fail_msg("'%s' calls '%s' instead of its copy", name, meta.instrumented[k]);
    }
    kafu_snapify_scan_free(&orig);
    kafu_snapify_scan_free(&copy);
  }
  assert_true(n_copies >= 1);
  assert_true(n_copies < meta.n_instrumented); /* _start does not poll */
  /* kernel$kafu_body keeps a poll in each of its 4 polled loops */
  kafu_snapify_scan body = scan_of(mod, "kernel$kafu_body" KAFU_SNAPIFY_NORMAL_SUFFIX);
  assert_int_equal(count(&body, poll), 4);
  kafu_snapify_scan_free(&body);
  /* uninstrumented functions get no copy */
  assert_null(BinaryenGetFunction(mod, "leaf" KAFU_SNAPIFY_NORMAL_SUFFIX));
  BinaryenModuleDispose(mod);
  kafu_meta_free(&meta);
  kafu_buf_free(&out);
}

static int setup(void **state) {
  (void)state;
  return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_normal_copies),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
