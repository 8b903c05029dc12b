/* libFuzzer target for the kafu.yaml loader: any bytes either load into a
 * config whose invariants hold or are refused as bad input (or unsupported,
 * for app.url) with a "name:line:" message. */
#include <stdlib.h>
#include <string.h>

#include "node/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  kafu_config cfg;
  kafu_error err;
  kafu_err e = kafu_config_parse("fuzz.yaml", "/cfg", data, size, &cfg, &err);
  if (e == KAFU_OK) {
    if (!cfg.name || !*cfg.name || !cfg.app_path || cfg.app_path[0] != '/' || cfg.n_nodes == 0) abort();
    for (size_t i = 0; i < cfg.n_nodes; i++) {
      const kafu_config_node *n = &cfg.nodes[i];
      if (!n->name || !n->address || !*n->address || n->port == 0 || !n->state_dir) abort();
      if (kafu_config_find_node(&cfg, n->name) != n) abort(); /* names are unique */
    }
  } else {
    if (e != KAFU_E_INPUT && e != KAFU_E_UNSUPPORTED && e != KAFU_E_NOMEM) abort();
    if (strncmp(err.msg, "fuzz.yaml", 9) != 0) abort();
    if (cfg.nodes || cfg.name) abort(); /* a refused config holds nothing */
  }
  kafu_config_free(&cfg);
  return 0;
}
