/* kafu offload: ask a running node to move its MAY_OFFLOAD work now; each
 * job moves at its next poll to the node its annotation names. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "node/client.h"
#include "node/config.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: kafu offload --config kafu.yaml --node NAME\n"
          "\n"
          "Sends OFFLOAD_NOW to node NAME: its running jobs inside a KAFU_MAY_OFFLOAD\n"
          "region move to the region's node at their next poll.\n");
}

int kafu_cmd_offload(int argc, char **argv) {
  enum { O_CONFIG = 256, O_NODE };
  static const struct option longopts[] = {
      {"config", required_argument, 0, O_CONFIG},
      {"node", required_argument, 0, O_NODE},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0},
  };
  const char *config_path = NULL, *node = NULL;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (c) {
    case O_CONFIG: config_path = optarg; break;
    case O_NODE: node = optarg; break;
    case 'h': usage(stdout); return 0;
    default:
      return kafu_cli_usage_error("offload", "unknown option or missing value '%s'",
                                  argv[optind - 1]);
    }
  }
  if (optind < argc) return kafu_cli_usage_error("offload", "unexpected argument '%s'", argv[optind]);
  if (!config_path) return kafu_cli_usage_error("offload", "missing --config kafu.yaml");
  if (!node) return kafu_cli_usage_error("offload", "missing --node NAME");
  kafu_config cfg;
  kafu_error err = {0};
  int status = 0, fd = -1;
  if (kafu_config_load(config_path, &cfg, &err)) goto fail;
  const kafu_config_node *n = kafu_config_find_node(&cfg, node);
  if (!n) {
    kafu_fail(&err, KAFU_E_INPUT, "%s: no node '%s'", config_path, node);
    goto fail;
  }
  if (kafu_node_client_connect(&cfg, n, "kafu-offload", 3000, &fd, &err) ||
      kafu_node_client_offload(fd, "", 3000, &err))
    goto fail;
  fprintf(stderr, "kafu offload: %s will offload its MAY_OFFLOAD work at the next poll\n", node);
  goto out;
fail:
  status = kafu_cli_report("offload", &err);
out:
  if (fd >= 0) close(fd);
  kafu_config_free(&cfg);
  return status;
}
