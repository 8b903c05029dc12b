/* Wire protocol frames: the header round-trips, and each way a frame can be
 * wrong (magic, version, checksums, flags, type, length, truncation) is
 * refused with its own message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/proto.h"

static const char payload[] = "snapshot bytes";
#define PAYLOAD_LEN ((uint32_t)(sizeof payload - 1))

static kafu_buf make_frame(void) {
  kafu_buf b = {0};
  kafu_proto_frame_encode(&b, KAFU_MSG_MIGRATE, 0x0102030405060708ULL, 42, payload, PAYLOAD_LEN);
  assert_false(b.failed);
  assert_int_equal(b.len, KAFU_PROTO_HEADER_LEN + PAYLOAD_LEN);
  return b;
}

static void put_le(uint8_t *p, uint64_t v, int n) {
  for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* After tampering with a header field, recompute the header checksum so that
 * the check under test is the one that fires. */
static void reseal(uint8_t *header) { put_le(header + 40, kafu_checksum64(header, 40), 8); }

static void expect_bad(const kafu_buf *b, uint32_t max_payload, const char *want) {
  kafu_frame_header h;
  const uint8_t *p;
  size_t used;
  kafu_error err = {0};
  kafu_err e = kafu_proto_frame_decode(b->data, b->len, max_payload, &h, &p, &used, &err);
  if (e != KAFU_E_INPUT || strcmp(err.msg, want) != 0) fail_msg("want \"%s\", got code %d \"%s\"", want, e, err.msg);
  assert_null(p);
  assert_int_equal(used, 0);
}

static void test_round_trip(void **state) {
  (void)state;
  kafu_buf b = make_frame();
  assert_memory_equal(b.data, "KAFU", 4);
  kafu_buf_append(&b, "next", 4); /* the start of a following frame */
  kafu_frame_header h;
  const uint8_t *p;
  size_t used;
  kafu_error err = {0};
  assert_int_equal(kafu_proto_frame_decode(b.data, b.len, KAFU_PROTO_MAX_PAYLOAD, &h, &p, &used, &err), KAFU_OK);
  assert_int_equal(used, KAFU_PROTO_HEADER_LEN + PAYLOAD_LEN);
  assert_int_equal(h.version, KAFU_PROTO_VERSION);
  assert_int_equal(h.type, KAFU_MSG_MIGRATE);
  assert_int_equal(h.flags, 0);
  assert_true(h.job_id == 0x0102030405060708ULL);
  assert_true(h.seq == 42);
  assert_int_equal(h.payload_len, PAYLOAD_LEN);
  assert_memory_equal(p, payload, PAYLOAD_LEN);
  kafu_buf_free(&b);

  /* An empty payload is a valid frame. */
  kafu_proto_frame_encode(&b, KAFU_MSG_COMMIT, 7, 8, NULL, 0);
  assert_int_equal(kafu_proto_frame_decode(b.data, b.len, 0, &h, &p, &used, &err), KAFU_OK);
  assert_int_equal(h.type, KAFU_MSG_COMMIT);
  assert_int_equal(used, KAFU_PROTO_HEADER_LEN);
  kafu_buf_free(&b);
}

static void test_truncated_everywhere(void **state) {
  (void)state;
  kafu_buf b = make_frame();
  for (size_t cut = 0; cut < b.len; cut++) {
    uint8_t *copy = malloc(cut ? cut : 1);
    assert_non_null(copy);
    memcpy(copy, b.data, cut);
    kafu_frame_header h;
    const uint8_t *p;
    size_t used;
    kafu_error err = {0};
    assert_int_equal(kafu_proto_frame_decode(copy, cut, KAFU_PROTO_MAX_PAYLOAD, &h, &p, &used, &err), KAFU_E_INPUT);
    char want[96];
    if (cut < KAFU_PROTO_HEADER_LEN)
      snprintf(want, sizeof want, "frame truncated: %zu of 48 header bytes", cut);
    else
      snprintf(want, sizeof want, "frame truncated: %zu of %u payload bytes", cut - KAFU_PROTO_HEADER_LEN, PAYLOAD_LEN);
    assert_string_equal(err.msg, want);
    free(copy);
  }
  kafu_buf_free(&b);
}

static void test_each_corruption_named(void **state) {
  (void)state;
  kafu_buf b = make_frame();

  b.data[0] = 'G'; /* e.g. an HTTP client: "GET " */
  expect_bad(&b, KAFU_PROTO_MAX_PAYLOAD, "bad frame magic 0x55464147 (not a Kafu peer?)");
  b.data[0] = 'K';

  b.data[4] = 2;
  reseal(b.data);
  expect_bad(&b, KAFU_PROTO_MAX_PAYLOAD, "unsupported protocol version 2 (this node speaks 1)");
  b.data[4] = 1;
  reseal(b.data);

  b.data[17] ^= 0x10; /* a bit flip in seq */
  expect_bad(&b, KAFU_PROTO_MAX_PAYLOAD, "bad frame checksum (header)");
  b.data[17] ^= 0x10;

  b.data[KAFU_PROTO_HEADER_LEN + 3] ^= 0x01; /* a bit flip in the payload */
  expect_bad(&b, KAFU_PROTO_MAX_PAYLOAD, "bad frame checksum (payload)");
  b.data[KAFU_PROTO_HEADER_LEN + 3] ^= 0x01;

  b.data[6] = 0x01;
  reseal(b.data);
  expect_bad(&b, KAFU_PROTO_MAX_PAYLOAD, "unknown frame flags 0x0001");
  b.data[6] = 0;

  b.data[30] = 1;
  reseal(b.data);
  expect_bad(&b, KAFU_PROTO_MAX_PAYLOAD, "reserved frame header bytes are not zero");
  b.data[30] = 0;

  b.data[5] = 0;
  reseal(b.data);
  expect_bad(&b, KAFU_PROTO_MAX_PAYLOAD, "unknown frame type 0");
  b.data[5] = KAFU_MSG_TYPE_END;
  reseal(b.data);
  char want[64];
  snprintf(want, sizeof want, "unknown frame type %d", KAFU_MSG_TYPE_END);
  expect_bad(&b, KAFU_PROTO_MAX_PAYLOAD, want);
  b.data[5] = KAFU_MSG_MIGRATE;

  put_le(b.data + 24, 0xffffffffu, 4); /* 4 GiB claimed */
  reseal(b.data);
  expect_bad(&b, KAFU_PROTO_MAX_PAYLOAD, "frame payload too large (4294967295 bytes, max 1073741824)");
  /* A caller's own, lower limit is enforced too (and a higher one is capped). */
  put_le(b.data + 24, PAYLOAD_LEN, 4);
  reseal(b.data);
  expect_bad(&b, 4, "frame payload too large (14 bytes, max 4)");
  put_le(b.data + 24, KAFU_PROTO_MAX_PAYLOAD + 1u, 4);
  reseal(b.data);
  expect_bad(&b, 0xffffffffu, "frame payload too large (1073741825 bytes, max 1073741824)");
  put_le(b.data + 24, PAYLOAD_LEN, 4);
  reseal(b.data);

  /* After all the repairs the frame is whole again. */
  kafu_frame_header h;
  const uint8_t *p;
  size_t used;
  kafu_error err = {0};
  assert_int_equal(kafu_proto_frame_decode(b.data, b.len, KAFU_PROTO_MAX_PAYLOAD, &h, &p, &used, &err), KAFU_OK);
  kafu_buf_free(&b);
}

/* Every single-bit flip anywhere in the frame is caught. */
static void test_every_bit_flip_detected(void **state) {
  (void)state;
  kafu_buf b = make_frame();
  for (size_t i = 0; i < b.len * 8; i++) {
    b.data[i / 8] ^= (uint8_t)(1u << (i % 8));
    kafu_frame_header h;
    const uint8_t *p;
    size_t used;
    kafu_error err = {0};
    if (kafu_proto_frame_decode(b.data, b.len, KAFU_PROTO_MAX_PAYLOAD, &h, &p, &used, &err) == KAFU_OK)
      fail_msg("bit %zu flipped went unnoticed", i);
    b.data[i / 8] ^= (uint8_t)(1u << (i % 8));
  }
  kafu_buf_free(&b);
}

static void test_msg_frame_and_names(void **state) {
  (void)state;
  kafu_msg m;
  memset(&m, 0, sizeof m);
  m.type = KAFU_MSG_NACK;
  m.u.fail.code = KAFU_PROTO_BUSY;
  m.u.fail.message = "restoring another job";
  kafu_buf b = {0};
  kafu_error err = {0};
  assert_int_equal(kafu_proto_msg_frame(&m, 5, 6, &b, &err), KAFU_OK);
  kafu_frame_header h;
  const uint8_t *p;
  size_t used;
  assert_int_equal(kafu_proto_frame_decode(b.data, b.len, KAFU_PROTO_MAX_PAYLOAD, &h, &p, &used, &err), KAFU_OK);
  kafu_msg d;
  assert_int_equal(kafu_proto_msg_decode(h.type, p, h.payload_len, &d, &err), KAFU_OK);
  assert_int_equal(d.type, KAFU_MSG_NACK);
  assert_int_equal(d.u.fail.code, KAFU_PROTO_BUSY);
  assert_string_equal(d.u.fail.message, "restoring another job");
  assert_string_equal(kafu_proto_code_name(d.u.fail.code), "busy");
  assert_string_equal(kafu_proto_code_name(999), "unknown code");
  kafu_proto_msg_free(&d);
  kafu_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_truncated_everywhere),
      cmocka_unit_test(test_each_corruption_named),
      cmocka_unit_test(test_every_bit_flip_detected),
      cmocka_unit_test(test_msg_frame_and_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
