/* Wire protocol payloads: every message type round-trips, every truncation
 * and hostile field is refused with a message naming type and field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/proto.h"

static const char *const sample_args[] = {"--frames", "10", ""};
static const char *const sample_env[] = {"A=1", "LANG=C"};
static const kafu_status_job sample_jobs[] = {{0x1111, KAFU_JOB_RUNNING, "count_people"},
                                              {0x2222, KAFU_JOB_AWAY, ""}};
static const uint8_t sample_blob[] = {0, 1, 2, 3, 0xff, 0x80, 7};

static void fill_hash(uint8_t h[KAFU_SHA256_LEN], uint8_t seed) {
  for (int i = 0; i < KAFU_SHA256_LEN; i++) h[i] = (uint8_t)(seed + i * 7);
}

/* A message of the given type with every field non-zero where possible. */
static kafu_msg sample(kafu_msg_type type) {
  kafu_msg m;
  memset(&m, 0, sizeof m);
  m.type = type;
  kafu_bytes blob = {sample_blob, sizeof sample_blob};
  switch (type) {
  case KAFU_MSG_HELLO:
    m.u.hello.version = 1;
    m.u.hello.role = KAFU_HELLO_NODE;
    m.u.hello.name = "edge1";
    m.u.hello.cluster = "people-counter";
    m.u.hello.software = "kafu test";
    break;
  case KAFU_MSG_HEARTBEAT:
    m.u.heartbeat.node = "cloud1";
    m.u.heartbeat.load_permille = 731;
    m.u.heartbeat.n_jobs = 3;
    m.u.heartbeat.uptime_ms = 0x123456789aULL;
    break;
  case KAFU_MSG_MODULE_HAVE:
    fill_hash(m.u.module_have.hash, 1);
    m.u.module_have.present = 1;
    break;
  case KAFU_MSG_MODULE_NEED: fill_hash(m.u.module_need.hash, 2); break;
  case KAFU_MSG_MODULE_PUT:
    kafu_sha256(sample_blob, sizeof sample_blob, m.u.module_put.hash);
    m.u.module_put.module = blob;
    break;
  case KAFU_MSG_SUBMIT:
    fill_hash(m.u.submit.module_hash, 3);
    m.u.submit.origin = "client-42";
    m.u.submit.program = "app.wasm";
    m.u.submit.n_args = 3;
    m.u.submit.args = (const char **)sample_args;
    m.u.submit.n_env = 2;
    m.u.submit.env = (const char **)sample_env;
    m.u.submit.flags = KAFU_SUBMIT_CHAOS;
    m.u.submit.chaos_seed = 0xdeadbeefcafeULL;
    break;
  case KAFU_MSG_MIGRATE:
    fill_hash(m.u.migrate.module_hash, 4);
    m.u.migrate.src_node = "cloud1";
    m.u.migrate.dst_node = "edge1";
    m.u.migrate.origin = "cloud1";
    m.u.migrate.function = "get_image_from_camera";
    m.u.migrate.reason = KAFU_MIGRATE_RETURN;
    m.u.migrate.site_id = 17;
    m.u.migrate.next_output_seq = 99;
    m.u.migrate.snapshot = blob;
    m.u.migrate.context = (kafu_bytes){sample_blob + 1, 3};
    break;
  case KAFU_MSG_ACK:
    m.u.ack.acked_type = KAFU_MSG_MIGRATE;
    m.u.ack.restore_us = 420;
    break;
  case KAFU_MSG_NACK:
  case KAFU_MSG_ERROR:
    m.u.fail.code = KAFU_PROTO_RESTORE_FAILED;
    m.u.fail.message = "snapshot: module hash mismatch";
    break;
  case KAFU_MSG_OUTPUT:
    m.u.output.fd = 2;
    m.u.output.out_seq = 12345;
    m.u.output.data = blob;
    break;
  case KAFU_MSG_EXIT:
    m.u.exit.status = KAFU_EXIT_ERROR;
    m.u.exit.code = -3;
    m.u.exit.node = "edge1";
    m.u.exit.message = "trap: integer divide by zero";
    m.u.exit.output_end = 77;
    break;
  case KAFU_MSG_STATUS_REPLY:
    m.u.status_reply.node = "edge1";
    m.u.status_reply.load_permille = 1000;
    m.u.status_reply.uptime_ms = 5;
    m.u.status_reply.migrations_in = 6;
    m.u.status_reply.migrations_out = 7;
    m.u.status_reply.n_jobs = 2;
    m.u.status_reply.jobs = sample_jobs;
    break;
  case KAFU_MSG_SHUTDOWN: m.u.shutdown.reason = "coordinator lost"; break;
  case KAFU_MSG_OFFLOAD_NOW: m.u.offload_now.dst_node = "cloud1"; break;
  case KAFU_MSG_EVENT: m.u.event.out_seq = 7; m.u.event.text = "migrate cloud1 edge1 f"; break;
  case KAFU_MSG_COMMIT:
    m.u.commit.event = "migrate edge1 cloud1 f return raw=4096 wire=900 pause_us=1200";
    break;
  case KAFU_MSG_STATUS:
  case KAFU_MSG_TYPE_END: break;
  }
  return m;
}

static kafu_buf encode_ok(const kafu_msg *m) {
  kafu_buf b = {0};
  kafu_error err = {0};
  kafu_err e = kafu_proto_msg_encode(m, &b, &err);
  if (e) fail_msg("encode %s: %s", kafu_proto_type_name(m->type), err.msg);
  return b;
}

/* Decodes from an exact-size heap copy so that ASan sees any over-read. */
static kafu_err decode_copy(unsigned type, const uint8_t *p, size_t len, kafu_msg *m, kafu_error *err,
                            uint8_t **keep) {
  uint8_t *copy = malloc(len ? len : 1);
  assert_non_null(copy);
  if (len) memcpy(copy, p, len);
  kafu_err e = kafu_proto_msg_decode(type, copy, len, m, err);
  *keep = copy;
  return e;
}

static void test_every_type_round_trips(void **state) {
  (void)state;
  for (unsigned t = 1; t < KAFU_MSG_TYPE_END; t++) {
    assert_true(kafu_proto_type_valid(t));
    kafu_msg m = sample((kafu_msg_type)t);
    kafu_buf b = encode_ok(&m);
    kafu_msg d;
    kafu_error err = {0};
    uint8_t *copy;
    if (decode_copy(t, b.data, b.len, &d, &err, &copy)) fail_msg("decode %s: %s", kafu_proto_type_name(t), err.msg);
    assert_int_equal(d.type, t);
    /* Re-encoding the decoded message gives the same bytes, and the sample
     * has no zero fields, so a dropped or misplaced field shows up here. */
    kafu_buf again = encode_ok(&d);
    assert_int_equal(again.len, b.len);
    assert_memory_equal(again.data, b.data, b.len);
    kafu_buf_free(&again);
    kafu_proto_msg_free(&d);
    free(copy);
    kafu_buf_free(&b);
  }
  assert_false(kafu_proto_type_valid(0));
  assert_false(kafu_proto_type_valid(KAFU_MSG_TYPE_END));
  assert_string_equal(kafu_proto_type_name(KAFU_MSG_OFFLOAD_NOW), "OFFLOAD_NOW");
  assert_string_equal(kafu_proto_type_name(200), "unknown");
}

static void test_decoded_fields(void **state) {
  (void)state;
  kafu_msg m = sample(KAFU_MSG_SUBMIT);
  kafu_buf b = encode_ok(&m);
  kafu_msg d;
  kafu_error err = {0};
  uint8_t *copy;
  assert_int_equal(decode_copy(KAFU_MSG_SUBMIT, b.data, b.len, &d, &err, &copy), KAFU_OK);
  assert_string_equal(d.u.submit.origin, "client-42");
  assert_string_equal(d.u.submit.program, "app.wasm");
  assert_int_equal(d.u.submit.n_args, 3);
  assert_string_equal(d.u.submit.args[0], "--frames");
  assert_string_equal(d.u.submit.args[1], "10");
  assert_string_equal(d.u.submit.args[2], "");
  assert_int_equal(d.u.submit.n_env, 2);
  assert_string_equal(d.u.submit.env[1], "LANG=C");
  assert_int_equal(d.u.submit.flags, KAFU_SUBMIT_CHAOS);
  assert_true(d.u.submit.chaos_seed == 0xdeadbeefcafeULL);
  assert_memory_equal(d.u.submit.module_hash, m.u.submit.module_hash, KAFU_SHA256_LEN);
  kafu_proto_msg_free(&d);
  free(copy);
  kafu_buf_free(&b);

  m = sample(KAFU_MSG_MIGRATE);
  b = encode_ok(&m);
  assert_int_equal(kafu_proto_msg_decode(KAFU_MSG_MIGRATE, b.data, b.len, &d, &err), KAFU_OK);
  assert_string_equal(d.u.migrate.function, "get_image_from_camera");
  assert_int_equal(d.u.migrate.reason, KAFU_MIGRATE_RETURN);
  assert_int_equal(d.u.migrate.next_output_seq, 99);
  assert_int_equal(d.u.migrate.snapshot.len, sizeof sample_blob);
  assert_memory_equal(d.u.migrate.snapshot.data, sample_blob, sizeof sample_blob);
  /* The snapshot is borrowed from the payload, not copied. */
  assert_true(d.u.migrate.snapshot.data >= b.data && d.u.migrate.snapshot.data < b.data + b.len);
  kafu_proto_msg_free(&d);
  kafu_buf_free(&b);

  /* COMMIT: the event text; an empty one (kafu resume) is four zero bytes */
  m = sample(KAFU_MSG_COMMIT);
  b = encode_ok(&m);
  assert_int_equal(kafu_proto_msg_decode(KAFU_MSG_COMMIT, b.data, b.len, &d, &err), KAFU_OK);
  assert_string_equal(d.u.commit.event, m.u.commit.event);
  kafu_proto_msg_free(&d);
  kafu_buf_free(&b);
  m.u.commit.event = NULL;
  b = encode_ok(&m);
  assert_int_equal(b.len, 4);
  assert_int_equal(kafu_proto_msg_decode(KAFU_MSG_COMMIT, b.data, b.len, &d, &err), KAFU_OK);
  assert_string_equal(d.u.commit.event, "");
  kafu_proto_msg_free(&d);
  kafu_buf_free(&b);

  m = sample(KAFU_MSG_STATUS_REPLY);
  b = encode_ok(&m);
  assert_int_equal(kafu_proto_msg_decode(KAFU_MSG_STATUS_REPLY, b.data, b.len, &d, &err), KAFU_OK);
  assert_int_equal(d.u.status_reply.n_jobs, 2);
  assert_true(d.u.status_reply.jobs[1].job_id == 0x2222);
  assert_int_equal(d.u.status_reply.jobs[1].state, KAFU_JOB_AWAY);
  assert_string_equal(d.u.status_reply.jobs[0].detail, "count_people");
  kafu_proto_msg_free(&d);
  kafu_buf_free(&b);
}

/* Cutting any payload anywhere is refused, never read past the end. */
static void test_truncation_at_every_length(void **state) {
  (void)state;
  for (unsigned t = 1; t < KAFU_MSG_TYPE_END; t++) {
    kafu_msg m = sample((kafu_msg_type)t);
    kafu_buf b = encode_ok(&m);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s payload: ", kafu_proto_type_name(t));
    for (size_t cut = 0; cut < b.len; cut++) {
      kafu_msg d;
      kafu_error err = {0};
      uint8_t *copy;
      kafu_err e = decode_copy(t, b.data, cut, &d, &err, &copy);
      if (e != KAFU_E_INPUT || strncmp(err.msg, prefix, strlen(prefix)) != 0 ||
          !(strstr(err.msg, "truncated") || strstr(err.msg, "impossible")))
        fail_msg("%s cut at %zu of %zu: code %d \"%s\"", kafu_proto_type_name(t), cut, b.len, e, err.msg);
      assert_null(d.owned_);
      free(copy);
    }
    /* One byte too many is refused as well. */
    kafu_buf_u8(&b, 0);
    kafu_msg d;
    kafu_error err = {0};
    assert_int_equal(kafu_proto_msg_decode(t, b.data, b.len, &d, &err), KAFU_E_INPUT);
    assert_non_null(strstr(err.msg, "1 trailing bytes"));
    kafu_buf_free(&b);
  }
}

/* Decodes bytes that must be refused with exactly this message. */
static void expect_refused(unsigned type, const kafu_buf *b, const char *want) {
  kafu_msg d;
  kafu_error err = {0};
  uint8_t *copy;
  kafu_err e = decode_copy(type, b->data, b->len, &d, &err, &copy);
  free(copy);
  if (e != KAFU_E_INPUT || strcmp(err.msg, want) != 0) fail_msg("want \"%s\", got code %d \"%s\"", want, e, err.msg);
}

static void test_hostile_fields(void **state) {
  (void)state;
  kafu_buf b = {0};
  /* OUTPUT to fd 3 */
  kafu_buf_u8(&b, 3);
  kafu_buf_u64le(&b, 0);
  kafu_buf_u32le(&b, 0);
  expect_refused(KAFU_MSG_OUTPUT, &b, "OUTPUT payload: field 'fd' has invalid value 3");
  kafu_buf_free(&b);

  /* A SUBMIT claiming four billion args */
  uint8_t hash[KAFU_SHA256_LEN] = {0};
  kafu_buf_append(&b, hash, sizeof hash);
  kafu_buf_str(&b, "c");
  kafu_buf_str(&b, "p");
  kafu_buf_u32le(&b, 0xffffffffu);
  expect_refused(KAFU_MSG_SUBMIT, &b, "SUBMIT payload: field 'args' count 4294967295 is impossible (max 4096, 0 bytes left)");
  kafu_buf_free(&b);

  /* A string whose length runs past the payload */
  kafu_buf_u32le(&b, 1000);
  kafu_buf_append(&b, "abc", 3);
  expect_refused(KAFU_MSG_SHUTDOWN, &b, "SHUTDOWN payload: field 'reason' truncated (needs 1000 bytes, 3 left)");
  kafu_buf_free(&b);

  /* A string with a NUL inside */
  kafu_buf_u32le(&b, 3);
  kafu_buf_append(&b, "a\0b", 3);
  expect_refused(KAFU_MSG_SHUTDOWN, &b, "SHUTDOWN payload: field 'reason' contains a NUL byte");
  kafu_buf_free(&b);

  /* A node name longer than the protocol allows */
  kafu_buf_u32le(&b, 64);
  for (int i = 0; i < 64; i++) kafu_buf_u8(&b, 'n');
  expect_refused(KAFU_MSG_OFFLOAD_NOW, &b, "OFFLOAD_NOW payload: field 'dst_node' too long (64 bytes, max 63)");
  kafu_buf_free(&b);

  /* Unknown MIGRATE reason, unknown SUBMIT flag, unknown ACK type */
  kafu_msg m = sample(KAFU_MSG_MIGRATE);
  m.u.migrate.reason = 9;
  kafu_error err = {0};
  assert_int_equal(kafu_proto_msg_encode(&m, &b, &err), KAFU_E_INPUT);
  assert_string_equal(err.msg, "MIGRATE payload: field 'reason' has invalid value 9");
  assert_int_equal(b.len, 0); /* a refused encode leaves nothing behind */
  kafu_buf_free(&b);
  m = sample(KAFU_MSG_ACK);
  b = encode_ok(&m);
  b.data[0] = 0;
  expect_refused(KAFU_MSG_ACK, &b, "ACK payload: field 'acked_type' has invalid value 0");
  kafu_buf_free(&b);

  /* STATUS carries nothing; COMMIT carries exactly its event string */
  kafu_buf_u8(&b, 1);
  expect_refused(KAFU_MSG_STATUS, &b, "STATUS payload: 1 trailing bytes");
  kafu_buf_free(&b);
  expect_refused(KAFU_MSG_COMMIT, &b, "COMMIT payload: field 'event' truncated (needs 4 bytes, 0 left)");
  kafu_buf_u32le(&b, 3);
  kafu_buf_append(&b, "a\0b", 3);
  expect_refused(KAFU_MSG_COMMIT, &b, "COMMIT payload: field 'event' contains a NUL byte");
  kafu_buf_free(&b);
  kafu_buf_u32le(&b, KAFU_PROTO_STR_MAX + 1);
  expect_refused(KAFU_MSG_COMMIT, &b, "COMMIT payload: field 'event' too long (65537 bytes, max 65536)");
  kafu_buf_free(&b);
  kafu_buf_u32le(&b, 1);
  kafu_buf_append(&b, "ab", 2);
  expect_refused(KAFU_MSG_COMMIT, &b, "COMMIT payload: 1 trailing bytes");
  kafu_buf_free(&b);

  kafu_msg d;
  assert_int_equal(kafu_proto_msg_decode(0, NULL, 0, &d, &err), KAFU_E_INPUT);
  assert_string_equal(err.msg, "unknown message type 0");
}

static void test_encoder_limits(void **state) {
  (void)state;
  kafu_msg m = sample(KAFU_MSG_HELLO);
  char long_name[KAFU_PROTO_NAME_MAX + 2];
  memset(long_name, 'x', sizeof long_name - 1);
  long_name[sizeof long_name - 1] = '\0';
  m.u.hello.name = long_name;
  kafu_buf b = {0};
  kafu_error err = {0};
  assert_int_equal(kafu_proto_msg_encode(&m, &b, &err), KAFU_E_LIMIT);
  assert_string_equal(err.msg, "HELLO payload: field 'name' too long (64 bytes, max 63)");
  m = sample(KAFU_MSG_SUBMIT);
  m.u.submit.n_args = KAFU_PROTO_LIST_MAX + 1;
  assert_int_equal(kafu_proto_msg_encode(&m, &b, &err), KAFU_E_LIMIT);
  assert_non_null(strstr(err.msg, "field 'args' has too many items"));
  /* NULL strings encode as empty ones. */
  m = sample(KAFU_MSG_SHUTDOWN);
  m.u.shutdown.reason = NULL;
  kafu_buf_free(&b);
  b = encode_ok(&m);
  assert_int_equal(b.len, 4);
  kafu_buf_free(&b);
}

static void test_module_verify(void **state) {
  (void)state;
  kafu_msg m = sample(KAFU_MSG_MODULE_PUT);
  kafu_buf b = encode_ok(&m);
  kafu_msg d;
  kafu_error err = {0};
  assert_int_equal(kafu_proto_msg_decode(KAFU_MSG_MODULE_PUT, b.data, b.len, &d, &err), KAFU_OK);
  assert_int_equal(kafu_proto_module_verify(&d, &err), KAFU_OK);
  kafu_proto_msg_free(&d);
  b.data[b.len - 1] ^= 1; /* last module byte */
  assert_int_equal(kafu_proto_msg_decode(KAFU_MSG_MODULE_PUT, b.data, b.len, &d, &err), KAFU_OK);
  assert_int_equal(kafu_proto_module_verify(&d, &err), KAFU_E_INPUT);
  assert_non_null(strstr(err.msg, "MODULE_PUT: module bytes hash to "));
  kafu_proto_msg_free(&d);
  kafu_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_type_round_trips),  cmocka_unit_test(test_decoded_fields),
      cmocka_unit_test(test_truncation_at_every_length), cmocka_unit_test(test_hostile_fields),
      cmocka_unit_test(test_encoder_limits),          cmocka_unit_test(test_module_verify),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
