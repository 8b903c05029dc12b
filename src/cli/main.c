/* kafu: entry point; dispatches to one subcommand per file in src/cli. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

typedef struct {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} command;

static const command commands[] = {
    {"cc", kafu_cmd_cc, "compile annotated C to migratable Wasm"},
    {"snapify", kafu_cmd_snapify, "insert migration points into a Wasm module"},
    {"inspect", kafu_cmd_inspect, "show a module's sites, nodes and instrumentation"},
    {"exec", kafu_cmd_exec, "run a module on this node (optionally forcing migrations)"},
    {"serve", kafu_cmd_serve, "run one node's daemon"},
    {"run", kafu_cmd_run, "start a local cluster from kafu.yaml and run the program"},
    {"offload", kafu_cmd_offload, "ask a node to offload its MAY_OFFLOAD work now"},
    {"resume", kafu_cmd_resume, "continue a job from a saved snapshot"},
};

static void usage(FILE *out) {
  fprintf(out, "usage: kafu <command> [options]\n\ncommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
  fprintf(out, "\nRun 'kafu <command> --help' for a command's options.\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(stdout);
    return 0;
  }
  if (!strcmp(argv[1], "--version")) {
    printf("kafu 0.1.0\n");
    return 0;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
  fprintf(stderr, "kafu: unknown command '%s' (see kafu --help)\n", argv[1]);
  return 2;
}
