/* Client requests: module staging, job submission, a job's output stream,
 * manual offload. */
#include "node/client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "node/policy.h"

kafu_err kafu_node_client_connect(const kafu_config *cfg, const kafu_config_node *n,
                                  const char *name, int timeout_ms, int *fd, kafu_error *err) {
  kafu_err rc = kafu_node_connect(n->address, n->port, timeout_ms, KAFU_HELLO_CLIENT, name,
                                  cfg->name, fd, err);
  if (rc) kafu_error_prefix(err, n->name);
  return rc;
}

static kafu_err expect(const kafu_node_frame *f, kafu_msg_type type, kafu_error *err) {
  if (f->h.type == type) return KAFU_OK;
  return kafu_fail(err, KAFU_E_INPUT, "expected %s, got %s", kafu_proto_type_name(type),
                   kafu_proto_type_name(f->h.type));
}

static kafu_err put_module(int fd, const uint8_t *wasm, size_t len,
                           const uint8_t sha[KAFU_SHA256_LEN], int timeout_ms,
                           kafu_node_frame *reply, kafu_error *err) {
  kafu_msg put = {.type = KAFU_MSG_MODULE_PUT};
  memcpy(put.u.module_put.hash, sha, KAFU_SHA256_LEN);
  put.u.module_put.module.data = wasm;
  put.u.module_put.module.len = (uint32_t)len;
  return kafu_node_request(fd, &put, 0, timeout_ms, reply, NULL, err);
}

kafu_err kafu_node_client_stage(int fd, const uint8_t *wasm, size_t len,
                                const uint8_t sha[KAFU_SHA256_LEN], int timeout_ms, int *sent,
                                kafu_error *err) {
  kafu_msg have = {.type = KAFU_MSG_MODULE_HAVE};
  memcpy(have.u.module_have.hash, sha, KAFU_SHA256_LEN);
  kafu_node_frame reply;
  *sent = 0;
  kafu_err rc = kafu_node_request(fd, &have, 0, timeout_ms, &reply, NULL, err);
  if (!rc) rc = expect(&reply, KAFU_MSG_MODULE_HAVE, err);
  bool present = !rc && reply.msg.u.module_have.present;
  kafu_node_frame_free(&reply);
  if (rc || present) return rc;
  rc = put_module(fd, wasm, len, sha, timeout_ms, &reply, err);
  if (!rc) rc = expect(&reply, KAFU_MSG_ACK, err);
  kafu_node_frame_free(&reply);
  *sent = !rc;
  return rc;
}

kafu_err kafu_node_client_submit(int fd, const kafu_node_submit *s, int timeout_ms,
                                 uint64_t *job_id, kafu_error *err) {
  kafu_msg m = {.type = KAFU_MSG_SUBMIT};
  memcpy(m.u.submit.module_hash, s->sha256, KAFU_SHA256_LEN);
  m.u.submit.origin = s->client;
  m.u.submit.program = s->program;
  m.u.submit.n_args = s->n_args;
  m.u.submit.args = s->args;
  m.u.submit.n_env = s->n_env;
  m.u.submit.env = s->env;
  m.u.submit.flags = s->flags;
  m.u.submit.chaos_seed = s->chaos_seed;
  kafu_node_frame reply;
  kafu_err rc = kafu_node_request(fd, &m, 0, timeout_ms, &reply, NULL, err);
  if (!rc && reply.h.type == KAFU_MSG_MODULE_NEED) {
    kafu_node_frame_free(&reply);
    rc = put_module(fd, s->wasm, s->wasm_len, s->sha256, timeout_ms, &reply, err);
  }
  if (!rc) rc = expect(&reply, KAFU_MSG_ACK, err);
  if (!rc) *job_id = reply.h.job_id;
  kafu_node_frame_free(&reply);
  return rc;
}

static int write_all(int fd, const uint8_t *data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

/* One frame of the stream: *done once it was the EXIT. */
static kafu_err stream_frame(const kafu_node_frame *f, const kafu_node_stream_hooks *hooks,
                             int *exit_code, bool *done, kafu_error *err) {
  const kafu_msg *m = &f->msg;
  switch (f->h.type) {
  case KAFU_MSG_OUTPUT:
    if (write_all(m->u.output.fd == 2 ? 2 : 1, m->u.output.data.data, m->u.output.data.len))
      return kafu_fail(err, KAFU_E_IO, "writing the program's output: %s", strerror(errno));
    return KAFU_OK;
  case KAFU_MSG_EVENT:
    if (hooks && hooks->on_event) hooks->on_event(hooks->ud, m->u.event.text);
    return KAFU_OK;
  case KAFU_MSG_EXIT:
    *done = true;
    if (hooks && hooks->on_exit) hooks->on_exit(hooks->ud, m->u.exit.node);
    if (m->u.exit.status == KAFU_EXIT_ERROR)
      return kafu_fail(err, KAFU_E_TRAP, "%s: %s", m->u.exit.node, m->u.exit.message);
    *exit_code = m->u.exit.code;
    return KAFU_OK;
  case KAFU_MSG_ERROR:
  case KAFU_MSG_NACK: return kafu_fail(err, KAFU_E_IO, "coordinator: %s", m->u.fail.message);
  default:
    return kafu_fail(err, KAFU_E_INPUT, "unexpected %s from the coordinator",
                     kafu_proto_type_name(f->h.type));
  }
}

kafu_err kafu_node_client_stream(int fd, unsigned timeout_s, const volatile int *interrupted,
                                 const kafu_node_stream_hooks *hooks, int *exit_code,
                                 kafu_error *err) {
  double deadline = timeout_s ? kafu_node_now_ms() + timeout_s * 1e3 : -1;
  for (;;) {
    if (interrupted && *interrupted) return kafu_fail(err, KAFU_E_IO, "interrupted");
    if (deadline > 0 && kafu_node_now_ms() > deadline)
      return kafu_fail(err, KAFU_E_IO, "timed out after %u s", timeout_s);
    kafu_err rc = hooks && hooks->check ? hooks->check(hooks->ud, err) : KAFU_OK;
    if (rc) return rc;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 200) <= 0) continue;
    kafu_node_frame f;
    kafu_node_recv_fail why;
    if (kafu_node_recv(fd, 30000, KAFU_PROTO_MAX_PAYLOAD, interrupted, &f, &why, err))
      return kafu_error_prefix(err, "coordinator connection");
    bool done = false;
    rc = stream_frame(&f, hooks, exit_code, &done, err);
    kafu_node_frame_free(&f);
    if (rc || done) return rc;
  }
}

kafu_err kafu_node_client_offload(int fd, const char *dst_node, int timeout_ms, kafu_error *err) {
  kafu_msg m = {.type = KAFU_MSG_OFFLOAD_NOW};
  m.u.offload_now.dst_node = dst_node ? dst_node : "";
  kafu_node_frame reply;
  kafu_err rc = kafu_node_request(fd, &m, 0, timeout_ms, &reply, NULL, err);
  if (!rc) rc = expect(&reply, KAFU_MSG_ACK, err);
  kafu_node_frame_free(&reply);
  return rc;
}
