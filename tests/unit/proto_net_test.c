/* Frames over real sockets (loopback TCP and socketpairs): round trips, large
 * payloads, peers that hang up mid-frame or stall, corrupt frames, refused
 * connections, and deadlines that hold. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "node/net.h"

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A connected loopback TCP pair: *client from connect, *server from accept. */
static void tcp_pair(int *client, int *server, char server_seen_as[KAFU_NET_PEER_MAX]) {
  kafu_error err = {0};
  int lfd;
  if (kafu_net_listen("127.0.0.1", 0, &lfd, &err)) fail_msg("%s", err.msg);
  uint16_t port = kafu_net_local_port(lfd);
  assert_true(port != 0);
  if (kafu_net_connect("127.0.0.1", port, 2000, client, &err)) fail_msg("%s", err.msg);
  char peer[KAFU_NET_PEER_MAX];
  if (kafu_net_accept(lfd, 2000, server, peer, &err)) fail_msg("%s", err.msg);
  assert_memory_equal(peer, "127.0.0.1:", 10);
  if (server_seen_as) snprintf(server_seen_as, KAFU_NET_PEER_MAX, "127.0.0.1:%u", port);
  kafu_net_close(&lfd);
  assert_int_equal(lfd, -1);
}

static void socket_pair(int fds[2]) { assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0); }

static void test_tcp_round_trip(void **state) {
  (void)state;
  int client, server;
  char server_name[KAFU_NET_PEER_MAX];
  tcp_pair(&client, &server, server_name);

  int nodelay = 0;
  socklen_t len = sizeof nodelay;
  assert_int_equal(getsockopt(client, IPPROTO_TCP, TCP_NODELAY, &nodelay, &len), 0);
  assert_true(nodelay);
  assert_int_equal(getsockopt(server, IPPROTO_TCP, TCP_NODELAY, &nodelay, &len), 0);
  assert_true(nodelay);
  char name[KAFU_NET_PEER_MAX];
  kafu_net_peer_name(client, name);
  assert_string_equal(name, server_name);

  kafu_error err = {0};
  kafu_msg hello;
  memset(&hello, 0, sizeof hello);
  hello.type = KAFU_MSG_HELLO;
  hello.u.hello.version = KAFU_PROTO_VERSION;
  hello.u.hello.role = KAFU_HELLO_CLIENT;
  hello.u.hello.name = "run-1";
  hello.u.hello.cluster = "demo";
  if (kafu_net_send_msg(client, server_name, &hello, 0, 1, 1000, &err)) fail_msg("%s", err.msg);

  kafu_frame f;
  kafu_msg m;
  if (kafu_net_recv_msg(server, "client", KAFU_PROTO_MAX_PAYLOAD, 1000, &f, &m, &err)) fail_msg("%s", err.msg);
  assert_int_equal(f.hdr.type, KAFU_MSG_HELLO);
  assert_true(f.hdr.seq == 1);
  assert_string_equal(m.u.hello.name, "run-1");
  assert_string_equal(m.u.hello.cluster, "demo");
  assert_int_equal(m.u.hello.role, KAFU_HELLO_CLIENT);
  kafu_proto_msg_free(&m);
  kafu_net_frame_free(&f);

  /* A reply the other way, with an empty payload. */
  if (kafu_net_send_frame(server, "client", KAFU_MSG_COMMIT, 9, 1, NULL, 0, 1000, &err)) fail_msg("%s", err.msg);
  if (kafu_net_recv_frame(client, server_name, KAFU_PROTO_MAX_PAYLOAD, 1000, &f, &err)) fail_msg("%s", err.msg);
  assert_int_equal(f.hdr.type, KAFU_MSG_COMMIT);
  assert_true(f.hdr.job_id == 9);
  assert_null(f.payload);
  kafu_net_frame_free(&f);

  /* Closing cleanly between frames is reported as eof, not as an error of the peer. */
  kafu_net_close(&server);
  assert_int_equal(kafu_net_recv_frame(client, server_name, KAFU_PROTO_MAX_PAYLOAD, 1000, &f, &err), KAFU_E_IO);
  assert_true(f.eof);
  char want[256];
  snprintf(want, sizeof want, "peer %s: connection closed", server_name);
  assert_string_equal(err.msg, want);
  kafu_net_close(&client);
}

typedef struct big_send {
  int fd;
  const uint8_t *data;
  uint32_t len;
  kafu_err result;
  kafu_error err;
} big_send;

static void *send_thread(void *arg) {
  big_send *s = arg;
  s->result = kafu_net_send_frame(s->fd, "receiver", KAFU_MSG_MIGRATE, 77, 3, s->data, s->len, 10000, &s->err);
  return NULL;
}

/* A payload far larger than the socket buffers arrives whole and intact. */
static void test_tcp_large_payload(void **state) {
  (void)state;
  int client, server;
  tcp_pair(&client, &server, NULL);
  uint32_t len = 24u << 20;
  uint8_t *data = malloc(len);
  assert_non_null(data);
  for (uint32_t i = 0; i < len; i++) data[i] = (uint8_t)(i * 2654435761u >> 13);
  big_send s = {.fd = client, .data = data, .len = len};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, send_thread, &s), 0);
  kafu_frame f;
  kafu_error err = {0};
  kafu_err e = kafu_net_recv_frame(server, "sender", KAFU_PROTO_MAX_PAYLOAD, 10000, &f, &err);
  pthread_join(th, NULL);
  if (s.result) fail_msg("send: %s", s.err.msg);
  if (e) fail_msg("recv: %s", err.msg);
  assert_int_equal(f.hdr.payload_len, len);
  assert_true(f.hdr.job_id == 77);
  assert_memory_equal(f.payload, data, len);
  kafu_net_frame_free(&f);
  free(data);
  kafu_net_close(&client);
  kafu_net_close(&server);
}

/* The peer sends part of a frame, then hangs up: both in the header and in
 * the payload, the receiver says how far it got. */
static void test_peer_hangs_up_mid_frame(void **state) {
  (void)state;
  kafu_buf frame = {0};
  kafu_proto_frame_encode(&frame, KAFU_MSG_OUTPUT, 1, 2, "0123456789", 10);
  const size_t cuts[] = {1, 20, KAFU_PROTO_HEADER_LEN, KAFU_PROTO_HEADER_LEN + 7};
  for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
    int fds[2];
    socket_pair(fds);
    assert_int_equal(write(fds[0], frame.data, cuts[i]), (ssize_t)cuts[i]);
    close(fds[0]);
    kafu_frame f;
    kafu_error err = {0};
    assert_int_equal(kafu_net_recv_frame(fds[1], "10.0.0.2:7002", KAFU_PROTO_MAX_PAYLOAD, 1000, &f, &err), KAFU_E_IO);
    assert_false(f.eof);
    assert_null(f.payload);
    char want[256];
    if (cuts[i] < KAFU_PROTO_HEADER_LEN)
      snprintf(want, sizeof want, "peer 10.0.0.2:7002: connection closed mid-frame (%zu of 48 header bytes)", cuts[i]);
    else
      snprintf(want, sizeof want, "peer 10.0.0.2:7002: connection closed mid-frame (%zu of 10 payload bytes)",
               cuts[i] - KAFU_PROTO_HEADER_LEN);
    assert_string_equal(err.msg, want);
    close(fds[1]);
  }
  kafu_buf_free(&frame);
}

/* A peer that sends nothing, or stalls mid-frame, cannot hold the receiver
 * past its deadline. */
static void test_recv_deadline(void **state) {
  (void)state;
  int fds[2];
  socket_pair(fds);
  kafu_frame f;
  kafu_error err = {0};
  int64_t t0 = now_ms();
  assert_int_equal(kafu_net_recv_frame(fds[1], "p", KAFU_PROTO_MAX_PAYLOAD, 150, &f, &err), KAFU_E_IO);
  int64_t waited = now_ms() - t0;
  assert_true(waited >= 140 && waited < 2000);
  assert_string_equal(err.msg, "peer p: timed out after 150 ms receiving a frame (0 of 48 header bytes)");

  kafu_buf frame = {0};
  kafu_proto_frame_encode(&frame, KAFU_MSG_OUTPUT, 1, 2, "0123456789", 10);
  assert_int_equal(write(fds[0], frame.data, 50), 50);
  assert_int_equal(kafu_net_recv_frame(fds[1], "p", KAFU_PROTO_MAX_PAYLOAD, 100, &f, &err), KAFU_E_IO);
  assert_string_equal(err.msg, "peer p: timed out after 100 ms receiving a frame (2 of 10 payload bytes)");
  kafu_buf_free(&frame);
  close(fds[0]);
  close(fds[1]);
}

/* A receiver that never reads cannot hold the sender past its deadline, and
 * a sender to a closed peer gets an error, not SIGPIPE. */
static void test_send_deadline_and_closed_peer(void **state) {
  (void)state;
  int fds[2];
  socket_pair(fds);
  uint32_t len = 16u << 20;
  uint8_t *data = calloc(1, len);
  assert_non_null(data);
  kafu_error err = {0};
  int64_t t0 = now_ms();
  assert_int_equal(kafu_net_send_frame(fds[0], "edge1", KAFU_MSG_MIGRATE, 1, 1, data, len, 150, &err), KAFU_E_IO);
  int64_t waited = now_ms() - t0;
  assert_true(waited >= 140 && waited < 2000);
  assert_non_null(strstr(err.msg, "peer edge1: timed out after 150 ms sending MIGRATE ("));
  close(fds[1]);
  assert_int_equal(kafu_net_send_frame(fds[0], "edge1", KAFU_MSG_MIGRATE, 1, 1, data, len, 1000, &err), KAFU_E_IO);
  assert_string_equal(err.msg, "peer edge1: send: Broken pipe");
  close(fds[0]);
  free(data);
}

/* Corrupt frames over a socket are refused with the peer's name, and an
 * oversized length is refused without waiting for the payload. */
static void test_corrupt_frames_over_tcp(void **state) {
  (void)state;
  int client, server;
  char server_name[KAFU_NET_PEER_MAX];
  tcp_pair(&client, &server, server_name);
  kafu_buf frame = {0};
  kafu_proto_frame_encode(&frame, KAFU_MSG_OUTPUT, 1, 2, "payload!", 8);
  frame.data[KAFU_PROTO_HEADER_LEN + 2] ^= 0x40;
  assert_int_equal(write(server, frame.data, frame.len), (ssize_t)frame.len);
  kafu_frame f;
  kafu_error err = {0};
  assert_int_equal(kafu_net_recv_frame(client, server_name, KAFU_PROTO_MAX_PAYLOAD, 1000, &f, &err), KAFU_E_INPUT);
  char want[256];
  snprintf(want, sizeof want, "peer %s: bad frame checksum (payload)", server_name);
  assert_string_equal(err.msg, want);
  assert_null(f.payload);
  kafu_buf_free(&frame);

  /* A header claiming 1 GiB + 1: refused at once (the deadline is long). */
  uint8_t header[KAFU_PROTO_HEADER_LEN];
  kafu_proto_header_pack(header, KAFU_MSG_MIGRATE, 1, 1, "", 0);
  uint32_t huge = KAFU_PROTO_MAX_PAYLOAD + 1u;
  for (int i = 0; i < 4; i++) header[24 + i] = (uint8_t)(huge >> (8 * i));
  uint64_t sum = kafu_checksum64(header, 40);
  for (int i = 0; i < 8; i++) header[40 + i] = (uint8_t)(sum >> (8 * i));
  assert_int_equal(write(server, header, sizeof header), (ssize_t)sizeof header);
  int64_t t0 = now_ms();
  assert_int_equal(kafu_net_recv_frame(client, server_name, KAFU_PROTO_MAX_PAYLOAD, 5000, &f, &err), KAFU_E_INPUT);
  assert_true(now_ms() - t0 < 1000);
  snprintf(want, sizeof want, "peer %s: frame payload too large (1073741825 bytes, max 1073741824)", server_name);
  assert_string_equal(err.msg, want);

  /* Something that is not Kafu at all. */
  const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n0123456789012345678901";
  assert_int_equal(write(server, http, 48), 48);
  assert_int_equal(kafu_net_recv_frame(client, NULL, KAFU_PROTO_MAX_PAYLOAD, 1000, &f, &err), KAFU_E_INPUT);
  assert_string_equal(err.msg, "peer ?: bad frame magic 0x20544547 (not a Kafu peer?)");

  kafu_net_close(&client);
  kafu_net_close(&server);
}

/* A frame that is sound but whose payload does not decode is refused by
 * recv_msg, and its header stays available for an ERROR reply. */
static void test_recv_msg_bad_payload(void **state) {
  (void)state;
  int fds[2];
  socket_pair(fds);
  kafu_error err = {0};
  uint8_t fd_three[13] = {3};
  assert_int_equal(kafu_net_send_frame(fds[0], "a", KAFU_MSG_OUTPUT, 5, 6, fd_three, sizeof fd_three, 1000, &err),
                   KAFU_OK);
  kafu_frame f;
  kafu_msg m;
  assert_int_equal(kafu_net_recv_msg(fds[1], "b", KAFU_PROTO_MAX_PAYLOAD, 1000, &f, &m, &err), KAFU_E_INPUT);
  assert_string_equal(err.msg, "peer b: OUTPUT payload: field 'fd' has invalid value 3");
  assert_int_equal(f.hdr.type, KAFU_MSG_OUTPUT);
  assert_true(f.hdr.seq == 6);
  assert_null(f.payload);
  assert_null(m.owned_);
  close(fds[0]);
  close(fds[1]);
}

static void reseal(uint8_t *header) {
  uint64_t sum = kafu_checksum64(header, 40);
  for (int i = 0; i < 8; i++) header[40 + i] = (uint8_t)(sum >> (8 * i));
}

/* Each header refusal arrives over a socket with its own message and the
 * peer's name, and the receiver never waits for a payload it refused. */
static void test_each_refusal_over_socket(void **state) {
  (void)state;
  static const struct {
    int offset;
    uint8_t value;
    bool reseal;
    const char *want;
  } cases[] = {
      {0, 'X', false, "peer n1: bad frame magic 0x55464158 (not a Kafu peer?)"},
      {4, 9, true, "peer n1: unsupported protocol version 9 (this node speaks 1)"},
      {9, 0x55, false, "peer n1: bad frame checksum (header)"},
      {5, 0, true, "peer n1: unknown frame type 0"},
      {5, 200, true, "peer n1: unknown frame type 200"},
      {27, 0x40, true, "peer n1: frame payload too large (1073741834 bytes, max 1073741824)"},
      {48, 'X', false, "peer n1: bad frame checksum (payload)"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    kafu_buf frame = {0};
    kafu_proto_frame_encode(&frame, KAFU_MSG_OUTPUT, 1, 2, "0123456789", 10);
    frame.data[cases[i].offset] = cases[i].value;
    if (cases[i].reseal) reseal(frame.data);
    int fds[2];
    socket_pair(fds);
    assert_int_equal(write(fds[0], frame.data, frame.len), (ssize_t)frame.len);
    kafu_frame f;
    kafu_error err = {0};
    int64_t t0 = now_ms();
    assert_int_equal(kafu_net_recv_frame(fds[1], "n1", KAFU_PROTO_MAX_PAYLOAD, 3000, &f, &err), KAFU_E_INPUT);
    assert_true(now_ms() - t0 < 1000);
    if (strcmp(err.msg, cases[i].want) != 0) fail_msg("case %zu: want \"%s\", got \"%s\"", i, cases[i].want, err.msg);
    assert_null(f.payload);
    kafu_buf_free(&frame);
    close(fds[0]);
    close(fds[1]);
  }
}

/* IPv6 loopback works the same way, where the host has it. */
static void test_ipv6_loopback(void **state) {
  (void)state;
  kafu_error err = {0};
  int lfd, client, server;
  if (kafu_net_listen("::1", 0, &lfd, &err)) skip();
  uint16_t port = kafu_net_local_port(lfd);
  assert_int_equal(kafu_net_connect("::1", port, 2000, &client, &err), KAFU_OK);
  char peer[KAFU_NET_PEER_MAX];
  assert_int_equal(kafu_net_accept(lfd, 2000, &server, peer, &err), KAFU_OK);
  assert_memory_equal(peer, "[::1]:", 6);
  assert_int_equal(kafu_net_send_frame(client, "s", KAFU_MSG_STATUS, 0, 1, NULL, 0, 1000, &err), KAFU_OK);
  kafu_frame f;
  assert_int_equal(kafu_net_recv_frame(server, peer, KAFU_PROTO_MAX_PAYLOAD, 1000, &f, &err), KAFU_OK);
  assert_int_equal(f.hdr.type, KAFU_MSG_STATUS);
  kafu_net_frame_free(&f);
  kafu_net_close(&client);
  kafu_net_close(&server);
  kafu_net_close(&lfd);
}

static void test_connect_and_listen_errors(void **state) {
  (void)state;
  kafu_error err = {0};
  /* A port nobody listens on: take a free one, then release it. */
  int lfd;
  assert_int_equal(kafu_net_listen("127.0.0.1", 0, &lfd, &err), KAFU_OK);
  uint16_t port = kafu_net_local_port(lfd);
  int busy;
  char want[256];
  assert_int_equal(kafu_net_listen("127.0.0.1", port, &busy, &err), KAFU_E_IO);
  snprintf(want, sizeof want, "listen 127.0.0.1:%u: Address already in use", port);
  assert_string_equal(err.msg, want);
  kafu_net_close(&lfd);
  int fd;
  assert_int_equal(kafu_net_connect("127.0.0.1", port, 1000, &fd, &err), KAFU_E_IO);
  snprintf(want, sizeof want, "peer 127.0.0.1:%u: connect: Connection refused", port);
  assert_string_equal(err.msg, want);
  assert_int_equal(fd, -1);

  assert_int_equal(kafu_net_connect("", 7001, 1000, &fd, &err), KAFU_E_INPUT);
  assert_string_equal(err.msg, "connect: no address given");

  /* accept gives up at its deadline. */
  assert_int_equal(kafu_net_listen("127.0.0.1", 0, &lfd, &err), KAFU_OK);
  assert_int_equal(kafu_net_accept(lfd, 50, &fd, NULL, &err), KAFU_E_IO);
  assert_string_equal(err.msg, "accept: timed out after 50 ms");
  kafu_net_close(&lfd);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tcp_round_trip),
      cmocka_unit_test(test_tcp_large_payload),
      cmocka_unit_test(test_peer_hangs_up_mid_frame),
      cmocka_unit_test(test_recv_deadline),
      cmocka_unit_test(test_send_deadline_and_closed_peer),
      cmocka_unit_test(test_corrupt_frames_over_tcp),
      cmocka_unit_test(test_recv_msg_bad_payload),
      cmocka_unit_test(test_each_refusal_over_socket),
      cmocka_unit_test(test_ipv6_loopback),
      cmocka_unit_test(test_connect_and_listen_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
