/* libFuzzer target: the interpreter's load path (decode, validate, compile)
 * and instantiation on arbitrary bytes; exported nullary functions are run
 * with a small call-depth limit. */
#include <stddef.h>
#include <stdint.h>

#include "engine/interp/interp_api.h"
#include "wasm/module.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const kafu_engine_ops *ops = &kafu_engine_interp_ops;
  kafu_engine_options opts = {.max_call_depth = 200};
  kafu_engine_set_options(&opts);
  kafu_engine_module *mod = NULL;
  kafu_error err;
  if (ops->load(data, size, "fuzz.wasm", &mod, &err) != KAFU_OK) return 0;
  kafu_engine_instance *inst = NULL;
  if (ops->instantiate(mod, NULL, 0, &inst, &err) == KAFU_OK) ops->instance_free(inst);
  ops->module_free(mod);
  return 0;
}
