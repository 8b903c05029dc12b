/* kafu_snapify: checks the input's section layout, strips the old kafu and
 * DWARF sections, runs the Binaryen transform in a child process (Binaryen
 * prints to stdout/stderr and exits the process on malformed input), then
 * appends the new kafu section with the code sizes before and after. */
#include "snapify/snapify.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "snapify/internal.h"
#include "snapify/sections.h"

/* Progress byte the child writes first, so a crash can be blamed correctly. */
#define CHILD_TIME_LIMIT_S 600

enum { STAGE_READING = 1, STAGE_TRANSFORMING = 2, STAGE_DONE = 3 };

static bool write_all(int fd, const void *data, size_t len) {
  const uint8_t *p = data;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    len -= (size_t)n;
  }
  return true;
}

/* Reads the whole file behind fd (from offset 0) into a malloc'd buffer. */
static uint8_t *read_fd(int fd, size_t *len) {
  kafu_buf b = {0};
  uint8_t chunk[65536];
  if (lseek(fd, 0, SEEK_SET) < 0) return NULL;
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      kafu_buf_free(&b);
      return NULL;
    }
    if (n == 0) break;
    kafu_buf_append(&b, chunk, (size_t)n);
  }
  kafu_buf_u8(&b, 0); /* NUL for log text; not counted */
  if (b.failed) {
    kafu_buf_free(&b);
    return NULL;
  }
  uint8_t *data = kafu_buf_take(&b, len);
  (*len)--;
  return data;
}

/* The first informative line of what Binaryen printed (containing `needle`
 * unless NULL), for the one-line error; "" if none. */
static void first_log_line(int log_fd, const char *needle, char *out, size_t cap) {
  size_t len = 0;
  char *text = (char *)read_fd(log_fd, &len);
  out[0] = '\0';
  if (!text) return;
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    if (needle && !strstr(line, needle)) continue;
    while (*line == ' ' || *line == '\t') line++;
    if (*line == '[') { /* "[parse exception: ... (at 0:47)]Fatal: ..." */
      line++;
      char *close = strchr(line, ']');
      if (close) *close = '\0';
    }
    if (!*line) continue;
    snprintf(out, cap, "%s", line);
    size_t n = strlen(out);
    while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\r')) out[--n] = '\0';
    break;
  }
  free(text);
}

static int child_res_fd = -1;
static bool binaryen_in_process;

void kafu_snapify_note_input_ok(void) {
  uint8_t stage = STAGE_TRANSFORMING;
  if (child_res_fd >= 0 && pwrite(child_res_fd, &stage, 1, 0) != 1) child_res_fd = -1;
}

/* Child side: transform, then write stage, rc, message, module and meta. */
static void child_run(int res_fd, int log_fd, const uint8_t *wasm, size_t len,
                      const kafu_meta *in_meta, const kafu_snapify_options *opts) {
  uint8_t stage = STAGE_READING;
  dup2(log_fd, STDOUT_FILENO);
  dup2(log_fd, STDERR_FILENO);
  write_all(res_fd, &stage, 1);
  child_res_fd = res_fd;
  kafu_error err = {0};
  uint8_t *out = NULL;
  size_t out_len = 0;
  kafu_meta meta = {0};
  kafu_err rc = kafu_snapify_transform(wasm, len, in_meta, opts, &out, &out_len, &meta, &err);
  kafu_buf res = {0};
  kafu_buf meta_bytes = {0};
  if (rc == KAFU_OK) kafu_meta_encode(&meta, &meta_bytes);
  kafu_buf_u8(&res, STAGE_DONE);
  kafu_buf_u32le(&res, (uint32_t)rc);
  kafu_buf_str(&res, err.msg);
  kafu_buf_u64le(&res, out_len);
  kafu_buf_append(&res, out, out_len);
  kafu_buf_u64le(&res, meta_bytes.len);
  kafu_buf_append(&res, meta_bytes.data, meta_bytes.len);
  if (!res.failed && lseek(res_fd, 0, SEEK_SET) == 0) write_all(res_fd, res.data, res.len);
  _exit(res.failed ? 3 : 0);
}

/* Runs kafu_snapify_transform in a child process and collects its result. */
static kafu_err run_isolated(const uint8_t *wasm, size_t len, const kafu_meta *in_meta,
                             const kafu_snapify_options *opts, const char *label,
                             uint8_t **out, size_t *out_len, kafu_meta *out_meta,
                             kafu_error *err) {
  FILE *res_file = tmpfile(), *log_file = tmpfile();
  uint8_t *res = NULL;
  size_t res_len = 0;
  kafu_err rc = KAFU_OK;
  if (!res_file || !log_file) {
    rc = kafu_fail(err, KAFU_E_IO, "%s: cannot create temporary files: %s", label, strerror(errno));
    goto out;
  }
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    rc = kafu_fail(err, KAFU_E_IO, "%s: fork failed: %s", label, strerror(errno));
    goto out;
  }
  if (pid == 0) {
    alarm(CHILD_TIME_LIMIT_S); /* a wedged child must not hang the caller forever */
    child_run(fileno(res_file), fileno(log_file), wasm, len, in_meta, opts);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  res = read_fd(fileno(res_file), &res_len);
  kafu_rd r = kafu_rd_init(res, res ? res_len : 0);
  uint8_t stage = kafu_rd_u8(&r);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || stage != STAGE_DONE) {
    char line[256];
    first_log_line(fileno(log_file), NULL, line, sizeof line);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
      rc = kafu_fail(err, KAFU_E_INTERNAL, "%s: snapify gave up after %d s", label,
                     CHILD_TIME_LIMIT_S);
    else if (stage == STAGE_TRANSFORMING)
      rc = kafu_fail(err, KAFU_E_INTERNAL, "%s: snapify failed while transforming%s%s", label,
                     line[0] ? ": " : "", line);
    else
      rc = kafu_fail(err, KAFU_E_INPUT, "%s: binaryen rejected the module%s%s", label,
                     line[0] ? ": " : "", line);
    goto out;
  }
  uint32_t child_rc = kafu_rd_u32le(&r);
  uint32_t msg_len = kafu_rd_u32le(&r);
  const uint8_t *msg = kafu_rd_bytes(&r, msg_len);
  uint64_t wasm_len = kafu_rd_u64le(&r);
  const uint8_t *wasm_out = r.bad || wasm_len > kafu_rd_left(&r) ? NULL : kafu_rd_bytes(&r, (size_t)wasm_len);
  uint64_t meta_len = kafu_rd_u64le(&r);
  const uint8_t *meta = r.bad || meta_len > kafu_rd_left(&r) ? NULL : kafu_rd_bytes(&r, (size_t)meta_len);
  if (r.bad || !msg) {
    rc = kafu_fail(err, KAFU_E_INTERNAL, "%s: snapify child returned a malformed result", label);
    goto out;
  }
  if (child_rc != KAFU_OK) {
    rc = kafu_fail(err, (kafu_err)child_rc, "%.*s", (int)msg_len, (const char *)msg);
    goto out;
  }
  /* Asyncify only warns when an only-list entry matches no function; the
   * output would then lack instrumentation the call graph asked for. */
  char warning[256];
  first_log_line(fileno(log_file), "Asyncify", warning, sizeof warning);
  if (warning[0]) {
    rc = kafu_fail(err, KAFU_E_INTERNAL, "%s: %s", label, warning);
    goto out;
  }
  if (!wasm_out || !meta) {
    rc = kafu_fail(err, KAFU_E_INTERNAL, "%s: snapify child returned a malformed result", label);
    goto out;
  }
  if ((rc = kafu_meta_decode(meta, (size_t)meta_len, out_meta, err)) != KAFU_OK) goto out;
  *out = malloc(wasm_len ? (size_t)wasm_len : 1);
  if (!*out) {
    kafu_meta_free(out_meta);
    rc = kafu_fail(err, KAFU_E_NOMEM, "%s: out of memory", label);
    goto out;
  }
  memcpy(*out, wasm_out, (size_t)wasm_len);
  *out_len = (size_t)wasm_len;
out:
  free(res);
  if (res_file) fclose(res_file);
  if (log_file) fclose(log_file);
  return rc;
}

/* Copies `in` without the old kafu section and DWARF (.debug_*) sections,
 * which Binaryen would otherwise carry over stale. Reads the old kafu section. */
static kafu_err prepare_input(const uint8_t *in, size_t len, const char *label, kafu_buf *clean,
                              kafu_meta *in_meta, uint32_t *code_before, kafu_error *err) {
  kafu_wasm_section_iter it;
  kafu_wasm_section sec;
  bool done = false, have_meta = false;
  kafu_err rc = kafu_snapify_sections_begin(&it, in, len, label, err);
  if (rc != KAFU_OK) return rc;
  kafu_buf_append(clean, in, 8);
  *code_before = 0;
  for (;;) {
    if ((rc = kafu_snapify_sections_next(&it, &sec, &done, err)) != KAFU_OK) return rc;
    if (done) break;
    if (sec.id == KAFU_WASM_SECTION_CODE) *code_before = (uint32_t)sec.body_len;
    if (kafu_snapify_section_is(&sec, "kafu")) {
      if (have_meta)
        return kafu_fail(err, KAFU_E_INPUT, "%s: more than one kafu section", label);
      if ((rc = kafu_meta_decode(sec.body, sec.body_len, in_meta, err)) != KAFU_OK)
        return kafu_error_prefix(err, label);
      have_meta = true;
      continue;
    }
    if (sec.id == KAFU_WASM_SECTION_CUSTOM && sec.name_len >= 7 &&
        memcmp(sec.name, ".debug_", 7) == 0)
      continue;
    kafu_buf_append(clean, in + sec.start, sec.end - sec.start);
  }
  if (have_meta && (in_meta->flags & KAFU_META_FLAG_SNAPIFIED))
    return kafu_fail(err, KAFU_E_INPUT, "%s: module is already snapified", label);
  if (clean->failed) return kafu_fail(err, KAFU_E_NOMEM, "%s: out of memory", label);
  return KAFU_OK;
}

kafu_err kafu_snapify(const uint8_t *in, size_t in_len, const kafu_snapify_options *opts,
                      kafu_buf *out, kafu_error *err) {
  const char *label = opts && opts->label ? opts->label : "module";
  kafu_snapify_options local = {0};
  if (!opts) opts = &local;
  kafu_buf clean = {0}, section = {0};
  kafu_meta in_meta = {0}, meta = {0};
  uint8_t *wasm = NULL;
  size_t wasm_len = 0;
  uint32_t code_before = 0, code_after = 0;
  kafu_err rc = prepare_input(in, in_len, label, &clean, &in_meta, &code_before, err);
  if (rc != KAFU_OK) goto out;
  kafu_snapify_options run_opts = *opts;
  run_opts.label = label;
  /* KAFU_SNAPIFY_INPROCESS=1 is for debugging with gdb. Once Binaryen ran in
   * this process its thread pool exists, and a forked child would wait for
   * threads it does not have: stay in-process from then on. */
  const char *inprocess = getenv("KAFU_SNAPIFY_INPROCESS");
  if (inprocess && inprocess[0] == '1') binaryen_in_process = true;
  if (binaryen_in_process)
    rc = kafu_snapify_transform(clean.data, clean.len, &in_meta, &run_opts, &wasm, &wasm_len, &meta,
                                err);
  else
    rc = run_isolated(clean.data, clean.len, &in_meta, &run_opts, label, &wasm, &wasm_len, &meta,
                      err);
  if (rc != KAFU_OK) goto out;
  if ((rc = kafu_snapify_code_size(wasm, wasm_len, label, &code_after, err)) != KAFU_OK) goto out;
  meta.code_size_before = code_before;
  meta.code_size_after = code_after;
  kafu_meta_encode(&meta, &section);
  kafu_buf_append(out, wasm, wasm_len);
  kafu_snapify_append_custom(out, "kafu", section.data, section.len);
  if (section.failed || out->failed) rc = kafu_fail(err, KAFU_E_NOMEM, "%s: out of memory", label);
out:
  free(wasm);
  kafu_buf_free(&clean);
  kafu_buf_free(&section);
  kafu_meta_free(&in_meta);
  kafu_meta_free(&meta);
  return rc;
}
