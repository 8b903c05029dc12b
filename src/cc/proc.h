/* Child processes and the private temp directory of one kafu cc run. */
#ifndef KAFU_CC_PROC_H
#define KAFU_CC_PROC_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

/* An owned, NULL-terminated argument vector. Pushes copy the string; an
 * allocation failure sticks in `failed` and later pushes are no-ops. */
typedef struct kafu_cc_argv {
  size_t n, cap;
  char **v;
  bool failed;
} kafu_cc_argv;

void kafu_cc_argv_push(kafu_cc_argv *a, const char *arg);
void kafu_cc_argv_pushf(kafu_cc_argv *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void kafu_cc_argv_free(kafu_cc_argv *a);

/* Runs a->v[0] (looked up in PATH) and waits for it. stdout goes to
 * stdout_path and stderr to stderr_path when they are not NULL (created or
 * truncated), else they are inherited. With verbose the command line is
 * printed on stderr first. *status is the exit status, or 128 + signal.
 * Errors: KAFU_E_IO when the program cannot be started (message names it). */
kafu_err kafu_cc_spawn(const kafu_cc_argv *a, const char *stdout_path, const char *stderr_path,
                       bool verbose, int *status, kafu_error *err);

/* While a build runs, SIGINT/SIGTERM/SIGHUP do not kill kafu cc at once:
 * the running tool is stopped and kafu_cc_spawn fails, so the caller still
 * removes its temp dir. kafu_cc_signals_restore puts the old handlers back
 * and re-raises a signal that arrived meanwhile. */
void kafu_cc_signals_catch(void);
void kafu_cc_signals_restore(void);
/* The signal caught since kafu_cc_signals_catch, or 0. */
int kafu_cc_signal_pending(void);

/* Creates a private directory under $TMPDIR (or /tmp) into out. */
kafu_err kafu_cc_tmpdir_create(char *out, size_t cap, kafu_error *err);
/* Removes the directory and the files directly inside it. */
void kafu_cc_tmpdir_remove(const char *dir);

#endif
