/* kafu_buf and kafu_rd: encoding into growable memory, decoding with bounds checks. */
#include "util/buf.h"

#include <stdlib.h>
#include <string.h>

void kafu_buf_free(kafu_buf *b) {
  free(b->data);
  memset(b, 0, sizeof *b);
}

bool kafu_buf_reserve(kafu_buf *b, size_t extra) {
  if (b->failed) return false;
  if (extra > SIZE_MAX - b->len) goto fail;
  size_t need = b->len + extra;
  if (need <= b->cap) return true;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need) {
    if (cap > SIZE_MAX / 2) { cap = need; break; }
    cap *= 2;
  }
  uint8_t *p = realloc(b->data, cap);
  if (!p) goto fail;
  b->data = p;
  b->cap = cap;
  return true;
fail:
  b->failed = true;
  return false;
}

void kafu_buf_append(kafu_buf *b, const void *src, size_t n) {
  if (n == 0 || !kafu_buf_reserve(b, n)) return;
  memcpy(b->data + b->len, src, n);
  b->len += n;
}

void kafu_buf_u8(kafu_buf *b, uint8_t v) { kafu_buf_append(b, &v, 1); }

void kafu_buf_u16le(kafu_buf *b, uint16_t v) {
  uint8_t t[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
  kafu_buf_append(b, t, 2);
}

void kafu_buf_u32le(kafu_buf *b, uint32_t v) {
  uint8_t t[4];
  for (int i = 0; i < 4; i++) t[i] = (uint8_t)(v >> (8 * i));
  kafu_buf_append(b, t, 4);
}

void kafu_buf_u64le(kafu_buf *b, uint64_t v) {
  uint8_t t[8];
  for (int i = 0; i < 8; i++) t[i] = (uint8_t)(v >> (8 * i));
  kafu_buf_append(b, t, 8);
}

void kafu_buf_uleb(kafu_buf *b, uint64_t v) {
  do {
    uint8_t byte = v & 0x7f;
    v >>= 7;
    if (v) byte |= 0x80;
    kafu_buf_u8(b, byte);
  } while (v);
}

void kafu_buf_str(kafu_buf *b, const char *s) {
  size_t n = strlen(s);
  kafu_buf_u32le(b, (uint32_t)n);
  kafu_buf_append(b, s, n);
}

uint8_t *kafu_buf_take(kafu_buf *b, size_t *len) {
  uint8_t *p = b->data;
  if (len) *len = b->len;
  memset(b, 0, sizeof *b);
  return p;
}

kafu_rd kafu_rd_init(const void *data, size_t len) {
  kafu_rd r;
  r.start = r.p = data;
  r.end = r.p + len;
  r.bad = false;
  return r;
}

size_t kafu_rd_left(const kafu_rd *r) { return (size_t)(r->end - r->p); }
size_t kafu_rd_offset(const kafu_rd *r) { return (size_t)(r->p - r->start); }

const uint8_t *kafu_rd_bytes(kafu_rd *r, size_t n) {
  if (r->bad || kafu_rd_left(r) < n) {
    r->bad = true;
    return NULL;
  }
  const uint8_t *p = r->p;
  r->p += n;
  return p;
}

uint8_t kafu_rd_u8(kafu_rd *r) {
  const uint8_t *p = kafu_rd_bytes(r, 1);
  return p ? p[0] : 0;
}

uint16_t kafu_rd_u16le(kafu_rd *r) {
  const uint8_t *p = kafu_rd_bytes(r, 2);
  return p ? (uint16_t)(p[0] | (p[1] << 8)) : 0;
}

uint32_t kafu_rd_u32le(kafu_rd *r) {
  const uint8_t *p = kafu_rd_bytes(r, 4);
  if (!p) return 0;
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
         ((uint32_t)p[3] << 24);
}

uint64_t kafu_rd_u64le(kafu_rd *r) {
  uint64_t lo = kafu_rd_u32le(r);
  uint64_t hi = kafu_rd_u32le(r);
  return lo | (hi << 32);
}

uint64_t kafu_rd_uleb(kafu_rd *r, unsigned max_bits) {
  uint64_t result = 0;
  unsigned shift = 0;
  for (;;) {
    uint8_t byte = kafu_rd_u8(r);
    if (r->bad) return 0;
    if (shift >= max_bits || (shift + 7 > max_bits && (byte & 0x7f) >> (max_bits - shift))) {
      r->bad = true; /* too long or unused bits set */
      return 0;
    }
    result |= (uint64_t)(byte & 0x7f) << shift;
    shift += 7;
    if (!(byte & 0x80)) return result;
  }
}

int64_t kafu_rd_sleb(kafu_rd *r, unsigned max_bits) {
  uint64_t result = 0;
  unsigned shift = 0;
  uint8_t byte;
  for (;;) {
    byte = kafu_rd_u8(r);
    if (r->bad) return 0;
    if (shift >= max_bits) {
      r->bad = true;
      return 0;
    }
    result |= (uint64_t)(byte & 0x7f) << shift;
    shift += 7;
    if (!(byte & 0x80)) break;
  }
  if (shift > max_bits) {
    /* the final byte's unused bits must all equal the sign bit */
    unsigned used = max_bits - (shift - 7);
    int sign = (byte >> (used - 1)) & 1;
    uint8_t rest = (uint8_t)((byte & 0x7f) >> used);
    uint8_t want = sign ? (uint8_t)(0x7f >> used) : 0;
    if (rest != want) {
      r->bad = true;
      return 0;
    }
  }
  if (shift < 64 && (byte & 0x40)) result |= ~(uint64_t)0 << shift;
  if (max_bits == 32) return (int32_t)(uint32_t)result;
  return (int64_t)result;
}
