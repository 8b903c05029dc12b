/* The object cache: compiled modules live in <cache>/aot/<key>.so, where key
 * = SHA-256(module SHA-256, tool fingerprint), next to <key>.so.sha256 (the
 * object's own SHA-256) which is checked before every use. Builds happen in
 * a private temporary directory and are published by rename, so concurrent
 * processes never see a partial object. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/aot/aot_int.h"
#include "util/file.h"
#include "util/log.h"

kafu_err kafu_aot_cache_dir(char *out, kafu_error *err) {
  const kafu_engine_options *opts = kafu_engine_get_options();
  const char *xdg = getenv("XDG_CACHE_HOME");
  const char *home = getenv("HOME");
  int n;
  if (opts && opts->cache_dir && *opts->cache_dir)
    n = snprintf(out, KAFU_AOT_PATH_MAX, "%s", opts->cache_dir);
  else if (xdg && *xdg)
    n = snprintf(out, KAFU_AOT_PATH_MAX, "%s/kafu", xdg);
  else if (home && *home)
    n = snprintf(out, KAFU_AOT_PATH_MAX, "%s/.cache/kafu", home);
  else
    return kafu_fail(err, KAFU_E_IO, "aot: no cache directory (set XDG_CACHE_HOME or HOME)");
  if (n < 0 || n >= KAFU_AOT_PATH_MAX - 128)
    return kafu_fail(err, KAFU_E_IO, "aot: cache directory path too long");
  return KAFU_OK;
}

/* snprintf into a path buffer; KAFU_E_IO if it does not fit. */
static kafu_err path_fmt(char *out, size_t cap, kafu_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static kafu_err path_fmt(char *out, size_t cap, kafu_error *err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(out, cap, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= cap) return kafu_fail(err, KAFU_E_IO, "aot: path too long: %s", out);
  return KAFU_OK;
}

/* 1 if so_path exists and its SHA-256 matches the sidecar, else 0. */
static int entry_valid(const char *so_path, const char *sum_path) {
  uint8_t *so = NULL, *sum = NULL;
  size_t so_len = 0, sum_len = 0;
  int valid = 0;
  kafu_error ignored;
  if (kafu_file_read(sum_path, &sum, &sum_len, &ignored)) goto out;
  if (kafu_file_read(so_path, &so, &so_len, &ignored)) goto out;
  uint8_t digest[KAFU_SHA256_LEN];
  char hex[65];
  kafu_sha256(so, so_len, digest);
  kafu_sha256_hex(digest, hex);
  valid = sum_len >= 64 && !memcmp(sum, hex, 64);
out:
  free(so);
  free(sum);
  return valid;
}

/* Removes the build directory and the files a build leaves in it. */
static void remove_workdir(const char *workdir) {
  DIR *dir = opendir(workdir);
  if (dir) {
    struct dirent *entry;
    while ((entry = readdir(dir))) {
      if (!strcmp(entry->d_name, ".") || !strcmp(entry->d_name, "..")) continue;
      char path[KAFU_AOT_PATH_MAX];
      int n = snprintf(path, sizeof path, "%s/%s", workdir, entry->d_name);
      if (n > 0 && (size_t)n < sizeof path) unlink(path);
    }
    closedir(dir);
  }
  rmdir(workdir);
}

/* Removes build directories left by processes that died mid-build: any
 * tmp-* older than an hour (a live build takes seconds to minutes). */
static void sweep_stale_builds(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  time_t now = time(NULL);
  struct dirent *entry;
  while ((entry = readdir(d))) {
    if (strncmp(entry->d_name, "tmp-", 4) != 0) continue;
    char path[KAFU_AOT_PATH_MAX];
    struct stat st;
    if (path_fmt(path, sizeof path, NULL, "%s/%s", dir, entry->d_name) == KAFU_OK &&
        lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && now - st.st_mtime > 3600)
      remove_workdir(path);
  }
  closedir(d);
}

/* Translates and compiles into workdir, then publishes sidecar and object. */
static kafu_err build_entry(const kafu_aot_tools *tools, const kafu_wasm_module *m,
                            const uint8_t *bytes, size_t len, const char *label,
                            const char *workdir, const char *so_path, const char *sum_path,
                            kafu_error *err) {
  char built[KAFU_AOT_PATH_MAX];
  kafu_err rc = path_fmt(built, sizeof built, err, "%s/module.so", workdir);
  if (rc) return rc;
  rc = kafu_aot_translate(tools, m, bytes, len, label, workdir, err);
  if (rc) return rc;
  const kafu_engine_options *opts = kafu_engine_get_options();
  rc = kafu_aot_compile(tools, workdir, built, label, opts ? opts->quiet : 0, err);
  if (rc) return rc;
  uint8_t *so = NULL;
  size_t so_len = 0;
  rc = kafu_file_read(built, &so, &so_len, err);
  if (rc) return rc;
  uint8_t digest[KAFU_SHA256_LEN];
  char hex[66];
  kafu_sha256(so, so_len, digest);
  free(so);
  kafu_sha256_hex(digest, hex);
  hex[64] = '\n';
  hex[65] = 0;
  rc = kafu_file_write(sum_path, hex, 65, err);
  if (rc) return rc;
  if (rename(built, so_path) != 0)
    return kafu_fail(err, KAFU_E_IO, "aot: %s: %s", so_path, strerror(errno));
  return KAFU_OK;
}

kafu_err kafu_aot_cache_get(const kafu_wasm_module *m, const uint8_t *bytes, size_t len,
                            const char *label, char **so_path_out, int *compiled, kafu_error *err) {
  const kafu_aot_tools *tools = NULL;
  char dir[KAFU_AOT_PATH_MAX], so_path[KAFU_AOT_PATH_MAX], sum_path[KAFU_AOT_PATH_MAX + 8],
      workdir[KAFU_AOT_PATH_MAX];
  *compiled = 0;
  kafu_err rc = kafu_aot_tools_get(&tools, err);
  if (rc) return rc;
  rc = kafu_aot_cache_dir(dir, err);
  if (rc) return rc;
  if (strlen(dir) + 5 >= sizeof dir) return kafu_fail(err, KAFU_E_IO, "aot: path too long");
  strcat(dir, "/aot");
  rc = kafu_mkdirs(dir, err);
  if (rc) return rc;

  uint8_t key_input[2 * KAFU_SHA256_LEN], key[KAFU_SHA256_LEN];
  char key_hex[65];
  kafu_sha256(bytes, len, key_input);
  memcpy(key_input + KAFU_SHA256_LEN, tools->fingerprint, KAFU_SHA256_LEN);
  kafu_sha256(key_input, sizeof key_input, key);
  kafu_sha256_hex(key, key_hex);
  if ((rc = path_fmt(so_path, sizeof so_path, err, "%s/%s.so", dir, key_hex)) ||
      (rc = path_fmt(sum_path, sizeof sum_path, err, "%s.sha256", so_path)) ||
      (rc = path_fmt(workdir, sizeof workdir, err, "%s/tmp-%.16s-XXXXXX", dir, key_hex)))
    return rc;

  if (access(so_path, F_OK) == 0) {
    if (entry_valid(so_path, sum_path)) goto found;
    kafu_log(KAFU_LOG_WARN, "aot", "%s: cache entry %s is corrupt; rebuilding", label, so_path);
  }
  sweep_stale_builds(dir);
  if (!mkdtemp(workdir)) return kafu_fail(err, KAFU_E_IO, "aot: %s: %s", workdir, strerror(errno));
  rc = build_entry(tools, m, bytes, len, label, workdir, so_path, sum_path, err);
  remove_workdir(workdir);
  if (rc) return rc;
  *compiled = 1;
found:
  *so_path_out = strdup(so_path);
  if (!*so_path_out) return kafu_fail(err, KAFU_E_NOMEM, "out of memory");
  return KAFU_OK;
}

/* Marks an entry as bad so that the next lookup rebuilds it (used when the
 * object verifies but does not load). */
void kafu_aot_cache_invalidate(const char *so_path) {
  char sum_path[KAFU_AOT_PATH_MAX + 8];
  if (!path_fmt(sum_path, sizeof sum_path, NULL, "%s.sha256", so_path)) unlink(sum_path);
}
