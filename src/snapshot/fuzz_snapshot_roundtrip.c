/* libFuzzer target: encode then decode memory images the fuzzer shapes (page
 * placement, growth since the baseline, zstd on/off) and abort unless the
 * decoded image equals the original. Catches encoder/decoder asymmetry. */
#include <stdlib.h>
#include <string.h>

#include "snapshot/snapshot.h"

#define WASM_PAGE KAFU_SNAPSHOT_WASM_PAGE

/* Applies (page u8, offset u16, value u8) writes from data to mem. */
static void apply_writes(uint8_t *mem, size_t n_pages, const uint8_t *data, size_t len) {
  for (size_t i = 0; i + 4 <= len; i += 4) {
    size_t page = data[i] % n_pages;
    size_t off = (size_t)data[i + 1] | ((size_t)(data[i + 2] & 0x0f) << 8);
    mem[page * KAFU_SNAPSHOT_PAGE + off] = data[i + 3];
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  bool compress = data[0] & 1, delta = data[0] & 2;
  uint32_t mem_pages = 1 + ((data[0] >> 2) & 3);
  uint32_t base_pages = (data[1] & 3) % (mem_pages + 1);
  size_t mem_len = (size_t)mem_pages * WASM_PAGE, base_len = (size_t)base_pages * WASM_PAGE;
  size_t n_pages = mem_len / KAFU_SNAPSHOT_PAGE;
  data += 2;
  size = (size - 2) & ~(size_t)3;
  uint8_t *mem = calloc(1, mem_len);
  uint8_t *base = calloc(1, base_len ? base_len : 1);
  if (!mem || !base) abort();
  apply_writes(mem, n_pages, data, size / 2); /* the baseline's state */
  memcpy(base, mem, base_len);
  apply_writes(mem, n_pages, data + size / 2, size - size / 2); /* then dirtied */

  kafu_snapshot s;
  memset(&s, 0, sizeof s);
  s.memory = mem;
  s.mem_pages = mem_pages;
  s.seq = 1;
  kafu_snapshot_opts opts = {.compress = compress, .level = -1};
  if (delta) {
    opts.baseline = base;
    opts.baseline_len = base_len;
    kafu_sha256(base, base_len, opts.baseline_hash);
  }
  kafu_buf out = {0};
  kafu_error err;
  if (kafu_snapshot_encode(&s, &opts, &out, &err)) abort();
  kafu_snapshot got;
  if (kafu_snapshot_decode(out.data, out.len, NULL, delta ? base : NULL, delta ? base_len : 0, &got,
                           &err))
    abort();
  if (got.mem_pages != mem_pages || memcmp(got.memory, mem, mem_len)) abort();
  kafu_snapshot_free(&got);
  kafu_buf_free(&out);
  free(base);
  free(mem);
  return 0;
}
