/* kafu cc end to end, checked with the project's own decoders rather than
 * kafu inspect: the `kafu` section's sites, flags and state region, the
 * kafu_state_region export, and no leftover kafu_annot section. Needs $KAFU
 * (set by ctest). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "snapify/meta.h"
#include "util/file.h"
#include "wasm/module.h"

static char work[] = "/tmp/kafu-cc-build-test-XXXXXX";

static const char source[] =
    "#include <stdio.h>\n"
    "#include \"kafu.h\"\n"
    "KAFU_DEST(\"edge1\")\n"
    "int f(int x) { return x + 1; }\n"
    "KAFU_DEST(g, \"edge2\") KAFU_MAY_OFFLOAD(g, \"cloud1\")\n"
    "static int g(int n) { int s = 0; for (int i = 0; i < n; i++) s += i; return s; }\n"
    "int main(void) { printf(\"%d\\n\", f(1) + g(10)); return 0; }\n";

static int setup(void **state) {
  (void)state;
  if (!mkdtemp(work)) return -1;
  char path[256];
  snprintf(path, sizeof path, "%s/prog.c", work);
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  fputs(source, f);
  fclose(f);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", work);
  return system(cmd) == 0 ? 0 : -1;
}

/* Runs kafu cc in the work dir and reads the output's kafu section. */
static void build(const char *flags, const char *out, kafu_meta *meta, uint8_t **wasm,
                  size_t *len) {
  const char *kafu = getenv("KAFU");
  if (!kafu) fail_msg("KAFU is not set (run through ctest)");
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "cd '%s' && '%s' cc %s prog.c -o %s", work, kafu, flags, out);
  assert_int_equal(system(cmd), 0);
  char path[256];
  snprintf(path, sizeof path, "%s/%s", work, out);
  kafu_error err = {0};
  assert_int_equal(kafu_file_read(path, wasm, len, &err), KAFU_OK);
  bool found = false;
  assert_int_equal(kafu_meta_read(*wasm, *len, meta, &found, &err), KAFU_OK);
  assert_true(found);
}

static void expect_site(const kafu_site *s, kafu_site_kind kind, const char *func, const char *node,
                        uint32_t line) {
  assert_int_equal(s->kind, kind);
  assert_string_equal(s->func, func);
  assert_string_equal(s->node, node);
  assert_string_equal(s->file, "prog.c");
  assert_int_equal(s->line, line);
}

static void test_plain_module(void **state) {
  (void)state;
  kafu_meta meta;
  uint8_t *wasm = NULL;
  size_t len = 0;
  build("-O2 --no-snapify --state-size 32K", "plain.wasm", &meta, &wasm, &len);
  assert_int_equal(meta.flags, 0);
  assert_int_equal(meta.n_sites, 3);
  expect_site(&meta.sites[0], KAFU_SITE_DEST, "f", "edge1", 4);
  expect_site(&meta.sites[1], KAFU_SITE_DEST, "g", "edge2", 6);
  expect_site(&meta.sites[2], KAFU_SITE_OFFLOAD, "g", "cloud1", 6);
  assert_int_equal(meta.state_size, 32 * 1024);
  assert_int_equal(meta.state_base % 16, 0);

  kafu_wasm_module *mod = NULL;
  kafu_error err = {0};
  assert_int_equal(kafu_wasm_decode(wasm, len, "plain.wasm", &mod, &err), KAFU_OK);
  const kafu_wasm_export *region = kafu_wasm_find_export(mod, "kafu_state_region", KAFU_EXT_GLOBAL);
  assert_non_null(region);
  const kafu_wasm_global *g = &mod->ext->globals[region->index];
  assert_false(g->is_mutable);
  assert_int_equal(g->init.value, meta.state_base);
  assert_null(kafu_wasm_find_custom(mod, "kafu_annot"));
  assert_non_null(kafu_wasm_find_custom(mod, "name"));
  kafu_wasm_module_free(mod);
  kafu_meta_free(&meta);
  free(wasm);
}

static void test_snapified_module(void **state) {
  (void)state;
  kafu_meta meta;
  uint8_t *wasm = NULL;
  size_t len = 0;
  build("", "snap.wasm", &meta, &wasm, &len);
  assert_true(meta.flags & KAFU_META_FLAG_SNAPIFIED);
  assert_int_equal(meta.n_sites, 3);
  expect_site(&meta.sites[0], KAFU_SITE_DEST, "f", "edge1", 4);
  assert_int_equal(meta.state_size, KAFU_STATE_SIZE_DEFAULT);
  assert_true(meta.state_base != 0);
  kafu_meta_free(&meta);
  free(wasm);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plain_module),
      cmocka_unit_test(test_snapified_module),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
