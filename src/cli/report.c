/* Shared CLI error reporting: one line on stderr, the right exit status. */
#include <stdarg.h>
#include <stdio.h>

#include "cli/cli.h"

int kafu_cli_report(const char *cmd, const kafu_error *err) {
  fprintf(stderr, "kafu %s: %s\n", cmd, err->msg[0] ? err->msg : kafu_err_name(err->code));
  return kafu_err_exit_status(err->code);
}

int kafu_cli_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "kafu %s: ", cmd);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, " (see kafu %s --help)\n", cmd);
  va_end(ap);
  return 2;
}
