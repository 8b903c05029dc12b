/* Running the external tools (wasm2c, cc) with their output captured, and
 * noticing when a run is slow enough to deserve a progress line. */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/aot/aot_int.h"

extern char **environ;

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

kafu_err kafu_aot_run(const char *const *argv, char **output, int *exit_status, double slow_after,
                      void (*on_slow)(void *ud), void *ud, kafu_error *err) {
  kafu_err rc = KAFU_OK;
  kafu_buf out = {0};
  int pipe_fds[2] = {-1, -1};
  posix_spawn_file_actions_t actions;
  int actions_ready = 0;
  pid_t pid = -1;

  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    rc = kafu_fail(err, KAFU_E_IO, "pipe: %s", strerror(errno));
    goto out;
  }
  if (posix_spawn_file_actions_init(&actions) != 0) {
    rc = kafu_fail(err, KAFU_E_NOMEM, "out of memory");
    goto out;
  }
  actions_ready = 1;
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
  int spawn_rc = posix_spawnp(&pid, argv[0], &actions, NULL, (char *const *)argv, environ);
  if (spawn_rc != 0) {
    pid = -1;
    rc = kafu_fail(err, KAFU_E_IO, "cannot run %s: %s", argv[0], strerror(spawn_rc));
    goto out;
  }
  close(pipe_fds[1]);
  pipe_fds[1] = -1;

  double start = now_seconds();
  int slow_reported = (on_slow == NULL);
  for (;;) {
    struct pollfd pfd = {.fd = pipe_fds[0], .events = POLLIN};
    int timeout_ms = slow_reported ? -1 : 50;
    int n = poll(&pfd, 1, timeout_ms);
    if (n < 0 && errno != EINTR) break;
    if (n > 0) {
      char chunk[4096];
      ssize_t got = read(pipe_fds[0], chunk, sizeof chunk);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) break; /* EOF: the child closed its output */
      kafu_buf_append(&out, chunk, (size_t)got);
    }
    if (!slow_reported && now_seconds() - start >= slow_after) {
      slow_reported = 1;
      on_slow(ud);
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      rc = kafu_fail(err, KAFU_E_IO, "waitpid %s: %s", argv[0], strerror(errno));
      goto out;
    }
  }
  pid = -1;
  *exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  kafu_buf_u8(&out, 0);
  if (out.failed) {
    rc = kafu_fail(err, KAFU_E_NOMEM, "out of memory capturing %s output", argv[0]);
    goto out;
  }
  size_t len;
  *output = (char *)kafu_buf_take(&out, &len);
out:
  if (pid > 0) {
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (actions_ready) posix_spawn_file_actions_destroy(&actions);
  if (pipe_fds[0] >= 0) close(pipe_fds[0]);
  if (pipe_fds[1] >= 0) close(pipe_fds[1]);
  kafu_buf_free(&out);
  return rc;
}
