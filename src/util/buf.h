/* Growable byte buffers for encoders, and bounds-checked cursors for decoders
 * of hostile bytes (wasm, snapshots, wire frames). */
#ifndef KAFU_UTIL_BUF_H
#define KAFU_UTIL_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* An owned, growable byte array. Zero-initialize, then append; free with
 * kafu_buf_free. On allocation failure `failed` sticks and appends are no-ops,
 * so encoders check once at the end. */
typedef struct kafu_buf {
  uint8_t *data;
  size_t len, cap;
  bool failed;
} kafu_buf;

void kafu_buf_free(kafu_buf *b);
bool kafu_buf_reserve(kafu_buf *b, size_t extra);
void kafu_buf_append(kafu_buf *b, const void *src, size_t n);
void kafu_buf_u8(kafu_buf *b, uint8_t v);
void kafu_buf_u16le(kafu_buf *b, uint16_t v);
void kafu_buf_u32le(kafu_buf *b, uint32_t v);
void kafu_buf_u64le(kafu_buf *b, uint64_t v);
void kafu_buf_uleb(kafu_buf *b, uint64_t v);
void kafu_buf_str(kafu_buf *b, const char *s); /* u32le length + bytes */
/* Transfers ownership of the bytes to the caller; b becomes empty. */
uint8_t *kafu_buf_take(kafu_buf *b, size_t *len);

/* A read cursor over borrowed bytes. Every read checks the remaining length;
 * the first failure sets `bad` and later reads return zero. */
typedef struct kafu_rd {
  const uint8_t *p, *end, *start;
  bool bad;
} kafu_rd;

kafu_rd kafu_rd_init(const void *data, size_t len);
size_t kafu_rd_left(const kafu_rd *r);
size_t kafu_rd_offset(const kafu_rd *r);
uint8_t kafu_rd_u8(kafu_rd *r);
uint16_t kafu_rd_u16le(kafu_rd *r);
uint32_t kafu_rd_u32le(kafu_rd *r);
uint64_t kafu_rd_u64le(kafu_rd *r);
uint64_t kafu_rd_uleb(kafu_rd *r, unsigned max_bits);
int64_t kafu_rd_sleb(kafu_rd *r, unsigned max_bits);
/* Returns a pointer to the next n bytes (borrowed) or NULL if fewer remain. */
const uint8_t *kafu_rd_bytes(kafu_rd *r, size_t n);

#endif
