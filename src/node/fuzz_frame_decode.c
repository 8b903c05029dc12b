/* libFuzzer target for the wire protocol decoders. Each input is decoded twice:
 * as a whole frame (header checks, checksums, then the payload), and as
 * "type byte + payload" straight into the message decoder, so that mutations
 * reach the payload decoders without having to forge checksums. Whatever
 * decodes must re-encode to the very same bytes. */
#include <stdlib.h>
#include <string.h>

#include "node/proto.h"

/* Decodes payload as a message of type; on success checks the round trip. */
static void decode_payload(unsigned type, const uint8_t *payload, size_t len) {
  kafu_msg m;
  kafu_error err;
  kafu_err e = kafu_proto_msg_decode(type, payload, len, &m, &err);
  if (e) {
    if (e != KAFU_E_INPUT && e != KAFU_E_NOMEM) abort(); /* hostile bytes are only ever bad input */
    if (m.owned_) abort();                                /* a refused message holds nothing */
    return;
  }
  kafu_buf again = {0};
  e = kafu_proto_msg_encode(&m, &again, &err);
  if (e == KAFU_OK && (again.len != len || (len && memcmp(again.data, payload, len) != 0)))
    abort(); /* the encoding is canonical: decode then encode is the identity */
  if (e != KAFU_OK && e != KAFU_E_NOMEM) abort();
  if (m.type == KAFU_MSG_MODULE_PUT) (void)kafu_proto_module_verify(&m, &err);
  kafu_buf_free(&again);
  kafu_proto_msg_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  kafu_frame_header h;
  const uint8_t *payload;
  size_t used;
  kafu_error err;
  kafu_err e = kafu_proto_frame_decode(data, size, KAFU_PROTO_MAX_PAYLOAD, &h, &payload, &used, &err);
  if (e == KAFU_OK) {
    if (used > size || used != KAFU_PROTO_HEADER_LEN + (size_t)h.payload_len) abort();
    decode_payload(h.type, payload, h.payload_len);
  } else if (e != KAFU_E_INPUT) {
    abort();
  }
  if (size >= 1) {
    /* Copy so that ASan catches reads one past the payload. */
    size_t len = size - 1;
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) return 0;
    memcpy(copy, data + 1, len);
    decode_payload(data[0], copy, len);
    free(copy);
  }
  return 0;
}
