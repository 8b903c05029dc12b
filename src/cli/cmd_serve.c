/* kafu serve: run one node's daemon from kafu.yaml until a signal, a
 * SHUTDOWN message, or the loss of the coordinator (per the config). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "node/config.h"
#include "node/daemon.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: kafu serve --config kafu.yaml --node NAME [options]\n"
          "\n"
          "Runs node NAME of the cluster: listens on its address and port, runs the\n"
          "jobs submitted or migrated to it, and logs one line per event on stderr.\n"
          "\n"
          "options:\n"
          "  --config FILE        the cluster configuration (kafu.yaml)\n"
          "  --node NAME          which node of the config this process is\n"
          "  --chaos-every N      --chaos jobs migrate on average every N points (default 1)\n"
          "  --cache-dir DIR      where the aot engine caches compiled modules\n"
          "  -h, --help           this help\n");
}

int kafu_cmd_serve(int argc, char **argv) {
  enum { O_CONFIG = 256, O_NODE, O_CHAOS_EVERY, O_CACHE };
  static const struct option longopts[] = {
      {"config", required_argument, 0, O_CONFIG},
      {"node", required_argument, 0, O_NODE},
      {"chaos-every", required_argument, 0, O_CHAOS_EVERY},
      {"cache-dir", required_argument, 0, O_CACHE},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0},
  };
  const char *config_path = NULL, *node = NULL, *cache_dir = NULL;
  kafu_node_serve_opts opts = {0};
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (c) {
    case O_CONFIG: config_path = optarg; break;
    case O_NODE: node = optarg; break;
    case O_CACHE: cache_dir = optarg; break;
    case O_CHAOS_EVERY: {
      char *end = NULL;
      unsigned long v = strtoul(optarg, &end, 10);
      if (!*optarg || *end || v == 0 || v > 1000000000ul)
        return kafu_cli_usage_error("serve", "--chaos-every needs a positive integer, got '%s'",
                                    optarg);
      opts.chaos_every = (uint32_t)v;
      break;
    }
    case 'h': usage(stdout); return 0;
    default:
      return kafu_cli_usage_error("serve", "unknown option or missing value '%s'",
                                  argv[optind - 1]);
    }
  }
  if (optind < argc) return kafu_cli_usage_error("serve", "unexpected argument '%s'", argv[optind]);
  if (!config_path) return kafu_cli_usage_error("serve", "missing --config kafu.yaml");
  if (!node) return kafu_cli_usage_error("serve", "missing --node NAME");

  kafu_engine_options eopts = {.cache_dir = cache_dir, .quiet = 1};
  kafu_engine_set_options(&eopts);
  kafu_config cfg;
  kafu_error err = {0};
  int status = 0;
  if (kafu_config_load(config_path, &cfg, &err) || kafu_node_serve(&cfg, node, &opts, &err))
    status = kafu_cli_report("serve", &err);
  kafu_config_free(&cfg);
  return status;
}
