/* The interpreter-only edge build (cmake -DKAFU_INTERP_ONLY=ON) has no
 * compiler driver, transformer, AOT engine or daemon: their commands say so. */
#include <stdio.h>

#include "cli/cli.h"

static int not_built(const char *cmd) {
  fprintf(stderr, "kafu %s: not built into this kafu (interpreter-only build)\n", cmd);
  return 2;
}

int kafu_cmd_cc(int argc, char **argv) { return not_built("cc"); }
int kafu_cmd_snapify(int argc, char **argv) { return not_built("snapify"); }
int kafu_cmd_inspect(int argc, char **argv) { return not_built("inspect"); }
int kafu_cmd_serve(int argc, char **argv) { return not_built("serve"); }
int kafu_cmd_run(int argc, char **argv) { return not_built("run"); }
int kafu_cmd_offload(int argc, char **argv) { return not_built("offload"); }
int kafu_cmd_resume(int argc, char **argv) { return not_built("resume"); }
