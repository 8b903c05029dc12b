/* The client side of the protocol, for kafu run, kafu resume and kafu
 * offload: stage a module on a node, submit a job, read its ordered output
 * stream, ask a node to offload. */
#ifndef KAFU_NODE_CLIENT_H
#define KAFU_NODE_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "node/config.h"
#include "node/peers.h"

/* Connects to node n as a client named `name` (HELLO exchanged).
 * Errors: KAFU_E_IO naming the node and address. */
kafu_err kafu_node_client_connect(const kafu_config *cfg, const kafu_config_node *n,
                                  const char *name, int timeout_ms, int *fd, kafu_error *err);

/* Makes sure the node holds the module (MODULE_HAVE, then MODULE_PUT if
 * missing; the node loads it before answering, so timeout_ms must cover an
 * aot compile). *sent is set to whether the bytes were sent. */
kafu_err kafu_node_client_stage(int fd, const uint8_t *wasm, size_t len,
                                const uint8_t sha[KAFU_SHA256_LEN], int timeout_ms, int *sent,
                                kafu_error *err);

/* Submits a job (the module must be staged, or the node asks for it with
 * MODULE_NEED, which this answers). On success *job_id is set and the
 * connection carries the job's EVENT/OUTPUT/EXIT frames. */
typedef struct kafu_node_submit {
  const uint8_t *wasm;
  size_t wasm_len;
  uint8_t sha256[KAFU_SHA256_LEN];
  const char *client;
  const char *program;
  const char **args;
  uint32_t n_args;
  const char **env;
  uint32_t n_env;
  uint32_t flags;
  uint64_t chaos_seed;
} kafu_node_submit;

kafu_err kafu_node_client_submit(int fd, const kafu_node_submit *s, int timeout_ms,
                                 uint64_t *job_id, kafu_error *err);

/* What kafu_node_client_stream calls besides writing output; any may be
 * NULL. Strings are borrowed for the call. */
typedef struct kafu_node_stream_hooks {
  /* Before each wait for a frame (at least every 200 ms): a non-zero
   * return (err filled) ends the stream with it, e.g. a node that died. */
  kafu_err (*check)(void *ud, kafu_error *err);
  void (*on_event)(void *ud, const char *text); /* each EVENT line */
  void (*on_exit)(void *ud, const char *node);  /* the EXIT, from the node it names */
  void *ud;
} kafu_node_stream_hooks;

/* Reads a job's stream on fd (the connection that carried its SUBMIT, or
 * kafu resume's MIGRATE) until its EXIT, writing OUTPUT data to this
 * process's stdout or stderr (the frame's fd) as it comes; the coordinator
 * sends frames in program order. hooks may be NULL. Returns KAFU_OK with the
 * program's exit code in *exit_code, or KAFU_E_TRAP "NODE: message" for an
 * EXIT with status error; KAFU_E_IO when *interrupted (signal handler's
 * flag, may be NULL) is set, after timeout_s seconds (0 = none), when the
 * connection breaks, for an ERROR/NACK from the coordinator, or when output
 * cannot be written; KAFU_E_INPUT for a frame of another type; or what
 * hooks->check returned. */
kafu_err kafu_node_client_stream(int fd, unsigned timeout_s, const volatile int *interrupted,
                                 const kafu_node_stream_hooks *hooks, int *exit_code,
                                 kafu_error *err);

/* Sends OFFLOAD_NOW and waits for the ACK. */
kafu_err kafu_node_client_offload(int fd, const char *dst_node, int timeout_ms, kafu_error *err);

#endif
