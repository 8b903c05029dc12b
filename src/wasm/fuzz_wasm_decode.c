/* libFuzzer target: decode and validate arbitrary bytes as a Wasm module.
 * Build: clang -fsanitize=fuzzer,address -Isrc src/wasm/fuzz_wasm_decode.c src/wasm/{decode,validate,opcodes}.c src/util/{buf,err}.c */
#include <stddef.h>
#include <stdint.h>

#include "wasm/module.h"
#include "wasm/validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  kafu_wasm_module *m = NULL;
  kafu_error err;
  if (kafu_wasm_decode(data, size, "fuzz.wasm", &m, &err) == KAFU_OK) {
    (void)kafu_wasm_validate(m, NULL, &err);
    kafu_wasm_module_free(m);
  }
  return 0;
}
