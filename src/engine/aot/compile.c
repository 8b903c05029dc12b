/* Finding the external tools (C compiler, wasm2c, wasm-rt sources) and
 * compiling a translated module into a shared object. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/aot/aot_int.h"
#include "util/file.h"

/* Flags that shape the generated object; they are part of the cache key.
 * Bounds checks are explicit compares by default. KAFU_AOT_BOUNDS=guard
 * selects guard pages instead (memories become 8 GiB reservations and the
 * host's SIGSEGV handler in signals.c turns faults into traps): about 5-10 %
 * faster code, but creating an instance costs milliseconds instead of tens of
 * microseconds, and a migration creates one. Call depth is counted either
 * way (the glue adds a C stack floor); see docs/aot.md. */
#define KAFU_AOT_CFLAGS "-O2", "-fPIC", "-shared", "-fvisibility=hidden", "-w"
#define KAFU_AOT_CFLAGS_TEXT "-O2 -fPIC -shared -fvisibility=hidden -w"
static const char *const GUARD_FLAGS[3] = {"-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=1",
                                           "-DWASM_RT_SKIP_SIGNAL_RECOVERY=1",
                                           "-DWASM_RT_USE_STACK_DEPTH_COUNT=1"};
static const char *const CHECK_FLAGS[3] = {"-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0",
                                           "-DWASM_RT_SKIP_SIGNAL_RECOVERY=1",
                                           "-DWASM_RT_USE_STACK_DEPTH_COUNT=1"};
static const char *const *g_bounds_flags = CHECK_FLAGS;

static pthread_mutex_t g_tools_lock = PTHREAD_MUTEX_INITIALIZER;
static kafu_aot_tools g_tools;
static int g_tools_ready;
static char g_cc[KAFU_AOT_PATH_MAX], g_wasm2c[KAFU_AOT_PATH_MAX], g_rt_dir[KAFU_AOT_PATH_MAX];
static unsigned g_compile_count;

/* Is `cmd` runnable: an explicit path that is executable, or a name found
 * in $PATH? */
static int command_exists(const char *cmd) {
  if (strchr(cmd, '/')) return access(cmd, X_OK) == 0;
  const char *path = getenv("PATH");
  if (!path) path = "/usr/local/bin:/usr/bin:/bin";
  while (*path) {
    const char *sep = strchr(path, ':');
    size_t dir_len = sep ? (size_t)(sep - path) : strlen(path);
    char full[KAFU_AOT_PATH_MAX];
    if (dir_len > 0 && dir_len + strlen(cmd) + 2 < sizeof full) {
      snprintf(full, sizeof full, "%.*s/%s", (int)dir_len, path, cmd);
      if (access(full, X_OK) == 0) return 1;
    }
    if (!sep) break;
    path = sep + 1;
  }
  return 0;
}

/* Appends the output of `cmd --version` to the hash input. */
static kafu_err add_version(kafu_buf *key, const char *cmd, kafu_error *err) {
  const char *argv[] = {cmd, "--version", NULL};
  char *output = NULL;
  int status = 0;
  kafu_err rc = kafu_aot_run(argv, &output, &status, 0, NULL, NULL, err);
  if (rc) return rc;
  kafu_buf_str(key, cmd);
  kafu_buf_str(key, output);
  free(output);
  if (status != 0) return kafu_fail(err, KAFU_E_UNSUPPORTED, "%s --version failed", cmd);
  return KAFU_OK;
}

static kafu_err find_tools(kafu_error *err) {
  const char *cc = getenv("KAFU_CC");
  if (cc && *cc) {
    if (!command_exists(cc))
      return kafu_fail(err, KAFU_E_UNSUPPORTED, "aot: KAFU_CC=%s is not an executable", cc);
  } else {
    static const char *const candidates[] = {"cc", "gcc", "clang"};
    cc = NULL;
    for (size_t i = 0; i < sizeof candidates / sizeof *candidates && !cc; i++)
      if (command_exists(candidates[i])) cc = candidates[i];
    if (!cc)
      return kafu_fail(err, KAFU_E_UNSUPPORTED,
                       "aot: no C compiler found (looked for cc, gcc, clang in PATH); "
                       "install the gcc package (apt-get install gcc) or use --engine interp");
  }
  const char *wasm2c = getenv("KAFU_WASM2C");
  if (!wasm2c || !*wasm2c) wasm2c = "wasm2c";
  if (!command_exists(wasm2c))
    return kafu_fail(err, KAFU_E_UNSUPPORTED,
                     "aot: %s not found; install the wabt package (apt-get install wabt) "
                     "or use --engine interp",
                     wasm2c);
  const char *rt_dir = getenv("KAFU_WASM_RT_DIR");
  if (!rt_dir || !*rt_dir) rt_dir = "/usr/share/wabt/wasm2c";
  char probe[KAFU_AOT_PATH_MAX];
  snprintf(probe, sizeof probe, "%s/wasm-rt-impl.c", rt_dir);
  if (access(probe, R_OK) != 0)
    return kafu_fail(err, KAFU_E_UNSUPPORTED,
                     "aot: %s not found; install the wabt package (apt-get install wabt)", probe);
  snprintf(g_cc, sizeof g_cc, "%s", cc);
  snprintf(g_wasm2c, sizeof g_wasm2c, "%s", wasm2c);
  snprintf(g_rt_dir, sizeof g_rt_dir, "%s", rt_dir);

  kafu_buf key = {0};
  kafu_buf_str(&key, "kafu-aot");
  kafu_buf_u32le(&key, KAFU_AOT_GLUE_VERSION);
  const char *bounds = getenv("KAFU_AOT_BOUNDS");
  g_bounds_flags = bounds && !strcmp(bounds, "guard") ? GUARD_FLAGS : CHECK_FLAGS;
  kafu_buf_str(&key, KAFU_AOT_CFLAGS_TEXT);
  for (int i = 0; i < 3; i++)
    kafu_buf_str(&key, g_bounds_flags[i]);
  kafu_err rc = add_version(&key, g_cc, err);
  if (!rc) rc = add_version(&key, g_wasm2c, err);
  if (!rc) {
    uint8_t *rt_src = NULL;
    size_t rt_len = 0;
    /* The runtime source itself: a wabt upgrade must invalidate the cache. */
    rc = kafu_file_read(probe, &rt_src, &rt_len, err);
    if (!rc) kafu_buf_append(&key, rt_src, rt_len);
    free(rt_src);
  }
  if (!rc && key.failed) rc = kafu_fail(err, KAFU_E_NOMEM, "out of memory");
  if (!rc) {
    kafu_sha256(key.data, key.len, g_tools.fingerprint);
    g_tools.cc = g_cc;
    g_tools.wasm2c = g_wasm2c;
    g_tools.rt_dir = g_rt_dir;
  }
  kafu_buf_free(&key);
  return rc;
}

kafu_err kafu_aot_tools_get(const kafu_aot_tools **out, kafu_error *err) {
  kafu_err rc = KAFU_OK;
  pthread_mutex_lock(&g_tools_lock);
  if (!g_tools_ready) {
    rc = find_tools(err);
    if (!rc) g_tools_ready = 1;
  }
  pthread_mutex_unlock(&g_tools_lock);
  if (!rc) *out = &g_tools;
  return rc;
}

int kafu_aot_guard_pages(void) { return g_bounds_flags == GUARD_FLAGS; }

unsigned kafu_aot_compile_count(void) {
  return __atomic_load_n(&g_compile_count, __ATOMIC_RELAXED);
}

typedef struct progress {
  const char *label;
  const char *cc;
  double start;
  int shown;
} progress;

static double seconds_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void show_progress(void *ud) {
  progress *p = ud;
  const char *base = strrchr(p->label, '/');
  fprintf(stderr, "kafu: compiling %s with %s -O2 (first run; cached afterwards)...",
          base ? base + 1 : p->label, p->cc);
  fflush(stderr);
  p->shown = 1;
}

/* The first line of compiler output that mentions an error, else the first. */
static void first_error_line(const char *output, char *line, size_t cap) {
  const char *hit = strstr(output, "error");
  const char *start = output;
  if (hit) {
    while (hit > output && hit[-1] != '\n')
      hit--;
    start = hit;
  }
  size_t n = strcspn(start, "\n");
  if (n >= cap) n = cap - 1;
  memcpy(line, start, n);
  line[n] = 0;
}

kafu_err kafu_aot_compile(const kafu_aot_tools *tools, const char *workdir, const char *out_so,
                          const char *label, int quiet, kafu_error *err) {
  char glue[KAFU_AOT_PATH_MAX], rt[KAFU_AOT_PATH_MAX], inc_rt[KAFU_AOT_PATH_MAX],
      inc_work[KAFU_AOT_PATH_MAX];
  snprintf(glue, sizeof glue, "%s/glue.c", workdir);
  snprintf(rt, sizeof rt, "%s/rt.c", workdir);
  snprintf(inc_rt, sizeof inc_rt, "-I%s", tools->rt_dir);
  snprintf(inc_work, sizeof inc_work, "-I%s", workdir);
  /* Keeps the temporary directory's name out of the object (assert's
   * __FILE__), so concurrent builds produce identical bytes. */
  char prefix_map[KAFU_AOT_PATH_MAX + 32];
  snprintf(prefix_map, sizeof prefix_map, "-ffile-prefix-map=%s=kafu-aot", workdir);
  const char *argv[] = {tools->cc,
                        KAFU_AOT_CFLAGS,
                        g_bounds_flags[0],
                        g_bounds_flags[1],
                        g_bounds_flags[2],
                        inc_rt,
                        inc_work,
                        prefix_map,
                        glue,
                        rt,
                        "-o",
                        out_so,
                        "-lm",
                        "-Wl,--no-undefined",
                        NULL};
  progress prog = {.label = label, .cc = tools->cc, .start = seconds_now()};
  char *output = NULL;
  int status = 0;
  kafu_err rc = kafu_aot_run(argv, &output, &status, 1.0, quiet ? NULL : show_progress, &prog, err);
  if (rc) return rc;
  __atomic_add_fetch(&g_compile_count, 1, __ATOMIC_RELAXED);
  if (prog.shown) {
    fprintf(stderr, status == 0 ? " done in %.1f s\n" : " failed after %.1f s\n",
            seconds_now() - prog.start);
  }
  if (status != 0) {
    char line[300];
    first_error_line(output, line, sizeof line);
    rc = kafu_fail(err, KAFU_E_INTERNAL, "aot: %s failed compiling %s (exit %d): %s", tools->cc,
                   label, status, line);
  }
  free(output);
  return rc;
}
