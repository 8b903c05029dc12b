/* kafu snapify: the binary transformer on its own (see src/snapify/snapify.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "snapify/snapify.h"
#include "util/file.h"

#define CMD "snapify"

static void usage(FILE *out) {
  fprintf(out,
          "usage: kafu snapify IN.wasm -o OUT.wasm [options]\n"
          "\n"
          "Makes a wasm module migratable: wraps annotated functions with kafu.enter/leave,\n"
          "puts countdown polls at loop heads of MAY_OFFLOAD regions and runs Asyncify on\n"
          "the functions that can reach a migration point. Annotations come from the\n"
          "module's kafu section and from the options below.\n"
          "\n"
          "options:\n"
          "  -o, --output FILE      where to write the result (required)\n"
          "      --policy kafu|always\n"
          "                         kafu (default): only annotated functions;\n"
          "                         always: a point in every function and a poll in every loop\n"
          "      --dest FN=NODE     run function FN on node NODE (KAFU_DEST)\n"
          "      --offload FN=NODE  FN may be offloaded to NODE (KAFU_MAY_OFFLOAD)\n"
          "      --state-size N     bytes of the migration state region (default 65536)\n"
          "  -h, --help             show this help\n");
}

/* Splits "FN=NODE" into an annotation; returns 0 or a usage error status. */
static int parse_annotation(const char *opt, char *arg, kafu_site_kind kind,
                            kafu_snapify_annotation *out) {
  char *eq = strchr(arg, '=');
  if (!eq || eq == arg || !eq[1])
    return kafu_cli_usage_error(CMD, "--%s expects FN=NODE, got '%s'", opt, arg);
  *eq = '\0';
  out->kind = kind;
  out->func = arg;
  out->node = eq + 1;
  return 0;
}

int kafu_cmd_snapify(int argc, char **argv) {
  enum { OPT_POLICY = 256, OPT_DEST, OPT_OFFLOAD, OPT_STATE_SIZE };
  static const struct option long_opts[] = {
      {"output", required_argument, NULL, 'o'},
      {"policy", required_argument, NULL, OPT_POLICY},
      {"dest", required_argument, NULL, OPT_DEST},
      {"offload", required_argument, NULL, OPT_OFFLOAD},
      {"state-size", required_argument, NULL, OPT_STATE_SIZE},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  kafu_snapify_options opts = {0};
  kafu_snapify_annotation *extra = calloc((size_t)argc + 1, sizeof *extra);
  const char *output = NULL;
  int status = 2;
  uint8_t *in = NULL;
  size_t in_len = 0;
  kafu_buf out = {0};
  kafu_error err = {0};
  if (!extra) {
    fprintf(stderr, "kafu snapify: out of memory\n");
    return 1;
  }
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, ":o:h", long_opts, NULL)) != -1) {
    switch (c) {
    case 'o': output = optarg; break;
    case 'h': usage(stdout); status = 0; goto out;
    case OPT_POLICY:
      if (!strcmp(optarg, "kafu")) {
        opts.policy = KAFU_POLICY_KAFU;
      } else if (!strcmp(optarg, "always")) {
        opts.policy = KAFU_POLICY_ALWAYS;
      } else {
        status = kafu_cli_usage_error(CMD, "unknown policy '%s' (want kafu or always)", optarg);
        goto out;
      }
      break;
    case OPT_DEST:
    case OPT_OFFLOAD:
      if ((status = parse_annotation(c == OPT_DEST ? "dest" : "offload", optarg,
                                     c == OPT_DEST ? KAFU_SITE_DEST : KAFU_SITE_OFFLOAD,
                                     &extra[opts.n_extra])) != 0)
        goto out;
      opts.n_extra++;
      status = 2;
      break;
    case OPT_STATE_SIZE: {
      char *end = NULL;
      unsigned long long v = strtoull(optarg, &end, 0);
      if (!optarg[0] || *end || optarg[0] == '-' || v < 1024 || v > 0x40000000ull) {
        status = kafu_cli_usage_error(CMD, "--state-size wants a byte count from 1024 to 1 GiB, got '%s'",
                                      optarg);
        goto out;
      }
      opts.state_size = (uint32_t)v;
      break;
    }
    case ':':
      status = kafu_cli_usage_error(CMD, "option '%s' needs an argument", argv[optind - 1]);
      goto out;
    default:
      status = kafu_cli_usage_error(CMD, "unknown option '%s'", argv[optind - 1]);
      goto out;
    }
  }
  if (optind >= argc) {
    status = kafu_cli_usage_error(CMD, "missing input module");
    goto out;
  }
  if (argc - optind > 1) {
    status = kafu_cli_usage_error(CMD, "more than one input module ('%s', '%s')", argv[optind],
                                  argv[optind + 1]);
    goto out;
  }
  if (!output) {
    status = kafu_cli_usage_error(CMD, "missing -o OUT.wasm");
    goto out;
  }
  const char *input = argv[optind];
  opts.extra = extra;
  opts.label = input;
  if (kafu_file_read(input, &in, &in_len, &err) != KAFU_OK ||
      kafu_snapify(in, in_len, &opts, &out, &err) != KAFU_OK ||
      kafu_file_write(output, out.data, out.len, &err) != KAFU_OK) {
    status = kafu_cli_report(CMD, &err);
    /* A module snapify refuses (table writes, tail calls, GC code) is bad
     * input from the user's point of view, not an internal failure. */
    if (err.code == KAFU_E_UNSUPPORTED || err.code == KAFU_E_LIMIT) status = 2;
    goto out;
  }
  status = 0;
out:
  free(extra);
  free(in);
  kafu_buf_free(&out);
  return status;
}
