/* Finds the files kafu cc adds to every build: include/kafu.h and
 * wasm-support/kafu_support.c, under one root. Looked up in order: the
 * KAFU_SUPPORT_DIR environment variable, <kafu binary>/../share/kafu (the
 * build and install layout), the build's share dir, the source tree. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cc/cc.h"

static bool root_has_support(const char *root) {
  char path[PATH_MAX];
  if ((size_t)snprintf(path, sizeof path, "%s/include/kafu.h", root) >= sizeof path) return false;
  if (access(path, R_OK) != 0) return false;
  if ((size_t)snprintf(path, sizeof path, "%s/wasm-support/kafu_support.c", root) >= sizeof path)
    return false;
  return access(path, R_OK) == 0;
}

static bool exe_share_dir(char *out, size_t cap) {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return false;
  exe[n] = '\0';
  char *slash = strrchr(exe, '/');
  if (!slash) return false;
  *slash = '\0';
  return (size_t)snprintf(out, cap, "%s/../share/kafu", exe) < cap;
}

kafu_err kafu_cc_support_root(char *out, size_t cap, kafu_error *err) {
  const char *env = getenv("KAFU_SUPPORT_DIR");
  if (env && *env) {
    if (!root_has_support(env))
      return kafu_fail(err, KAFU_E_INPUT,
                       "KAFU_SUPPORT_DIR=%s: no include/kafu.h and wasm-support/kafu_support.c",
                       env);
    snprintf(out, cap, "%s", env);
    return KAFU_OK;
  }
  char candidate[PATH_MAX];
  if (exe_share_dir(candidate, sizeof candidate) && root_has_support(candidate)) {
    snprintf(out, cap, "%s", candidate);
    return KAFU_OK;
  }
  static const char *const built_in[] = {KAFU_BUILD_SHARE_DIR, KAFU_SOURCE_DIR};
  for (size_t i = 0; i < sizeof built_in / sizeof built_in[0]; i++) {
    if (root_has_support(built_in[i])) {
      snprintf(out, cap, "%s", built_in[i]);
      return KAFU_OK;
    }
  }
  return kafu_fail(err, KAFU_E_IO,
                   "cannot find the Kafu support library (include/kafu.h, "
                   "wasm-support/kafu_support.c); set KAFU_SUPPORT_DIR");
}
