/* kafu inspect: not implemented yet (placeholder until its issue lands). */
#include <stdio.h>

#include "cli/cli.h"

int kafu_cmd_inspect(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "kafu inspect: not implemented yet\n");
  return 1;
}
