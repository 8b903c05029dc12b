/* WASI host end to end: a clang-compiled wasm32-wasi program (tests/wasi/
 * fs_prog.c) runs on the interp engine against a temp preopen and must see
 * the whole host through wasi-libc: files, directories, stat, symlinks,
 * blocked escapes, clocks, env, args, stdout/stderr and its exit code.
 * Skipped when clang or the interp engine is unavailable. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../wasi/wasi_fake.h"
#include "engine/engine.h"
#include "util/file.h"

static const char *env_or(const char *name, const char *fallback) {
  const char *v = getenv(name);
  return v && *v ? v : fallback;
}

typedef struct captured {
  char text[2][4096];
  size_t len[2];
} captured;

static int capture(void *ud, int fd, const uint8_t *data, size_t len) {
  captured *c = ud;
  int i = fd == 1 ? 0 : 1;
  if (c->len[i] + len >= sizeof c->text[i]) return 1;
  memcpy(c->text[i] + c->len[i], data, len);
  c->len[i] += len;
  return 0;
}

/* Finds the interp engine (*eng) and compiles tests/wasi/NAME.c with clang
 * for wasm32-wasi into a new temporary directory, returned (the caller
 * removes and frees it), as DIR/NAME.wasm (its path in wasm[cap]). Skips the
 * test if the engine, clang or wasi-libc is missing. */
static char *program_or_skip(const char *name, const kafu_engine_ops **eng, char *wasm,
                             size_t cap) {
  *eng = kafu_engine_find("interp");
  if (!*eng) skip();
  char *dir = make_tmpdir(), cmd[2000];
  snprintf(wasm, cap, "%s/%s.wasm", dir, name);
  snprintf(cmd, sizeof cmd,
           "clang --target=wasm32-wasi --sysroot=/usr -O1 '%s/tests/wasi/%s.c' -o '%s' 2>/dev/null",
           env_or("KAFU_SRC", KAFU_SOURCE_DIR), name, wasm);
  if (system(cmd) != 0) {
    rm_rf(dir);
    free(dir);
    skip();
  }
  return dir;
}

static void test_fs_program(void **state) {
  (void)state;
  const kafu_engine_ops *eng;
  char wasm[600], *tmp = program_or_skip("fs_prog", &eng, wasm, sizeof wasm);
  make_dir(tmp, "data");
  write_file(tmp, "secret", "SECRET");
  char data_dir[700];
  snprintf(data_dir, sizeof data_dir, "%s/data", tmp);

  uint8_t *bytes = NULL;
  size_t len = 0;
  kafu_error err = {0};
  assert_int_equal(kafu_file_read(wasm, &bytes, &len, &err), KAFU_OK);
  kafu_engine_module *mod = NULL;
  kafu_err rc = eng->load(bytes, len, "fs_prog.wasm", &mod, &err);
  if (rc) fprintf(stderr, "load: %s\n", err.msg);
  assert_int_equal(rc, KAFU_OK);

  captured out;
  memset(&out, 0, sizeof out);
  const char *argv[] = {"fs_prog", "x", "last-arg"};
  const char *envp[] = {"KAFU_TEST=yes"};
  kafu_wasi_preopen pre = {data_dir, "/data"};
  kafu_wasi_config cfg = {.argc = 3,
                          .argv = argv,
                          .envc = 1,
                          .envp = envp,
                          .n_preopens = 1,
                          .preopens = &pre,
                          .output = capture,
                          .output_ud = &out,
                          .stdin_fd = -1};
  kafu_wasi *w = NULL;
  assert_int_equal(kafu_wasi_new(&cfg, &w, &err), KAFU_OK);
  kafu_host_import imports[80];
  size_t n = kafu_wasi_imports(w, imports, 80);
  kafu_engine_instance *inst = NULL;
  rc = eng->instantiate(mod, imports, n, &inst, &err);
  if (rc) fprintf(stderr, "instantiate: %s\n", err.msg);
  assert_int_equal(rc, KAFU_OK);
  rc = kafu_instance_call(inst, "_start", NULL, 0, NULL, 0, &err);
  int code = -1;
  if (!kafu_wasi_exited(w, &code)) fprintf(stderr, "call: %s\n", err.msg);
  assert_true(kafu_wasi_exited(w, &code));
  fprintf(stderr, "stdout:\n%s", out.text[0]);
  assert_int_equal(code, 5);
  assert_string_equal(out.text[0], "argc=3 last=last-arg env=yes\n"
                                   "read=line2\n"
                                   "ls: a b moved.txt\n"
                                   "size=12\n"
                                   "dotdot=blocked\n"
                                   "absolute=blocked\n"
                                   "symlink=blocked\n"
                                   "slept=ok\n");
  assert_string_equal(out.text[1], "done\n");
  assert_false(path_exists(data_dir, "d")); /* the program cleaned up after itself */

  eng->instance_free(inst);
  eng->module_free(mod);
  kafu_wasi_free(w);
  free(bytes);
  rm_rf(tmp);
  free(tmp);
}

/* Every preview1 import wasi-libc knows must resolve with its exact type:
 * the engine checks each signature when it instantiates. */
static void test_every_import_resolves(void **state) {
  (void)state;
  const kafu_engine_ops *eng;
  char wasm[600], *tmp = program_or_skip("all_imports", &eng, wasm, sizeof wasm);
  uint8_t *bytes = NULL;
  size_t len = 0;
  kafu_error err = {0};
  assert_int_equal(kafu_file_read(wasm, &bytes, &len, &err), KAFU_OK);
  kafu_engine_module *mod = NULL;
  assert_int_equal(eng->load(bytes, len, "all_imports.wasm", &mod, &err), KAFU_OK);
  kafu_wasi_config cfg = {.stdin_fd = -1};
  kafu_wasi *w = NULL;
  assert_int_equal(kafu_wasi_new(&cfg, &w, &err), KAFU_OK);
  kafu_host_import imports[80];
  size_t n = kafu_wasi_imports(w, imports, 80);
  kafu_engine_instance *inst = NULL;
  kafu_err rc = eng->instantiate(mod, imports, n, &inst, &err);
  if (rc) fprintf(stderr, "instantiate: %s\n", err.msg);
  assert_int_equal(rc, KAFU_OK);
  /* and a wrong signature would have been caught: break one and retry */
  for (size_t i = 0; i < n; i++)
    if (!strcmp(imports[i].name, "fd_write")) imports[i].params[1] = KAFU_I64;
  kafu_engine_instance *bad = NULL;
  assert_int_equal(eng->instantiate(mod, imports, n, &bad, &err), KAFU_E_INPUT);
  eng->instance_free(inst);
  eng->module_free(mod);
  kafu_wasi_free(w);
  free(bytes);
  rm_rf(tmp);
  free(tmp);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_fs_program),
                                     cmocka_unit_test(test_every_import_resolves)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
