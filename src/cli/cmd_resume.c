/* kafu resume: not implemented yet (placeholder until its issue lands). */
#include <stdio.h>

#include "cli/cli.h"

int kafu_cmd_resume(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "kafu resume: not implemented yet\n");
  return 1;
}
