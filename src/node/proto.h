/* Kafu wire protocol v1: checksummed, versioned frames and the payload of each
 * message type. Pure encoding and decoding, no sockets (see node/net.h).
 * docs/protocol.md is the specification; this header is its C face. */
#ifndef KAFU_NODE_PROTO_H
#define KAFU_NODE_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/hash.h"

#define KAFU_PROTO_VERSION 1
#define KAFU_PROTO_MAGIC "KAFU" /* the first four bytes of every frame */
#define KAFU_PROTO_HEADER_LEN 48
#define KAFU_PROTO_MAX_PAYLOAD (1u << 30) /* 1 GiB, the hard ceiling of v1 */
#define KAFU_PROTO_NAME_MAX 63            /* node and client names */
#define KAFU_PROTO_STR_MAX 65536          /* any other string */
#define KAFU_PROTO_LIST_MAX 4096          /* args, env, status jobs */

/* Every message type: X(NAME, number, payload summary). Numbers are wire
 * values and never change meaning within a protocol version. */
#define KAFU_PROTO_TYPES(X)                                                      \
  X(HELLO, 1, "version, role, name, cluster, software")                          \
  X(HEARTBEAT, 2, "node, load, jobs, uptime")                                    \
  X(MODULE_HAVE, 3, "sha256, present")                                           \
  X(MODULE_NEED, 4, "sha256")                                                    \
  X(MODULE_PUT, 5, "sha256, module bytes")                                       \
  X(SUBMIT, 6, "module, origin, program, args, env, flags, seed")                \
  X(MIGRATE, 7, "module, from, to, origin, function, reason, site, seq, state")  \
  X(ACK, 8, "acked type, restore time")                                          \
  X(COMMIT, 9, "migration event text")                                         \
  X(NACK, 10, "code, message")                                                   \
  X(ERROR, 11, "code, message")                                                  \
  X(OUTPUT, 12, "fd, output seq, bytes")                                         \
  X(EXIT, 13, "status, code, node, message")                                     \
  X(STATUS, 14, "(empty)")                                                       \
  X(STATUS_REPLY, 15, "node, load, uptime, counters, jobs")                      \
  X(SHUTDOWN, 16, "reason")                                                      \
  X(OFFLOAD_NOW, 17, "destination node")                                        \
  X(EVENT, 18, "output seq, text")

typedef enum kafu_msg_type {
#define KAFU_PROTO_ENUM_(name, num, summary) KAFU_MSG_##name = num,
  KAFU_PROTO_TYPES(KAFU_PROTO_ENUM_)
#undef KAFU_PROTO_ENUM_
  KAFU_MSG_TYPE_END
} kafu_msg_type;

/* "HELLO", "MIGRATE", ...; "unknown" for numbers outside the table. */
const char *kafu_proto_type_name(unsigned type);
bool kafu_proto_type_valid(unsigned type);

/* Codes carried by NACK and ERROR. */
typedef enum kafu_proto_code {
  KAFU_PROTO_BAD_FRAME = 1,       /* framing, magic, checksum, length */
  KAFU_PROTO_BAD_VERSION = 2,     /* protocol version not spoken here */
  KAFU_PROTO_UNKNOWN_TYPE = 3,    /* frame type not in the table */
  KAFU_PROTO_BAD_PAYLOAD = 4,     /* payload does not decode */
  KAFU_PROTO_MODULE_MISSING = 5,  /* send MODULE_PUT first */
  KAFU_PROTO_MODULE_MISMATCH = 6, /* bytes do not hash to the named SHA-256 */
  KAFU_PROTO_UNKNOWN_JOB = 7,
  KAFU_PROTO_RESTORE_FAILED = 8, /* MIGRATE: the snapshot could not be restored */
  KAFU_PROTO_BUSY = 9,           /* try again later */
  KAFU_PROTO_SHUTTING_DOWN = 10,
  KAFU_PROTO_INTERNAL = 11,
  KAFU_PROTO_DUPLICATE_JOB = 12, /* SUBMIT or MIGRATE for a job already here */
  KAFU_PROTO_WRONG_CLUSTER = 13, /* HELLO from another cluster name */
} kafu_proto_code;

const char *kafu_proto_code_name(unsigned code);

/* ---- frames ---- */

/* Frame flags: none are defined in v1; a frame with any bit set is refused. */
#define KAFU_PROTO_FLAGS_KNOWN 0u

/* A decoded, validated frame header. */
typedef struct kafu_frame_header {
  uint8_t version;
  uint8_t type; /* a valid kafu_msg_type */
  uint16_t flags;
  uint64_t job_id; /* 0 when the message is not about a job */
  uint64_t seq;    /* request number; replies echo the request's */
  uint32_t payload_len;
  uint64_t payload_sum; /* kafu_checksum64 of the payload */
} kafu_frame_header;

/* Fills out[] with the header of a frame carrying payload[0..len), including
 * both checksums. Used by senders that write header and payload separately. */
void kafu_proto_header_pack(uint8_t out[KAFU_PROTO_HEADER_LEN], kafu_msg_type type, uint64_t job_id, uint64_t seq,
                            const void *payload, uint32_t len);

/* Appends one whole frame (header + payload) to out; check out->failed. */
void kafu_proto_frame_encode(kafu_buf *out, kafu_msg_type type, uint64_t job_id, uint64_t seq, const void *payload,
                             uint32_t len);

/* Validates the 48 header bytes of hostile input in this order: magic,
 * version, header checksum, flags, type, payload length <= max_payload (which
 * is capped at KAFU_PROTO_MAX_PAYLOAD). Errors: KAFU_E_INPUT with a message
 * naming the check ("bad frame magic ...", "bad frame checksum (header)", ...). */
kafu_err kafu_proto_header_decode(const uint8_t in[KAFU_PROTO_HEADER_LEN], uint32_t max_payload,
                                  kafu_frame_header *h, kafu_error *err);

/* Checks payload[0..h->payload_len) against h->payload_sum.
 * Error: KAFU_E_INPUT "bad frame checksum (payload)". */
kafu_err kafu_proto_payload_verify(const kafu_frame_header *h, const uint8_t *payload, kafu_error *err);

/* Decodes one frame from the start of buf[0..len): header and payload checks
 * as above. *payload borrows from buf; *consumed is the frame's size. A short
 * buffer is KAFU_E_INPUT "frame truncated: ...". */
kafu_err kafu_proto_frame_decode(const uint8_t *buf, size_t len, uint32_t max_payload, kafu_frame_header *h,
                                 const uint8_t **payload, size_t *consumed, kafu_error *err);

/* ---- messages ---- */

/* Bytes inside a payload; borrowed (decoders point into the frame). */
typedef struct kafu_bytes {
  const uint8_t *data;
  uint32_t len;
} kafu_bytes;

typedef enum kafu_hello_role {
  KAFU_HELLO_NODE = 1,   /* a node daemon (kafu serve) */
  KAFU_HELLO_CLIENT = 2, /* kafu run / kafu offload / a tool */
} kafu_hello_role;

typedef enum kafu_migrate_reason {
  KAFU_MIGRATE_DEST = 1,    /* entering a KAFU_DEST function */
  KAFU_MIGRATE_RETURN = 2,  /* returning to the caller's node */
  KAFU_MIGRATE_OFFLOAD = 3, /* a KAFU_MAY_OFFLOAD poll decided to move */
} kafu_migrate_reason;

typedef enum kafu_exit_status {
  KAFU_EXIT_CODE = 0,  /* the program exited; code is its exit code */
  KAFU_EXIT_ERROR = 1, /* trap or Kafu failure; message says which */
} kafu_exit_status;

typedef enum kafu_job_state {
  KAFU_JOB_RUNNING = 1,   /* executing on the replying node */
  KAFU_JOB_MIGRATING = 2, /* MIGRATE sent, COMMIT not yet */
  KAFU_JOB_AWAY = 3,      /* the job runs elsewhere; this node is its origin */
} kafu_job_state;

#define KAFU_SUBMIT_TRACE 0x1u /* collect trace events */
#define KAFU_SUBMIT_CHAOS 0x2u /* migrate pseudo-randomly (seed in chaos_seed) */
#define KAFU_SUBMIT_FLAGS_KNOWN 0x3u

typedef struct kafu_status_job {
  uint64_t job_id;
  uint8_t state; /* kafu_job_state */
  const char *detail; /* e.g. the function running; may be "" */
} kafu_status_job;

/* One message. Strings are NUL-terminated; an encoder treats NULL as "".
 * After kafu_proto_msg_decode the strings and arrays are owned by the message
 * (free with kafu_proto_msg_free) and every kafu_bytes borrows the payload. */
typedef struct kafu_msg {
  kafu_msg_type type;
  union {
    struct {
      uint16_t version; /* the sender's highest protocol version */
      uint8_t role;     /* kafu_hello_role */
      const char *name; /* node or client name (<= KAFU_PROTO_NAME_MAX) */
      const char *cluster;  /* the config's `name`; nodes refuse a mismatch */
      const char *software; /* free text, e.g. "kafu 0.1" */
    } hello;
    struct {
      const char *node;
      uint32_t load_permille; /* CPU load over the window, 1000 = 100 % */
      uint32_t n_jobs;        /* jobs running on the node */
      uint64_t uptime_ms;
    } heartbeat;
    struct {
      uint8_t hash[KAFU_SHA256_LEN];
      uint8_t present; /* 0 or 1 */
    } module_have;
    struct {
      uint8_t hash[KAFU_SHA256_LEN];
    } module_need;
    struct {
      uint8_t hash[KAFU_SHA256_LEN];
      kafu_bytes module; /* the Wasm binary; receivers check its SHA-256 */
    } module_put;
    struct {
      uint8_t module_hash[KAFU_SHA256_LEN];
      const char *origin;  /* who receives OUTPUT and EXIT (client name) */
      const char *program; /* argv[0] */
      uint32_t n_args;     /* <= KAFU_PROTO_LIST_MAX */
      const char **args;   /* argv[1..] */
      uint32_t n_env;
      const char **env; /* "KEY=VALUE" */
      uint32_t flags;   /* KAFU_SUBMIT_* */
      uint64_t chaos_seed;
    } submit;
    struct {
      uint8_t module_hash[KAFU_SHA256_LEN];
      const char *src_node;
      const char *dst_node;
      const char *origin;   /* the node the client is attached to */
      const char *function; /* the annotated function, for logs; may be "" */
      uint8_t reason;       /* kafu_migrate_reason */
      uint32_t site_id;     /* the migration site in the module */
      uint64_t next_output_seq; /* the job's next OUTPUT sequence number */
      kafu_bytes snapshot;      /* docs/snapshot-format.md */
      /* The daemon's job context (argv, env, chaos state; docs/cluster.md),
       * opaque to the protocol; may be empty. Added after snapshot. */
      kafu_bytes context;
    } migrate;
    struct {
      uint8_t acked_type;  /* the request type acknowledged, e.g. MIGRATE */
      uint64_t restore_us; /* MIGRATE: time to restore; else 0 */
    } ack;
    struct {
      /* The EVENT line of the migration being committed: the destination
       * emits it at output seq next_output_seq - 1 (the number the source
       * reserved) before it starts the job. "" = no event (kafu resume). */
      const char *event;
    } commit;
    struct {
      uint16_t code; /* kafu_proto_code */
      const char *message;
    } fail; /* NACK and ERROR */
    struct {
      uint8_t fd;       /* 1 = stdout, 2 = stderr */
      uint64_t out_seq; /* per job, from 0, no gaps: the client prints in this order */
      kafu_bytes data;
    } output;
    struct {
      uint8_t status; /* kafu_exit_status */
      int32_t code;   /* exit code when status is KAFU_EXIT_CODE */
      const char *node;
      const char *message; /* the error when status is KAFU_EXIT_ERROR */
      uint64_t output_end; /* the number of OUTPUT messages of the job */
    } exit;
    struct {
      const char *node;
      uint32_t load_permille;
      uint64_t uptime_ms;
      uint64_t migrations_in, migrations_out;
      uint32_t n_jobs; /* <= KAFU_PROTO_LIST_MAX */
      const kafu_status_job *jobs;
    } status_reply;
    struct {
      const char *reason;
    } shutdown;
    struct {
      const char *dst_node; /* "" = the node named by the annotation */
    } offload_now;
    struct {
      /* A job event (start, migration) for the client's summary and trace,
       * ordered with the job's OUTPUT (it takes an output seq number). The
       * text is one line, docs/cluster.md describes its fields. */
      uint64_t out_seq;
      const char *text;
    } event;
  } u;
  void *owned_; /* allocations of a decoded message; private */
} kafu_msg;

/* Appends m's payload (not the frame header) to out. Errors: KAFU_E_LIMIT when
 * a string or list exceeds the protocol limits or the payload exceeds
 * KAFU_PROTO_MAX_PAYLOAD; KAFU_E_INPUT for an invalid type or enum field;
 * KAFU_E_NOMEM. */
kafu_err kafu_proto_msg_encode(const kafu_msg *m, kafu_buf *out, kafu_error *err);

/* Decodes the payload of a frame of the given type into *m (overwritten).
 * payload is hostile: every length and enum is checked, strings must hold no
 * NUL byte, and trailing bytes are refused. On success free with
 * kafu_proto_msg_free; m's kafu_bytes borrow payload, so keep it alive. On
 * failure *m is empty. Errors: KAFU_E_INPUT "MIGRATE payload: ...", KAFU_E_NOMEM. */
kafu_err kafu_proto_msg_decode(unsigned type, const uint8_t *payload, size_t len, kafu_msg *m, kafu_error *err);

/* Frees what a decode allocated; safe on encoded-only or zeroed messages. */
void kafu_proto_msg_free(kafu_msg *m);

/* For a decoded MODULE_PUT: checks that the module bytes hash to the named
 * SHA-256. Error: KAFU_E_INPUT "MODULE_PUT: module bytes hash to <hex>, not <hex>". */
kafu_err kafu_proto_module_verify(const kafu_msg *m, kafu_error *err);

/* Encodes m as one whole frame appended to out. Errors as kafu_proto_msg_encode. */
kafu_err kafu_proto_msg_frame(const kafu_msg *m, uint64_t job_id, uint64_t seq, kafu_buf *out, kafu_error *err);

#endif
