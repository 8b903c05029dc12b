/* The engine registry: maps names to the built-in engines' operation tables. */
#include "engine/engine.h"

#include <string.h>

extern const kafu_engine_ops kafu_engine_interp_ops __attribute__((weak));
extern const kafu_engine_ops kafu_engine_aot_ops __attribute__((weak));

static kafu_engine_options g_opts;

const kafu_engine_ops *kafu_engine_find(const char *name) {
  if (!name) return NULL;
  if (!strcmp(name, "interp")) return &kafu_engine_interp_ops ? &kafu_engine_interp_ops : NULL;
  if (!strcmp(name, "aot")) return &kafu_engine_aot_ops ? &kafu_engine_aot_ops : NULL;
  return NULL;
}

void kafu_engine_set_options(const kafu_engine_options *opts) { g_opts = *opts; }
const kafu_engine_options *kafu_engine_get_options(void) { return &g_opts; }
