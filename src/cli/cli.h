/* The kafu command-line tool: one file per subcommand, dispatched by main.c.
 * Every command returns a process exit status: the program's own code when it
 * ran, 2 for a usage error or bad input, 1 for an internal failure. */
#ifndef KAFU_CLI_H
#define KAFU_CLI_H

#include "util/err.h"

int kafu_cmd_cc(int argc, char **argv);
int kafu_cmd_snapify(int argc, char **argv);
int kafu_cmd_inspect(int argc, char **argv);
int kafu_cmd_exec(int argc, char **argv);
int kafu_cmd_serve(int argc, char **argv);
int kafu_cmd_run(int argc, char **argv);
int kafu_cmd_offload(int argc, char **argv);
int kafu_cmd_resume(int argc, char **argv);

/* Prints "kafu <cmd>: <msg>" on stderr and returns the exit status for err. */
int kafu_cli_report(const char *cmd, const kafu_error *err);
/* Prints a usage error ("kafu <cmd>: <msg>; see kafu <cmd> --help") and returns 2. */
int kafu_cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
