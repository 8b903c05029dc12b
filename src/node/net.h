/* TCP helpers for the node daemon and its clients: listen, connect with a
 * timeout, and send/receive whole protocol frames with deadlines. Every socket
 * made here has TCP_NODELAY (small frames are latency-bound) and close-on-exec,
 * and nothing here raises SIGPIPE. Messages name the peer:
 * "peer 127.0.0.1:7001: bad frame checksum (payload)". */
#ifndef KAFU_NODE_NET_H
#define KAFU_NODE_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "node/proto.h"
#include "util/err.h"

#define KAFU_NET_PEER_MAX 64 /* "[v6 address]:port" fits */

/* A received frame. payload is owned (malloc'd; NULL when payload_len is 0)
 * and freed by kafu_net_frame_free. eof is set when the peer closed the
 * connection cleanly between frames, which is how a conversation ends. */
typedef struct kafu_frame {
  kafu_frame_header hdr;
  uint8_t *payload;
  bool eof;
} kafu_frame;

/* Opens a listening TCP socket on address:port (address NULL or "" = every
 * interface; port 0 = any free port, see kafu_net_local_port). *fd_out is
 * owned by the caller. Errors: KAFU_E_IO "listen 127.0.0.1:7001: Address
 * already in use", KAFU_E_INPUT for an address that does not resolve. */
kafu_err kafu_net_listen(const char *address, uint16_t port, int *fd_out, kafu_error *err);

/* The local port of a bound socket, 0 on error. */
uint16_t kafu_net_local_port(int fd);

/* Waits up to timeout_ms (< 0: forever) for a connection on listen_fd.
 * *fd_out is owned by the caller; peer (may be NULL) gets "addr:port".
 * Errors: KAFU_E_IO on timeout ("accept: timed out after 100 ms") or failure. */
kafu_err kafu_net_accept(int listen_fd, int timeout_ms, int *fd_out, char peer[KAFU_NET_PEER_MAX], kafu_error *err);

/* Connects to address:port, giving up after timeout_ms (< 0: the OS default)
 * across all resolved addresses. The returned socket is blocking.
 * Errors: KAFU_E_IO "peer 127.0.0.1:7001: connect: Connection refused" or
 * "... timed out after 500 ms"; KAFU_E_INPUT for an unresolvable address. */
kafu_err kafu_net_connect(const char *address, uint16_t port, int timeout_ms, int *fd_out, kafu_error *err);

/* "addr:port" of the socket's peer into out ("?" when unknown). */
void kafu_net_peer_name(int fd, char out[KAFU_NET_PEER_MAX]);

/* Sends one frame (header + payload[0..len)) within timeout_ms (< 0: no
 * limit). peer labels messages and may be NULL. Errors: KAFU_E_IO ("peer X:
 * send: Broken pipe", "peer X: timed out after N ms sending MIGRATE (a of b
 * bytes)"); KAFU_E_LIMIT for len over KAFU_PROTO_MAX_PAYLOAD. After a failure
 * the stream is out of frame sync: close it. */
kafu_err kafu_net_send_frame(int fd, const char *peer, kafu_msg_type type, uint64_t job_id, uint64_t seq,
                             const void *payload, uint32_t len, int timeout_ms, kafu_error *err);

/* Encodes m and sends it as one frame; errors as the encoder and send_frame. */
kafu_err kafu_net_send_msg(int fd, const char *peer, const kafu_msg *m, uint64_t job_id, uint64_t seq,
                           int timeout_ms, kafu_error *err);

/* Receives one whole frame within timeout_ms (< 0: no limit), validating the
 * header before trusting its length (max_payload caps it further) and the
 * payload checksum after. *out is overwritten; on success the caller frees it
 * with kafu_net_frame_free. Errors, all prefixed "peer X: ":
 *   KAFU_E_IO    "connection closed" (out->eof set), "connection closed
 *                mid-frame (20 of 48 header bytes)", "timed out after N ms
 *                receiving a frame (...)", "recv: <strerror>";
 *   KAFU_E_INPUT any header or checksum refusal of kafu_proto_header_decode /
 *                kafu_proto_payload_verify (the stream is then unusable);
 *   KAFU_E_NOMEM for the payload buffer. */
kafu_err kafu_net_recv_frame(int fd, const char *peer, uint32_t max_payload, int timeout_ms, kafu_frame *out,
                             kafu_error *err);

/* kafu_net_recv_frame, then kafu_proto_msg_decode of its payload into *m.
 * On success free *m (kafu_proto_msg_free) before *frame (whose payload m
 * borrows). On failure *m is empty and frame->payload freed; frame->hdr stays
 * filled when the header itself was valid, so the caller can answer a bad
 * payload with an ERROR that echoes hdr.seq (hdr.type is 0 otherwise). */
kafu_err kafu_net_recv_msg(int fd, const char *peer, uint32_t max_payload, int timeout_ms, kafu_frame *frame,
                           kafu_msg *m, kafu_error *err);

void kafu_net_frame_free(kafu_frame *f);

/* Closes *fd if it is open and sets it to -1. */
void kafu_net_close(int *fd);

#endif
