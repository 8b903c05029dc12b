/* kafu cc: the driver that compiles annotated C to a migratable wasm32-wasi
 * module with Debian's clang (docs/cc.md). */
#ifndef KAFU_CC_H
#define KAFU_CC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cc/proc.h"
#include "snapify/snapify.h"
#include "util/err.h"

typedef struct kafu_cc_options {
  /* Inputs in command-line order: C sources, objects, archives and -l
   * flags; is_source[i] marks the C sources. */
  kafu_cc_argv inputs;
  bool *is_source;
  kafu_cc_argv compile_flags; /* -I -D -U -O -g -std -W -f -m ... (preprocess + compile) */
  kafu_cc_argv codegen_flags; /* the subset that matters for IR -> object: -O -g -m */
  kafu_cc_argv link_flags;    /* -L -Wl, -Xlinker -m ... */
  const char *output;         /* borrowed from argv; NULL = default */
  bool compile_only;          /* -c */
  bool no_snapify;
  bool verbose; /* -v: print every command */
  bool debug;   /* -g: keep DWARF */
  bool help;
  bool has_archives; /* .a or -l inputs */
  uint32_t state_size;
  kafu_snapify_policy policy;
} kafu_cc_options;

/* Parses kafu cc's command line (argv[0] is "cc"). Kafu's own options may
 * appear anywhere. Errors: KAFU_E_INPUT for an unknown or unsupported flag,
 * a bad --state-size/--policy, or an impossible combination (message names
 * the argument). Free with kafu_cc_options_free even on error. */
kafu_err kafu_cc_parse_args(int argc, char **argv, kafu_cc_options *o, kafu_error *err);
void kafu_cc_options_free(kafu_cc_options *o);

/* Prints the --help text. */
void kafu_cc_usage(FILE *out);

/* Runs the whole build described by o: compile, check annotations, link with
 * the support library, write the kafu section, snapify, and write the output
 * atomically (nothing is left behind on failure). Intermediate files live in
 * a private temp directory removed before returning.
 * On a failing tool (clang, wasm-ld) its diagnostics are shown,
 * *tool_status gets its exit status and the error is KAFU_E_IO. Other errors:
 * KAFU_E_INPUT for bad input (annotation misuse, missing functions),
 * KAFU_E_IO, KAFU_E_NOMEM. SIGINT/SIGTERM/SIGHUP stop the build, the temp
 * dir is removed, and the signal is raised again. */
kafu_err kafu_cc_build(const kafu_cc_options *o, int *tool_status, kafu_error *err);

/* Finds the root holding include/kafu.h and wasm-support/kafu_support.c
 * (docs/cc.md) and copies its path into out. Errors: KAFU_E_IO if none. */
kafu_err kafu_cc_support_root(char *out, size_t cap, kafu_error *err);

#endif
