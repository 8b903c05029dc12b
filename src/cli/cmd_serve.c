/* kafu serve: not implemented yet (placeholder until its issue lands). */
#include <stdio.h>

#include "cli/cli.h"

int kafu_cmd_serve(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "kafu serve: not implemented yet\n");
  return 1;
}
