/* Connections between Kafu processes (daemons, kafu run, kafu offload):
 * framed send/receive of protocol messages with timeouts, connect + HELLO,
 * and a pool of one persistent connection per peer node, so a migration
 * costs one round trip instead of a TCP handshake. */
#ifndef KAFU_NODE_PEERS_H
#define KAFU_NODE_PEERS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/config.h"
#include "node/proto.h"
#include "util/err.h"

/* One received frame: the header, the payload (owned) and the decoded
 * message (whose bytes borrow the payload). */
typedef struct kafu_node_frame {
  kafu_frame_header h;
  uint8_t *payload;
  kafu_msg msg;
} kafu_node_frame;

void kafu_node_frame_free(kafu_node_frame *f);

/* Why a receive failed, so a server can pick its ERROR reply. */
typedef enum kafu_node_recv_fail {
  KAFU_NODE_RECV_OK = 0,
  KAFU_NODE_RECV_CLOSED,   /* orderly EOF before any byte of a frame */
  KAFU_NODE_RECV_IO,       /* socket error, timeout, EOF inside a frame */
  KAFU_NODE_RECV_FRAME,    /* framing: magic, checksum, length, flags */
  KAFU_NODE_RECV_VERSION,  /* unknown protocol version */
  KAFU_NODE_RECV_TYPE,     /* unknown message type */
  KAFU_NODE_RECV_PAYLOAD,  /* payload does not decode */
} kafu_node_recv_fail;

/* Receives one frame within timeout_ms (< 0: wait forever; the wait is in
 * poll slices so *stop, when non-NULL and set, ends it with KAFU_E_IO).
 * Payloads above max_payload are refused before any allocation. On failure
 * *why says which kind and f is empty. Errors: KAFU_E_IO, KAFU_E_INPUT. */
kafu_err kafu_node_recv(int fd, int timeout_ms, uint32_t max_payload, const volatile int *stop,
                        kafu_node_frame *f, kafu_node_recv_fail *why, kafu_error *err);

/* Encodes and sends m as one frame (header and payload written together).
 * *wire_bytes, when non-NULL, receives the frame's size. Errors: KAFU_E_IO,
 * encoder errors. */
kafu_err kafu_node_send(int fd, const kafu_msg *m, uint64_t job_id, uint64_t seq,
                        size_t *wire_bytes, kafu_error *err);

/* Sends ERROR(code, message) and ignores failures (best effort). */
void kafu_node_send_error(int fd, uint64_t job_id, uint64_t seq, kafu_proto_code code,
                          const char *message);

/* Connects to address:port within timeout_ms, sets TCP_NODELAY and
 * CLOEXEC, and exchanges HELLO (role, name, cluster). Returns the fd in *out.
 * Errors: KAFU_E_IO naming "address:port", KAFU_E_INPUT for a refused HELLO. */
kafu_err kafu_node_connect(const char *address, uint16_t port, int timeout_ms, uint8_t role,
                           const char *name, const char *cluster, int *out, kafu_error *err);

/* A round trip: sends m, waits for the reply within timeout_ms. A NACK or
 * ERROR reply is returned as KAFU_E_INPUT with its message, unless the
 * caller handles it (reply is filled either way on KAFU_OK). */
kafu_err kafu_node_request(int fd, const kafu_msg *m, uint64_t job_id, int timeout_ms,
                           kafu_node_frame *reply, size_t *wire_bytes, kafu_error *err);

/* ---- the per-node pool of outgoing connections ---- */

/* What HEARTBEAT replies told about a peer's process (heartbeat.c records
 * it, a job's coordinator reads it: jobs_coord.c). Times are
 * kafu_node_now_ms() of this process; 0 = no reply yet. */
typedef struct kafu_node_peer_life {
  double last_reply_ms; /* when the last reply arrived */
  /* The peer's current process started no earlier than this: the largest
   * (request sent - reply's uptime_ms) over all replies. A bound, not an
   * estimate, so "started_after_ms > T" proves a restart since T. */
  double started_after_ms;
} kafu_node_peer_life;

typedef struct kafu_node_peer {
  const kafu_config_node *node; /* borrowed from the config */
  pthread_mutex_t lock;         /* held for a whole exchange */
  int fd;                       /* -1 when not connected */
  /* Module hashes the peer is known to hold (skips MODULE_HAVE). */
  uint8_t (*has_modules)[KAFU_SHA256_LEN];
  size_t n_has_modules;
  kafu_node_peer_life life; /* under kafu_node_peers.life_lock, not lock */
} kafu_node_peer;

typedef struct kafu_node_peers {
  kafu_node_peer *peers; /* one per config node, same order */
  size_t n;
  const char *self;      /* borrowed: our node name */
  const char *cluster;   /* borrowed: the config's name */
  int timeout_ms;
  pthread_mutex_t life_lock; /* every peer's life; a leaf lock, held briefly */
} kafu_node_peers;

kafu_err kafu_node_peers_init(kafu_node_peers *p, const kafu_config *cfg, const char *self,
                              int timeout_ms, kafu_error *err);
void kafu_node_peers_free(kafu_node_peers *p);

/* The pool entry for node `name`, or NULL if the config has no such node. */
kafu_node_peer *kafu_node_peers_find(kafu_node_peers *p, const char *name);

/* With peer->lock held: returns a connected fd, connecting (and HELLO-ing)
 * if needed. Errors: as kafu_node_connect. */
kafu_err kafu_node_peer_fd(kafu_node_peers *p, kafu_node_peer *peer, int *fd, kafu_error *err);
/* With peer->lock held: forget a broken connection. */
void kafu_node_peer_drop(kafu_node_peer *peer);
/* Records a HEARTBEAT reply from node `name` (ignored if not in the config)
 * to a request sent at sent_ms that arrived at recv_ms and reported
 * uptime_ms. Thread-safe; takes no peer->lock. */
void kafu_node_peers_note_reply(kafu_node_peers *p, const char *name, double sent_ms,
                                double recv_ms, uint64_t uptime_ms);
/* What replies told about node `name` so far (all zero if none or unknown).
 * Thread-safe; takes no peer->lock. */
kafu_node_peer_life kafu_node_peers_life(kafu_node_peers *p, const char *name);
bool kafu_node_peer_has_module(const kafu_node_peer *peer, const uint8_t sha[KAFU_SHA256_LEN]);
void kafu_node_peer_note_module(kafu_node_peer *peer, const uint8_t sha[KAFU_SHA256_LEN]);

#endif
