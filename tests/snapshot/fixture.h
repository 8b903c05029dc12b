/* Shared helpers for the snapshot unit tests: deterministic memory images,
 * snapshots built around them, and re-sealing the checksum after a test
 * tampers with encoded bytes. Included by tests/unit/snapshot_*_test.c. */
#ifndef KAFU_TEST_SNAPSHOT_FIXTURE_H
#define KAFU_TEST_SNAPSHOT_FIXTURE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/snapshot.h"
#include "util/hash.h"

#define FX_WASM_PAGE 65536u
#define FX_PAGE 4096u
#define FX_HEADER_LEN 112u

static uint64_t fx_rng = 0x9e3779b97f4a7c15ull;

static inline uint64_t fx_next(void) { /* xorshift64* */
  fx_rng ^= fx_rng >> 12;
  fx_rng ^= fx_rng << 25;
  fx_rng ^= fx_rng >> 27;
  return fx_rng * 0x2545f4914f6cdd1dull;
}

static inline void fx_fill_random(uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    p[i] = (uint8_t)(fx_next() >> 56);
}

/* A memory image where roughly one 4 KiB page in `every` holds data; the
 * others are zero. Data pages mix text-like and random bytes. */
static inline uint8_t *fx_sparse_memory(uint32_t wasm_pages, unsigned every) {
  size_t len = (size_t)wasm_pages * FX_WASM_PAGE;
  uint8_t *mem = calloc(1, len ? len : 1);
  for (size_t pg = 0; pg < len / FX_PAGE; pg++) {
    if (fx_next() % every) continue;
    uint8_t *p = mem + pg * FX_PAGE;
    if (pg & 1)
      fx_fill_random(p, FX_PAGE);
    else
      for (size_t i = 0; i < FX_PAGE; i++)
        p[i] = (uint8_t)("kafu heap "[i % 10] + (pg & 3));
  }
  return mem;
}

static inline uint8_t *fx_random_memory(uint32_t wasm_pages) {
  size_t len = (size_t)wasm_pages * FX_WASM_PAGE;
  uint8_t *mem = malloc(len ? len : 1);
  fx_fill_random(mem, len);
  return mem;
}

static uint8_t fx_mig[3] = {1, 2, 3};
static uint8_t fx_state[16] = {0xde, 0xad, 0xbe, 0xef, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0xaa, 0x55};
static uint8_t fx_wasi[5] = {'w', 'a', 's', 'i', '!'};

/* A snapshot borrowing mem and the static section bytes above. */
static inline kafu_snapshot fx_snapshot(uint8_t *mem, uint32_t wasm_pages) {
  kafu_snapshot s;
  memset(&s, 0, sizeof s);
  for (int i = 0; i < KAFU_SHA256_LEN; i++)
    s.module_sha256[i] = (uint8_t)(0x40 + i);
  s.job_id = 0x1122334455667788ull;
  s.seq = 42;
  s.mig_stack = fx_mig;
  s.mig_stack_len = sizeof fx_mig;
  s.state_base = 0x100;
  s.state = fx_state;
  s.state_len = sizeof fx_state;
  s.wasi = fx_wasi;
  s.wasi_len = sizeof fx_wasi;
  s.memory = mem;
  s.mem_pages = wasm_pages;
  return s;
}

/* Recomputes the trailing checksum after a test edited the bytes. */
static inline void fx_seal(uint8_t *bytes, size_t len) {
  uint64_t sum = kafu_checksum64(bytes, len - 8);
  for (int i = 0; i < 8; i++)
    bytes[len - 8 + i] = (uint8_t)(sum >> (8 * i));
}

static inline void fx_put_u32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

#endif
