/* Spawning clang and friends with redirected output, and the temp directory
 * that holds every intermediate file of one kafu cc run. */
#include "cc/proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const int caught_signals[] = {SIGINT, SIGTERM, SIGHUP};
#define N_CAUGHT (sizeof caught_signals / sizeof caught_signals[0])
static struct sigaction saved_actions[N_CAUGHT];
static volatile sig_atomic_t pending_signal;

static void on_signal(int sig) {
  pending_signal = sig;
}

void kafu_cc_signals_catch(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal; /* no SA_RESTART: waitpid returns EINTR */
  sigemptyset(&sa.sa_mask);
  pending_signal = 0;
  for (size_t i = 0; i < N_CAUGHT; i++)
    sigaction(caught_signals[i], &sa, &saved_actions[i]);
}

int kafu_cc_signal_pending(void) {
  return pending_signal;
}

void kafu_cc_signals_restore(void) {
  for (size_t i = 0; i < N_CAUGHT; i++)
    sigaction(caught_signals[i], &saved_actions[i], NULL);
  if (pending_signal) {
    int sig = pending_signal;
    pending_signal = 0;
    signal(sig, SIG_DFL);
    raise(sig);
  }
}

void kafu_cc_argv_push(kafu_cc_argv *a, const char *arg) {
  if (a->failed) return;
  if (a->n + 2 > a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 16;
    char **v = realloc(a->v, cap * sizeof *v);
    if (!v) {
      a->failed = true;
      return;
    }
    a->v = v;
    a->cap = cap;
  }
  char *copy = strdup(arg);
  if (!copy) {
    a->failed = true;
    return;
  }
  a->v[a->n++] = copy;
  a->v[a->n] = NULL;
}

void kafu_cc_argv_pushf(kafu_cc_argv *a, const char *fmt, ...) {
  char text[4096];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof text) {
    a->failed = true;
    return;
  }
  kafu_cc_argv_push(a, text);
}

void kafu_cc_argv_free(kafu_cc_argv *a) {
  for (size_t i = 0; i < a->n; i++)
    free(a->v[i]);
  free(a->v);
  memset(a, 0, sizeof *a);
}

static void print_command(const kafu_cc_argv *a) {
  for (size_t i = 0; i < a->n; i++) {
    const char *arg = a->v[i];
    bool plain = arg[0] && strspn(arg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                       "0123456789-_=./,:+@%") == strlen(arg);
    fprintf(stderr, plain ? "%s%s" : "%s'%s'", i ? " " : "", arg);
  }
  fputc('\n', stderr);
}

kafu_err kafu_cc_spawn(const kafu_cc_argv *a, const char *stdout_path, const char *stderr_path,
                       bool verbose, int *status, kafu_error *err) {
  if (a->failed || !a->n) return kafu_fail(err, KAFU_E_NOMEM, "out of memory building a command");
  if (pending_signal)
    return kafu_fail(err, KAFU_E_IO, "interrupted by signal %d", (int)pending_signal);
  if (verbose) print_command(a);
  fflush(stdout);
  fflush(stderr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (stdout_path)
    posix_spawn_file_actions_addopen(&actions, 1, stdout_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (stderr_path)
    posix_spawn_file_actions_addopen(&actions, 2, stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid;
  int rc = posix_spawnp(&pid, a->v[0], &actions, NULL, a->v, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return kafu_fail(err, KAFU_E_IO, "cannot run %s: %s", a->v[0], strerror(rc));
  int wstatus;
  bool stopped = false;
  while (waitpid(pid, &wstatus, 0) < 0) {
    if (errno != EINTR)
      return kafu_fail(err, KAFU_E_IO, "waiting for %s: %s", a->v[0], strerror(errno));
    if (pending_signal && !stopped) {
      kill(pid, SIGTERM);
      stopped = true;
    }
  }
  if (pending_signal)
    return kafu_fail(err, KAFU_E_IO, "interrupted by signal %d", (int)pending_signal);
  if (WIFEXITED(wstatus))
    *status = WEXITSTATUS(wstatus);
  else if (WIFSIGNALED(wstatus))
    *status = 128 + WTERMSIG(wstatus);
  else
    *status = 1;
  return KAFU_OK;
}

kafu_err kafu_cc_tmpdir_create(char *out, size_t cap, kafu_error *err) {
  const char *base = getenv("TMPDIR");
  if (!base || !*base) base = "/tmp";
  int n = snprintf(out, cap, "%s/kafu-cc-XXXXXX", base);
  if (n < 0 || (size_t)n >= cap) return kafu_fail(err, KAFU_E_INPUT, "TMPDIR too long: %s", base);
  if (!mkdtemp(out))
    return kafu_fail(err, KAFU_E_IO, "%s: cannot create: %s", out, strerror(errno));
  return KAFU_OK;
}

void kafu_cc_tmpdir_remove(const char *dir) {
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d))) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < sizeof path) unlink(path);
    }
    closedir(d);
  }
  rmdir(dir);
}
