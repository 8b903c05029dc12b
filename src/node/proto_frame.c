/* Wire protocol v1 frames: the 48-byte header, its two checksums, and the
 * hostile-input checks a receiver runs before trusting a length. */
#include <string.h>

#include "node/proto.h"

/* Header layout (all little-endian):
 *   0 magic "KAFU"   4 version u8   5 type u8   6 flags u16
 *   8 job_id u64    16 seq u64     24 payload_len u32   28 reserved u32 (0)
 *  32 payload_sum u64 = checksum64(payload)
 *  40 header_sum u64  = checksum64(bytes 0..39)
 * The header has its own checksum so that a corrupted length is caught before
 * the receiver allocates or waits for that many bytes. */
#define OFF_PAYLOAD_SUM 32
#define OFF_HEADER_SUM 40

static const char *const type_names[] = {
#define KAFU_PROTO_NAME_(name, num, summary) [num] = #name,
    KAFU_PROTO_TYPES(KAFU_PROTO_NAME_)
#undef KAFU_PROTO_NAME_
};

bool kafu_proto_type_valid(unsigned type) {
  return type < sizeof type_names / sizeof type_names[0] && type_names[type] != NULL;
}

const char *kafu_proto_type_name(unsigned type) {
  return kafu_proto_type_valid(type) ? type_names[type] : "unknown";
}

const char *kafu_proto_code_name(unsigned code) {
  switch ((kafu_proto_code)code) {
  case KAFU_PROTO_BAD_FRAME: return "bad frame";
  case KAFU_PROTO_BAD_VERSION: return "bad version";
  case KAFU_PROTO_UNKNOWN_TYPE: return "unknown type";
  case KAFU_PROTO_BAD_PAYLOAD: return "bad payload";
  case KAFU_PROTO_MODULE_MISSING: return "module missing";
  case KAFU_PROTO_MODULE_MISMATCH: return "module mismatch";
  case KAFU_PROTO_UNKNOWN_JOB: return "unknown job";
  case KAFU_PROTO_RESTORE_FAILED: return "restore failed";
  case KAFU_PROTO_BUSY: return "busy";
  case KAFU_PROTO_SHUTTING_DOWN: return "shutting down";
  case KAFU_PROTO_INTERNAL: return "internal error";
  case KAFU_PROTO_DUPLICATE_JOB: return "duplicate job";
  case KAFU_PROTO_WRONG_CLUSTER: return "wrong cluster";
  }
  return "unknown code";
}

static void put_le(uint8_t *p, uint64_t v, int n) {
  for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

void kafu_proto_header_pack(uint8_t out[KAFU_PROTO_HEADER_LEN], kafu_msg_type type, uint64_t job_id, uint64_t seq,
                            const void *payload, uint32_t len) {
  memcpy(out, KAFU_PROTO_MAGIC, 4);
  out[4] = KAFU_PROTO_VERSION;
  out[5] = (uint8_t)type;
  put_le(out + 6, 0, 2); /* flags */
  put_le(out + 8, job_id, 8);
  put_le(out + 16, seq, 8);
  put_le(out + 24, len, 4);
  put_le(out + 28, 0, 4); /* reserved */
  put_le(out + OFF_PAYLOAD_SUM, kafu_checksum64(len ? payload : "", len), 8);
  put_le(out + OFF_HEADER_SUM, kafu_checksum64(out, OFF_HEADER_SUM), 8);
}

void kafu_proto_frame_encode(kafu_buf *out, kafu_msg_type type, uint64_t job_id, uint64_t seq, const void *payload,
                             uint32_t len) {
  uint8_t header[KAFU_PROTO_HEADER_LEN];
  kafu_proto_header_pack(header, type, job_id, seq, payload, len);
  if (!kafu_buf_reserve(out, sizeof header + (size_t)len)) return;
  kafu_buf_append(out, header, sizeof header);
  kafu_buf_append(out, payload, len);
}

kafu_err kafu_proto_header_decode(const uint8_t in[KAFU_PROTO_HEADER_LEN], uint32_t max_payload,
                                  kafu_frame_header *h, kafu_error *err) {
  memset(h, 0, sizeof *h);
  if (memcmp(in, KAFU_PROTO_MAGIC, 4) != 0)
    return kafu_fail(err, KAFU_E_INPUT, "bad frame magic 0x%08x (not a Kafu peer?)", (unsigned)get_le(in, 4));
  if (in[4] != KAFU_PROTO_VERSION)
    return kafu_fail(err, KAFU_E_INPUT, "unsupported protocol version %u (this node speaks %u)", in[4],
                     KAFU_PROTO_VERSION);
  if (kafu_checksum64(in, OFF_HEADER_SUM) != get_le(in + OFF_HEADER_SUM, 8))
    return kafu_fail(err, KAFU_E_INPUT, "bad frame checksum (header)");
  unsigned flags = (unsigned)get_le(in + 6, 2);
  if (flags & ~KAFU_PROTO_FLAGS_KNOWN) return kafu_fail(err, KAFU_E_INPUT, "unknown frame flags 0x%04x", flags);
  if (get_le(in + 28, 4) != 0) return kafu_fail(err, KAFU_E_INPUT, "reserved frame header bytes are not zero");
  if (!kafu_proto_type_valid(in[5])) return kafu_fail(err, KAFU_E_INPUT, "unknown frame type %u", in[5]);
  uint32_t len = (uint32_t)get_le(in + 24, 4);
  if (max_payload > KAFU_PROTO_MAX_PAYLOAD) max_payload = KAFU_PROTO_MAX_PAYLOAD;
  if (len > max_payload)
    return kafu_fail(err, KAFU_E_INPUT, "frame payload too large (%u bytes, max %u)", len, max_payload);
  h->version = in[4];
  h->type = in[5];
  h->flags = (uint16_t)flags;
  h->job_id = get_le(in + 8, 8);
  h->seq = get_le(in + 16, 8);
  h->payload_len = len;
  h->payload_sum = get_le(in + OFF_PAYLOAD_SUM, 8);
  return KAFU_OK;
}

kafu_err kafu_proto_payload_verify(const kafu_frame_header *h, const uint8_t *payload, kafu_error *err) {
  uint64_t sum = kafu_checksum64(h->payload_len ? payload : (const uint8_t *)"", h->payload_len);
  if (sum != h->payload_sum) return kafu_fail(err, KAFU_E_INPUT, "bad frame checksum (payload)");
  return KAFU_OK;
}

kafu_err kafu_proto_frame_decode(const uint8_t *buf, size_t len, uint32_t max_payload, kafu_frame_header *h,
                                 const uint8_t **payload, size_t *consumed, kafu_error *err) {
  *payload = NULL;
  *consumed = 0;
  if (len < KAFU_PROTO_HEADER_LEN)
    return kafu_fail(err, KAFU_E_INPUT, "frame truncated: %zu of %d header bytes", len, KAFU_PROTO_HEADER_LEN);
  kafu_err e = kafu_proto_header_decode(buf, max_payload, h, err);
  if (e) return e;
  size_t have = len - KAFU_PROTO_HEADER_LEN;
  if (have < h->payload_len)
    return kafu_fail(err, KAFU_E_INPUT, "frame truncated: %zu of %u payload bytes", have, h->payload_len);
  const uint8_t *p = buf + KAFU_PROTO_HEADER_LEN;
  if ((e = kafu_proto_payload_verify(h, p, err))) return e;
  *payload = p;
  *consumed = KAFU_PROTO_HEADER_LEN + (size_t)h->payload_len;
  return KAFU_OK;
}
