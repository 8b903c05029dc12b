/* Framed message I/O over TCP with timeouts, connect + HELLO, and the pool of
 * persistent connections to peer nodes. Every byte received is hostile: the
 * header is validated (proto_frame.c) before its length is trusted. */
#include "node/peers.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "node/policy.h"

#define POLL_SLICE_MS 100

void kafu_node_frame_free(kafu_node_frame *f) {
  if (!f) return;
  kafu_proto_msg_free(&f->msg);
  free(f->payload);
  memset(f, 0, sizeof *f);
}

/* Waits until fd is readable (or writable). Returns 1 ready, 0 timeout or
 * stop, -1 error. */
static int wait_fd(int fd, short events, double deadline_ms, const volatile int *stop) {
  for (;;) {
    if (stop && *stop) return 0;
    int slice = POLL_SLICE_MS;
    if (deadline_ms >= 0) {
      double left = deadline_ms - kafu_node_now_ms();
      if (left <= 0) return 0;
      if (left < slice) slice = (int)left + 1;
    }
    struct pollfd p = {.fd = fd, .events = events};
    int n = poll(&p, 1, slice);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n > 0) return 1;
  }
}

/* Reads exactly len bytes. Returns 0 on success, 1 on EOF before the first
 * byte, -1 on error/timeout/EOF later (errno-ish reason in *what). */
static int read_full(int fd, uint8_t *buf, size_t len, double deadline_ms,
                     const volatile int *stop, const char **what) {
  size_t got = 0;
  while (got < len) {
    int w = wait_fd(fd, POLLIN, deadline_ms, stop);
    if (w <= 0) {
      *what = w == 0 ? "timed out" : strerror(errno);
      return -1;
    }
    ssize_t n = read(fd, buf + got, len - got);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) {
      *what = strerror(errno);
      return -1;
    }
    if (n == 0) {
      *what = got ? "connection closed inside a frame" : "connection closed";
      return got ? -1 : 1;
    }
    got += (size_t)n;
  }
  return 0;
}

kafu_err kafu_node_recv(int fd, int timeout_ms, uint32_t max_payload, const volatile int *stop,
                        kafu_node_frame *f, kafu_node_recv_fail *why, kafu_error *err) {
  memset(f, 0, sizeof *f);
  *why = KAFU_NODE_RECV_IO;
  double deadline = timeout_ms < 0 ? -1 : kafu_node_now_ms() + timeout_ms;
  uint8_t hdr[KAFU_PROTO_HEADER_LEN];
  const char *what = "";
  int r = read_full(fd, hdr, sizeof hdr, deadline, stop, &what);
  if (r == 1) {
    *why = KAFU_NODE_RECV_CLOSED;
    return kafu_fail(err, KAFU_E_IO, "connection closed");
  }
  if (r < 0) return kafu_fail(err, KAFU_E_IO, "receiving a frame header: %s", what);
  kafu_err rc = kafu_proto_header_decode(hdr, max_payload, &f->h, err);
  if (rc) {
    *why = hdr[4] != KAFU_PROTO_VERSION && !memcmp(hdr, KAFU_PROTO_MAGIC, 4)
               ? KAFU_NODE_RECV_VERSION
           : strstr(err ? err->msg : "", "unknown frame type") ? KAFU_NODE_RECV_TYPE
                                                                : KAFU_NODE_RECV_FRAME;
    return rc;
  }
  f->payload = malloc(f->h.payload_len ? f->h.payload_len : 1);
  if (!f->payload) return kafu_fail(err, KAFU_E_NOMEM, "out of memory for a %u-byte frame",
                                    f->h.payload_len);
  r = read_full(fd, f->payload, f->h.payload_len, deadline, stop, &what);
  if (r != 0) {
    kafu_node_frame_free(f);
    return kafu_fail(err, KAFU_E_IO, "frame truncated: %s", what);
  }
  if ((rc = kafu_proto_payload_verify(&f->h, f->payload, err))) {
    *why = KAFU_NODE_RECV_FRAME;
    kafu_node_frame_free(f);
    return rc;
  }
  if ((rc = kafu_proto_msg_decode(f->h.type, f->payload, f->h.payload_len, &f->msg, err))) {
    *why = KAFU_NODE_RECV_PAYLOAD;
    kafu_node_frame_free(f);
    return rc;
  }
  *why = KAFU_NODE_RECV_OK;
  return KAFU_OK;
}

static kafu_err write_all(int fd, struct iovec *iov, int n_iov, kafu_error *err) {
  while (n_iov > 0) {
    ssize_t n = writev(fd, iov, n_iov);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      if (wait_fd(fd, POLLOUT, kafu_node_now_ms() + 30000, NULL) <= 0)
        return kafu_fail(err, KAFU_E_IO, "send timed out");
      continue;
    }
    if (n < 0) return kafu_fail(err, KAFU_E_IO, "send failed: %s", strerror(errno));
    size_t done = (size_t)n;
    while (n_iov > 0 && done >= iov->iov_len) {
      done -= iov->iov_len;
      iov++;
      n_iov--;
    }
    if (n_iov > 0) {
      iov->iov_base = (uint8_t *)iov->iov_base + done;
      iov->iov_len -= done;
    }
  }
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
  uint8_t hdr[KAFU_PROTO_HEADER_LEN];
  kafu_proto_header_pack(hdr, m->type, job_id, seq, payload.data, (uint32_t)payload.len);
  struct iovec iov[2] = {{hdr, sizeof hdr}, {payload.data, payload.len}};
  rc = write_all(fd, iov, payload.len ? 2 : 1, err);
  if (!rc && wire_bytes) *wire_bytes = sizeof hdr + payload.len;
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

static kafu_err connect_tcp(const char *address, uint16_t port, int timeout_ms, int *out,
                            kafu_error *err) {
  char port_s[8];
  snprintf(port_s, sizeof port_s, "%u", port);
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
  int gai = getaddrinfo(address, port_s, &hints, &res);
  if (gai) return kafu_fail(err, KAFU_E_IO, "%s:%u: %s", address, port, gai_strerror(gai));
  kafu_err rc = KAFU_OK;
  int fd = -1;
  const char *why = "no address";
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) continue;
    int r = connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (r < 0 && errno == EINPROGRESS) {
      if (wait_fd(fd, POLLOUT, kafu_node_now_ms() + timeout_ms, NULL) == 1) {
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        if (soerr) errno = soerr, r = -1;
        else r = 0;
      } else {
        errno = ETIMEDOUT;
        r = -1;
      }
    }
    if (r == 0) break;
    why = strerror(errno);
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) return kafu_fail(err, KAFU_E_IO, "cannot connect to %s:%u: %s", address, port, why);
  /* Blocking I/O from here on; reads use poll() for their timeouts. */
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  *out = fd;
  return rc;
}

kafu_err kafu_node_connect(const char *address, uint16_t port, int timeout_ms, uint8_t role,
                           const char *name, const char *cluster, int *out, kafu_error *err) {
  int fd = -1;
  kafu_err rc = connect_tcp(address, port, timeout_ms, &fd, err);
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
