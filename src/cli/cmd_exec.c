/* kafu exec: not implemented yet (placeholder until its issue lands). */
#include <stdio.h>

#include "cli/cli.h"

int kafu_cmd_exec(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "kafu exec: not implemented yet\n");
  return 1;
}
