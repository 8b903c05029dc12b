/* libFuzzer target for the kafu section decoder: each input is decoded as a
 * section payload and scanned as a wasm module; whatever decodes must encode
 * back to the same bytes. Only KAFU_E_INPUT/KAFU_E_NOMEM may come back. */
#include <stdlib.h>
#include <string.h>

#include "snapify/meta.h"

static void check_rc(kafu_err rc) {
  if (rc != KAFU_OK && rc != KAFU_E_INPUT && rc != KAFU_E_NOMEM) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  kafu_meta m;
  kafu_error err;
  kafu_err rc = kafu_meta_decode(data, size, &m, &err);
  check_rc(rc);
  if (rc == KAFU_OK) {
    kafu_buf again = {0};
    kafu_meta_encode(&m, &again);
    if (!again.failed && (again.len != size || memcmp(again.data, data, size) != 0)) abort();
    kafu_buf_free(&again);
    kafu_meta_free(&m);
  }
  bool found = false;
  rc = kafu_meta_read(data, size, &m, &found, &err);
  check_rc(rc);
  if (rc == KAFU_OK && found) kafu_meta_free(&m);
  return 0;
}
