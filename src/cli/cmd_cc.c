/* kafu cc: compile annotated C to a migratable wasm32-wasi module
 * (the driver lives in src/cc; docs/cc.md). */
#include <stdio.h>

#include "cc/cc.h"
#include "cli/cli.h"

int kafu_cmd_cc(int argc, char **argv) {
  kafu_cc_options opts;
  kafu_error err = {0};
  int status;
  kafu_err rc = kafu_cc_parse_args(argc, argv, &opts, &err);
  if (rc) {
    status = kafu_cli_usage_error("cc", "%s", err.msg);
    goto out;
  }
  if (opts.help) {
    kafu_cc_usage(stdout);
    status = 0;
    goto out;
  }
  int tool_status = 0;
  rc = kafu_cc_build(&opts, &tool_status, &err);
  if (!rc) {
    status = 0;
  } else if (tool_status) {
    /* clang already printed its diagnostics; its status is ours. */
    fprintf(stderr, "kafu cc: %s\n", err.msg);
    status = tool_status < 256 ? tool_status : 1;
  } else {
    status = kafu_cli_report("cc", &err);
  }
out:
  kafu_cc_options_free(&opts);
  return status;
}
