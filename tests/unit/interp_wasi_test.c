/* The interpreter with the real WASI host on clang-compiled C programs:
 * hello world (argv, stdio, heap, 10,000-deep recursion, exit code) and a
 * differential run of tests/spec/programs/kernels.c against the same
 * program built natively with the system C compiler. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/engine.h"
#include "util/file.h"
#include "wasi/wasi.h"

typedef struct captured {
  char out[8192], err[2048];
  size_t n_out, n_err;
} captured;

static int capture(void *ud, int fd, const uint8_t *data, size_t len) {
  captured *c = ud;
  char *dst = fd == 1 ? c->out : c->err;
  size_t *n = fd == 1 ? &c->n_out : &c->n_err;
  size_t cap = (fd == 1 ? sizeof c->out : sizeof c->err) - 1;
  if (*n + len > cap) len = cap - *n;
  memcpy(dst + *n, data, len);
  *n += len;
  dst[*n] = '\0';
  return 0;
}

static const char *env_or(const char *name, const char *dflt) {
  const char *v = getenv(name);
  return v && *v ? v : dflt;
}

/* Builds tests/spec/programs/<name>.c to wasm with the given flags. */
static uint8_t *build_wasm(const char *name, const char *flags, size_t *len, char *path, size_t cap) {
  char cmd[4096];
  snprintf(path, cap, "%s/interp-%s-%d.wasm", env_or("KAFU_BUILD", "/tmp"), name, (int)getpid());
  snprintf(cmd, sizeof cmd,
           "clang --target=wasm32-wasi --sysroot=/usr %s '%s/tests/spec/programs/%s.c' -o '%s' -lm",
           flags, env_or("KAFU_SRC", KAFU_SOURCE_DIR), name, path);
  if (system(cmd) != 0) return NULL;
  uint8_t *bytes = NULL;
  kafu_error err = {0};
  if (kafu_file_read(path, &bytes, len, &err)) return NULL;
  return bytes;
}

/* Runs _start; returns the exit code (0 if _start returned normally). */
static int run_wasm(const uint8_t *bytes, size_t len, int argc, const char **argv, captured *out) {
  const kafu_engine_ops *ops = kafu_engine_find("interp");
  assert_non_null(ops);
  kafu_engine_module *mod = NULL;
  kafu_error err = {0};
  kafu_err rc = ops->load(bytes, len, "prog.wasm", &mod, &err);
  if (rc) fprintf(stderr, "load: %s\n", err.msg);
  assert_int_equal(rc, KAFU_OK);
  kafu_wasi_config cfg = {.argc = argc, .argv = argv, .output = capture, .output_ud = out, .stdin_fd = -1};
  kafu_wasi *wasi = NULL;
  assert_int_equal(kafu_wasi_new(&cfg, &wasi, &err), KAFU_OK);
  kafu_host_import imports[128];
  size_t n_imports = kafu_wasi_imports(wasi, imports, 128);
  kafu_engine_instance *inst = NULL;
  rc = ops->instantiate(mod, imports, n_imports, &inst, &err);
  if (rc) fprintf(stderr, "instantiate: %s\n", err.msg);
  assert_int_equal(rc, KAFU_OK);
  rc = kafu_instance_call(inst, "_start", NULL, 0, NULL, 0, &err);
  int code = 0;
  if (rc) {
    if (!kafu_wasi_exited(wasi, &code)) fprintf(stderr, "_start: %s\n", err.msg);
    assert_true(kafu_wasi_exited(wasi, &code));
  }
  ops->instance_free(inst);
  ops->module_free(mod);
  kafu_wasi_free(wasi);
  return code;
}

static void test_hello(void **state) {
  (void)state;
  char path[1200];
  size_t len;
  uint8_t *bytes = build_wasm("hello", "-O2", &len, path, sizeof path);
  assert_non_null(bytes);
  captured out = {0};
  const char *argv[] = {"hello", "one", "two"};
  assert_int_equal(run_wasm(bytes, len, 3, argv, &out), 3);
  assert_string_equal(out.out, "hello from interp: argc=3 last=two\ndepth=10000\n");
  assert_string_equal(out.err, "to stderr\n");
  free(bytes);
  unlink(path);
}

static void differential(const char *flags) {
  char path[1200], native[1200], cmd[4096];
  size_t len;
  uint8_t *bytes = build_wasm("kernels", flags, &len, path, sizeof path);
  assert_non_null(bytes);
  captured out = {0};
  const char *argv[] = {"kernels"};
  assert_int_equal(run_wasm(bytes, len, 1, argv, &out), 0);
  snprintf(native, sizeof native, "%s/interp-kernels-native-%d", env_or("KAFU_BUILD", "/tmp"), (int)getpid());
  snprintf(cmd, sizeof cmd, "cc -O2 '%s/tests/spec/programs/kernels.c' -o '%s' -lm && '%s' > '%s.out'",
           env_or("KAFU_SRC", KAFU_SOURCE_DIR), native, native, native);
  assert_int_equal(system(cmd), 0);
  char outpath[1300];
  snprintf(outpath, sizeof outpath, "%s.out", native);
  uint8_t *expect = NULL;
  size_t elen = 0;
  kafu_error err = {0};
  assert_int_equal(kafu_file_read(outpath, &expect, &elen, &err), KAFU_OK);
  assert_string_equal(out.out, (char *)expect);
  free(expect);
  free(bytes);
  unlink(path);
  unlink(native);
  unlink(outpath);
}

static void test_kernels_o2(void **state) { (void)state; differential("-O2"); }
static void test_kernels_o0(void **state) { (void)state; differential("-O0"); }

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hello),
      cmocka_unit_test(test_kernels_o2),
      cmocka_unit_test(test_kernels_o0),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
