/* libFuzzer target for the snapshot decoder: each input is decoded as given,
 * then again with its checksum (and, for deltas, the baseline hash of a zero
 * baseline) re-sealed, so mutations reach the section parser and zstd. */
#include <stdlib.h>
#include <string.h>

#include "snapshot/internal.h"

static void decode_once(const uint8_t *bytes, size_t len, const uint8_t *baseline,
                        size_t baseline_len) {
  kafu_snapshot s;
  kafu_error err;
  if (kafu_snapshot_decode(bytes, len, NULL, baseline, baseline_len, &s, &err) == KAFU_OK) {
    /* touch what was decoded so ASan checks the sizes we were given */
    size_t mem_len = (size_t)s.mem_pages * KAFU_SNAPSHOT_WASM_PAGE;
    volatile uint8_t sink = 0;
    if (s.mig_stack_len) sink ^= s.mig_stack[s.mig_stack_len - 1];
    if (s.state_len) sink ^= s.state[s.state_len - 1];
    if (s.wasi_len) sink ^= s.wasi[s.wasi_len - 1];
    if (mem_len) sink ^= s.memory[mem_len - 1];
    (void)sink;
    kafu_snapshot_free(&s);
  } else if (err.code != KAFU_E_INPUT && err.code != KAFU_E_NOMEM) {
    abort(); /* hostile bytes may only ever be bad input */
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  decode_once(data, size, NULL, 0);
  if (size < SNAP_HEADER_LEN + SNAP_TRAILER_LEN) return 0;
  uint8_t *copy = malloc(size);
  if (!copy) return 0;
  memcpy(copy, data, size);
  uint8_t *baseline = NULL;
  size_t baseline_len = 0;
  uint32_t base_pages = (uint32_t)copy[SNAP_OFF_BASE_PAGES] |
                        ((uint32_t)copy[SNAP_OFF_BASE_PAGES + 1] << 8) |
                        ((uint32_t)copy[SNAP_OFF_BASE_PAGES + 2] << 16) |
                        ((uint32_t)copy[SNAP_OFF_BASE_PAGES + 3] << 24);
  if ((copy[SNAP_OFF_FLAGS] & SNAP_FLAG_DELTA) && base_pages <= 16) {
    baseline_len = (size_t)base_pages * KAFU_SNAPSHOT_WASM_PAGE;
    baseline = calloc(1, baseline_len ? baseline_len : 1);
    if (baseline) {
      for (size_t i = 0; i < baseline_len; i += 4093)
        baseline[i] = (uint8_t)i;
      kafu_sha256(baseline, baseline_len, copy + SNAP_OFF_BASE_HASH);
    }
  }
  uint64_t sum = kafu_checksum64(copy, size - SNAP_TRAILER_LEN);
  for (int i = 0; i < 8; i++)
    copy[size - 8 + i] = (uint8_t)(sum >> (8 * i));
  decode_once(copy, size, baseline, baseline_len);
  free(baseline);
  free(copy);
  return 0;
}
