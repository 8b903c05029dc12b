/* Client requests: module staging, job submission, manual offload. */
#include "node/client.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

kafu_err kafu_node_client_offload(int fd, const char *dst_node, int timeout_ms, kafu_error *err) {
  kafu_msg m = {.type = KAFU_MSG_OFFLOAD_NOW};
  m.u.offload_now.dst_node = dst_node ? dst_node : "";
  kafu_node_frame reply;
  kafu_err rc = kafu_node_request(fd, &m, 0, timeout_ms, &reply, NULL, err);
  if (!rc) rc = expect(&reply, KAFU_MSG_ACK, err);
  kafu_node_frame_free(&reply);
  return rc;
}
