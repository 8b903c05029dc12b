/* AOT engine with the real WASI host: a clang-compiled hello world runs,
 * prints, recurses 10,000 deep and exits with its code; the first load shows
 * compile progress when it is slow, the second is a silent cache hit. Slow:
 * compiles ~0.5 MB of wasm2c output once per run (fresh cache directory). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/aot/aot_int.h"
#include "engine/engine.h"
#include "util/file.h"
#include "wasi/wasi.h"

static const char *env_or(const char *name, const char *fallback) {
  const char *v = getenv(name);
  return v && *v ? v : fallback;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct captured {
  char out[4096];
  size_t out_len;
  char err[4096];
  size_t err_len;
} captured;

static int capture(void *ud, int fd, const uint8_t *data, size_t len) {
  captured *c = ud;
  char *dst = fd == 1 ? c->out : c->err;
  size_t *dst_len = fd == 1 ? &c->out_len : &c->err_len;
  if (*dst_len + len >= sizeof c->out) return 1;
  memcpy(dst + *dst_len, data, len);
  *dst_len += len;
  dst[*dst_len] = 0;
  return 0;
}

/* Loads with stderr redirected into a file; returns what was printed. */
static kafu_engine_module *load_capturing_stderr(const uint8_t *bytes, size_t len, char *printed,
                                                 size_t cap, double *seconds) {
  char path[1100];
  snprintf(path, sizeof path, "%s/aot-wasi-stderr-%d.txt", env_or("KAFU_BUILD", "/tmp"),
           (int)getpid());
  fflush(stderr);
  int saved = dup(2);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(saved >= 0 && fd >= 0);
  dup2(fd, 2);
  close(fd);
  kafu_engine_module *mod = NULL;
  kafu_error err = {0};
  double start = now();
  kafu_err rc = kafu_engine_find("aot")->load(bytes, len, "hello.wasm", &mod, &err);
  *seconds = now() - start;
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  if (rc) fprintf(stderr, "load: %s\n", err.msg);
  assert_int_equal(rc, KAFU_OK);
  uint8_t *text = NULL;
  size_t text_len = 0;
  assert_int_equal(kafu_file_read(path, &text, &text_len, &err), KAFU_OK);
  snprintf(printed, cap, "%s", (char *)text);
  free(text);
  unlink(path);
  return mod;
}

static void test_hello_world(void **state) {
  const char *build = env_or("KAFU_BUILD", "/tmp");
  char wasm[1100], cache[1100], cmd[4000];
  snprintf(wasm, sizeof wasm, "%s/aot-hello-%d.wasm", build, (int)getpid());
  snprintf(cache, sizeof cache, "%s/aot-wasi-cache-%d", build, (int)getpid());
  snprintf(cmd, sizeof cmd,
           "clang --target=wasm32-wasi --sysroot=/usr -O2 '%s/tests/aot/hello.c' -o '%s' && "
           "rm -rf '%s'",
           env_or("KAFU_SRC", KAFU_SOURCE_DIR), wasm, cache);
  assert_int_equal(system(cmd), 0);
  uint8_t *bytes = NULL;
  size_t len = 0;
  kafu_error err = {0};
  assert_int_equal(kafu_file_read(wasm, &bytes, &len, &err), KAFU_OK);

  kafu_engine_options opts = *kafu_engine_get_options();
  opts.cache_dir = cache;
  opts.quiet = 0;
  kafu_engine_set_options(&opts);

  /* First load compiles; progress appears only if that took over a second. */
  char printed[2048];
  double seconds = 0;
  unsigned compiles = kafu_aot_compile_count();
  kafu_engine_module *mod = load_capturing_stderr(bytes, len, printed, sizeof printed, &seconds);
  assert_int_equal(kafu_aot_compile_count(), compiles + 1);
  fprintf(stderr, "first load: %.2f s, stderr: %s", seconds, printed);
  if (seconds > 1.3) {
    assert_non_null(strstr(printed, "kafu: compiling hello.wasm with"));
    assert_non_null(strstr(printed, "(first run; cached afterwards)... done in"));
  } else if (seconds < 0.8) {
    assert_null(strstr(printed, "compiling"));
  }
  kafu_engine_find("aot")->module_free(mod);

  /* Second load: cache hit, silent, no compile. */
  mod = load_capturing_stderr(bytes, len, printed, sizeof printed, &seconds);
  assert_int_equal(kafu_aot_compile_count(), compiles + 1);
  assert_null(strstr(printed, "compiling"));
  fprintf(stderr, "cached load: %.3f s\n", seconds);

  captured out = {0};
  const char *argv[] = {"hello", "one", "two"};
  kafu_wasi_config cfg = {
      .argc = 3, .argv = argv, .output = capture, .output_ud = &out, .stdin_fd = -1};
  kafu_wasi *wasi = NULL;
  assert_int_equal(kafu_wasi_new(&cfg, &wasi, &err), KAFU_OK);
  kafu_host_import imports[128];
  size_t n_imports = kafu_wasi_imports(wasi, imports, 128);
  kafu_engine_instance *inst = NULL;
  kafu_err rc = kafu_engine_find("aot")->instantiate(mod, imports, n_imports, &inst, &err);
  if (rc) fprintf(stderr, "instantiate: %s\n", err.msg);
  assert_int_equal(rc, KAFU_OK);
  rc = kafu_instance_call(inst, "_start", NULL, 0, NULL, 0, &err);
  int code = -1;
  assert_int_not_equal(rc, KAFU_OK); /* proc_exit(3) aborts the call */
  assert_true(kafu_wasi_exited(wasi, &code));
  assert_int_equal(code, 3);
  assert_string_equal(out.out, "hello from aot: argc=3 last=two\ndepth=10000\n");
  assert_string_equal(out.err, "to stderr\n");

  kafu_engine_find("aot")->instance_free(inst);
  kafu_engine_find("aot")->module_free(mod);
  kafu_wasi_free(wasi);
  free(bytes);
  snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", cache, wasm);
  assert_int_equal(system(cmd), 0);
}

int main(void) {
  if (!kafu_engine_find("aot")) {
    fprintf(stderr, "aot engine not built\n");
    return 1;
  }
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_hello_world)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
