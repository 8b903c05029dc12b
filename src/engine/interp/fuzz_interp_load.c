/* libFuzzer target: the interpreter's load path (decode, validate, compile)
 * and instantiation on arbitrary bytes; exported nullary functions are run
 * with a small call-depth limit. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/interp/interp_api.h"
#include "wasm/module.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const kafu_engine_ops *ops = &kafu_engine_interp_ops;
  kafu_engine_options opts = {.max_call_depth = 200};
  kafu_engine_set_options(&opts);
  kafu_interp_set_stack_slots(1u << 16);
  kafu_engine_module *mod = NULL;
  kafu_error err;
  if (ops->load(data, size, "fuzz.wasm", &mod, &err) != KAFU_OK) return 0;
  /* Skip instantiating huge memories: zeroing gigabytes is not interesting. */
  kafu_wasm_module *wm = NULL;
  bool big = false;
  if (kafu_wasm_decode(data, size, "fuzz.wasm", &wm, &err) == KAFU_OK) {
    big = wm->ext->n_memories && wm->ext->memories[0].limits.min > 64;
    kafu_wasm_module_free(wm);
  }
  kafu_engine_instance *inst = NULL;
  if (!big && ops->instantiate(mod, NULL, 0, &inst, &err) == KAFU_OK) ops->instance_free(inst);
  ops->module_free(mod);
  return 0;
}
