/* Framed message I/O with timeouts (on top of node/net.h) that a stopping
 * daemon can interrupt, connect + HELLO, and the pool of persistent
 * connections to peer nodes. */
#include "node/peers.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/net.h"
#include "node/policy.h"

#define POLL_SLICE_MS 100
#define SEND_TIMEOUT_MS 30000

void kafu_node_frame_free(kafu_node_frame *f) {
  if (!f) return;
  kafu_proto_msg_free(&f->msg);
  free(f->payload);
  memset(f, 0, sizeof *f);
}

/* Waits until fd is readable, in slices so *stop can end the wait.
 * Returns 1 ready, 0 timeout or stop, -1 error. */
static int wait_readable(int fd, double deadline_ms, const volatile int *stop) {
  for (;;) {
    if (stop && *stop) return 0;
    int slice = POLL_SLICE_MS;
    if (deadline_ms >= 0) {
      double left = deadline_ms - kafu_node_now_ms();
      if (left <= 0) return 0;
      if (left < slice) slice = (int)left + 1;
    }
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n = poll(&p, 1, slice);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n > 0) return 1;
  }
}

kafu_err kafu_node_recv(int fd, int timeout_ms, uint32_t max_payload, const volatile int *stop,
                        kafu_node_frame *f, kafu_node_recv_fail *why, kafu_error *err) {
  memset(f, 0, sizeof *f);
  *why = KAFU_NODE_RECV_IO;
  double deadline = timeout_ms < 0 ? -1 : kafu_node_now_ms() + timeout_ms;
  /* Wait for the first byte here (interruptible); once a frame has started,
   * net.c reads the whole of it within the remaining time (at least 10 s, so
   * a large frame is not cut by a short request timeout). */
  int w = wait_readable(fd, deadline, stop);
  if (w <= 0)
    return kafu_fail(err, KAFU_E_IO, "receiving a frame: %s",
                     w == 0 ? (stop && *stop ? "stopping" : "timed out") : strerror(errno));
  int left = deadline < 0 ? -1 : (int)(deadline - kafu_node_now_ms());
  if (left >= 0 && left < 10000) left = 10000;
  kafu_frame frame;
  char peer[KAFU_NET_PEER_MAX];
  kafu_net_peer_name(fd, peer);
  kafu_err rc = kafu_net_recv_msg(fd, peer, max_payload, left, &frame, &f->msg, err);
  if (rc) {
    if (frame.eof) *why = KAFU_NODE_RECV_CLOSED;
    else if (rc == KAFU_E_INPUT && frame.hdr.type && err && !strstr(err->msg, "checksum"))
      *why = KAFU_NODE_RECV_PAYLOAD;
    else if (rc == KAFU_E_INPUT && err && strstr(err->msg, "unknown frame type"))
      *why = KAFU_NODE_RECV_TYPE;
    else if (rc == KAFU_E_INPUT && err && strstr(err->msg, "protocol version"))
      *why = KAFU_NODE_RECV_VERSION;
    else if (rc == KAFU_E_INPUT) *why = KAFU_NODE_RECV_FRAME;
    memset(&f->msg, 0, sizeof f->msg);
    return rc;
  }
  f->h = frame.hdr;
  f->payload = frame.payload; /* the message borrows it: keep it with the frame */
  *why = KAFU_NODE_RECV_OK;
  return KAFU_OK;
}

kafu_err kafu_node_send(int fd, const kafu_msg *m, uint64_t job_id, uint64_t seq,
                        size_t *wire_bytes, kafu_error *err) {
  kafu_buf payload = {0};
  kafu_err rc = kafu_proto_msg_encode(m, &payload, err);
  if (rc) goto out;
  if (payload.failed) {
    rc = kafu_fail(err, KAFU_E_NOMEM, "out of memory encoding %s", kafu_proto_type_name(m->type));
    goto out;
  }
  rc = kafu_net_send_frame(fd, NULL, m->type, job_id, seq, payload.data, (uint32_t)payload.len,
                           SEND_TIMEOUT_MS, err);
  if (!rc && wire_bytes) *wire_bytes = KAFU_PROTO_HEADER_LEN + payload.len;
out:
  kafu_buf_free(&payload);
  return rc;
}

void kafu_node_send_error(int fd, uint64_t job_id, uint64_t seq, kafu_proto_code code,
                          const char *message) {
  kafu_msg m = {.type = KAFU_MSG_ERROR};
  m.u.fail.code = (uint16_t)code;
  char msg[KAFU_ERROR_MAX];
  snprintf(msg, sizeof msg, "%s", message ? message : "");
  m.u.fail.message = msg;
  (void)kafu_node_send(fd, &m, job_id, seq, NULL, NULL);
}

static kafu_err fail_reply(const kafu_node_frame *reply, kafu_error *err) {
  return kafu_fail(err, KAFU_E_INPUT, "%s %s: %s", kafu_proto_type_name(reply->h.type),
                   kafu_proto_code_name(reply->msg.u.fail.code), reply->msg.u.fail.message);
}

kafu_err kafu_node_request(int fd, const kafu_msg *m, uint64_t job_id, int timeout_ms,
                           kafu_node_frame *reply, size_t *wire_bytes, kafu_error *err) {
  memset(reply, 0, sizeof *reply);
  kafu_err rc = kafu_node_send(fd, m, job_id, 0, wire_bytes, err);
  if (rc) return rc;
  kafu_node_recv_fail why;
  rc = kafu_node_recv(fd, timeout_ms, KAFU_PROTO_MAX_PAYLOAD, NULL, reply, &why, err);
  if (rc) return rc;
  if (reply->h.type == KAFU_MSG_ERROR || reply->h.type == KAFU_MSG_NACK)
    return fail_reply(reply, err);
  return KAFU_OK;
}

kafu_err kafu_node_connect(const char *address, uint16_t port, int timeout_ms, uint8_t role,
                           const char *name, const char *cluster, int *out, kafu_error *err) {
  int fd = -1;
  kafu_err rc = kafu_net_connect(address, port, timeout_ms, &fd, err);
  if (rc) return rc;
  kafu_msg hello = {.type = KAFU_MSG_HELLO};
  hello.u.hello.version = KAFU_PROTO_VERSION;
  hello.u.hello.role = role;
  hello.u.hello.name = name;
  hello.u.hello.cluster = cluster;
  hello.u.hello.software = "kafu 0.1.0";
  kafu_node_frame reply;
  rc = kafu_node_request(fd, &hello, 0, timeout_ms, &reply, NULL, err);
  if (!rc && reply.h.type != KAFU_MSG_HELLO)
    rc = kafu_fail(err, KAFU_E_INPUT, "expected HELLO, got %s", kafu_proto_type_name(reply.h.type));
  kafu_node_frame_free(&reply);
  if (rc) {
    kafu_error_prefix(err, address);
    close(fd);
    return rc;
  }
  *out = fd;
  return KAFU_OK;
}

/* ---- pool ---- */

kafu_err kafu_node_peers_init(kafu_node_peers *p, const kafu_config *cfg, const char *self,
                              int timeout_ms, kafu_error *err) {
  memset(p, 0, sizeof *p);
  p->peers = calloc(cfg->n_nodes ? cfg->n_nodes : 1, sizeof *p->peers);
  if (!p->peers) return kafu_fail(err, KAFU_E_NOMEM, "out of memory");
  p->n = cfg->n_nodes;
  p->self = self;
  p->cluster = cfg->name;
  p->timeout_ms = timeout_ms;
  pthread_mutex_init(&p->life_lock, NULL);
  for (size_t i = 0; i < p->n; i++) {
    p->peers[i].node = &cfg->nodes[i];
    p->peers[i].fd = -1;
    pthread_mutex_init(&p->peers[i].lock, NULL);
  }
  return KAFU_OK;
}

void kafu_node_peers_free(kafu_node_peers *p) {
  for (size_t i = 0; i < p->n; i++) {
    if (p->peers[i].fd >= 0) close(p->peers[i].fd);
    free(p->peers[i].has_modules);
    pthread_mutex_destroy(&p->peers[i].lock);
  }
  if (p->peers) pthread_mutex_destroy(&p->life_lock);
  free(p->peers);
  memset(p, 0, sizeof *p);
}

kafu_node_peer *kafu_node_peers_find(kafu_node_peers *p, const char *name) {
  for (size_t i = 0; i < p->n; i++)
    if (!strcmp(p->peers[i].node->name, name)) return &p->peers[i];
  return NULL;
}

kafu_err kafu_node_peer_fd(kafu_node_peers *p, kafu_node_peer *peer, int *fd, kafu_error *err) {
  if (peer->fd < 0) {
    kafu_err rc = kafu_node_connect(peer->node->address, peer->node->port, p->timeout_ms,
                                    KAFU_HELLO_NODE, p->self, p->cluster, &peer->fd, err);
    if (rc) {
      peer->fd = -1;
      return kafu_error_prefix(err, peer->node->name);
    }
  }
  *fd = peer->fd;
  return KAFU_OK;
}

void kafu_node_peer_drop(kafu_node_peer *peer) {
  if (peer->fd >= 0) close(peer->fd);
  peer->fd = -1;
}

void kafu_node_peers_note_reply(kafu_node_peers *p, const char *name, double sent_ms,
                                double recv_ms, uint64_t uptime_ms) {
  kafu_node_peer *peer = kafu_node_peers_find(p, name);
  if (!peer) return;
  /* The peer measured its uptime after our request left, so its process
   * started at or after sent_ms - uptime_ms (same clock rate assumed). */
  double started_after = sent_ms - (double)uptime_ms;
  pthread_mutex_lock(&p->life_lock);
  peer->life.last_reply_ms = recv_ms;
  if (started_after > peer->life.started_after_ms) peer->life.started_after_ms = started_after;
  pthread_mutex_unlock(&p->life_lock);
}

kafu_node_peer_life kafu_node_peers_life(kafu_node_peers *p, const char *name) {
  kafu_node_peer_life life = {0};
  kafu_node_peer *peer = kafu_node_peers_find(p, name);
  if (!peer) return life;
  pthread_mutex_lock(&p->life_lock);
  life = peer->life;
  pthread_mutex_unlock(&p->life_lock);
  return life;
}

bool kafu_node_peer_has_module(const kafu_node_peer *peer, const uint8_t sha[KAFU_SHA256_LEN]) {
  for (size_t i = 0; i < peer->n_has_modules; i++)
    if (!memcmp(peer->has_modules[i], sha, KAFU_SHA256_LEN)) return true;
  return false;
}

void kafu_node_peer_note_module(kafu_node_peer *peer, const uint8_t sha[KAFU_SHA256_LEN]) {
  if (kafu_node_peer_has_module(peer, sha)) return;
  void *grown = realloc(peer->has_modules, (peer->n_has_modules + 1) * KAFU_SHA256_LEN);
  if (!grown) return; /* only an optimisation */
  peer->has_modules = grown;
  memcpy(peer->has_modules[peer->n_has_modules++], sha, KAFU_SHA256_LEN);
}
