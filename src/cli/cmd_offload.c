/* kafu offload: not implemented yet (placeholder until its issue lands). */
#include <stdio.h>

#include "cli/cli.h"

int kafu_cmd_offload(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "kafu offload: not implemented yet\n");
  return 1;
}
