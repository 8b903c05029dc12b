/* kafu cc: not implemented yet (placeholder until its issue lands). */
#include <stdio.h>

#include "cli/cli.h"

int kafu_cmd_cc(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "kafu cc: not implemented yet\n");
  return 1;
}
