/* The migration stack: one frame per active annotated call, recording the
 * node it was entered from, and its encoding inside snapshots. */
#include <stdlib.h>
#include <string.h>

#include "runtime/job_internal.h"

#define MIGSTACK_VERSION 1u
#define MIGSTACK_MAX_DEPTH (1u << 20)

kafu_err kafu_migstack_push(kafu_job *job, uint32_t site_id, const char *from) {
  if (job->depth == job->cap) {
    size_t cap = job->cap ? job->cap * 2 : 16;
    if (cap > MIGSTACK_MAX_DEPTH) return KAFU_E_LIMIT;
    kafu_mig_frame *s = realloc(job->stack, cap * sizeof *s);
    if (!s) return KAFU_E_NOMEM;
    job->stack = s;
    job->cap = cap;
  }
  kafu_mig_frame *f = &job->stack[job->depth++];
  memset(f, 0, sizeof *f);
  f->site_id = site_id;
  size_t n = strnlen(from, sizeof f->from - 1);
  memcpy(f->from, from, n);
  f->from[n] = '\0';
  return KAFU_OK;
}

static void put_name(kafu_buf *out, const char *s) {
  size_t n = strnlen(s, KAFU_NODE_NAME_MAX - 1);
  kafu_buf_u32le(out, (uint32_t)n);
  kafu_buf_append(out, s, n);
}

void kafu_migstack_encode(const kafu_job *job, kafu_buf *out) {
  kafu_buf_u32le(out, MIGSTACK_VERSION);
  put_name(out, job->node);
  kafu_buf_u64le(out, job->n_points);
  kafu_buf_u32le(out, job->state_base);
  kafu_buf_u32le(out, (uint32_t)job->depth);
  for (size_t i = 0; i < job->depth; i++) {
    kafu_buf_u32le(out, job->stack[i].site_id);
    put_name(out, job->stack[i].from);
  }
}

static bool get_name(kafu_rd *r, char out[KAFU_NODE_NAME_MAX]) {
  uint32_t n = kafu_rd_u32le(r);
  if (n >= KAFU_NODE_NAME_MAX) return false;
  const uint8_t *p = kafu_rd_bytes(r, n);
  if (!p) return false;
  memcpy(out, p, n);
  out[n] = '\0';
  return true;
}

kafu_err kafu_migstack_decode(kafu_job *job, const uint8_t *data, size_t len, kafu_error *err) {
  kafu_rd r = kafu_rd_init(data, len);
  char src[KAFU_NODE_NAME_MAX];
  if (kafu_rd_u32le(&r) != MIGSTACK_VERSION || r.bad)
    return kafu_fail(err, KAFU_E_INPUT, "snapshot: unsupported migration stack version");
  if (!get_name(&r, src)) goto bad;
  uint64_t n_points = kafu_rd_u64le(&r);
  uint32_t state_base = kafu_rd_u32le(&r);
  uint32_t depth = kafu_rd_u32le(&r);
  if (r.bad) goto bad;
  /* each frame needs at least 8 bytes: refuse counts the input cannot hold */
  if (depth > MIGSTACK_MAX_DEPTH || depth > kafu_rd_left(&r) / 8)
    return kafu_fail(err, KAFU_E_INPUT, "snapshot: migration stack depth %u too large", depth);
  job->depth = 0;
  for (uint32_t i = 0; i < depth; i++) {
    uint32_t site = kafu_rd_u32le(&r);
    char from[KAFU_NODE_NAME_MAX];
    if (!get_name(&r, from)) goto bad;
    if (site >= job->prog->meta.n_sites)
      return kafu_fail(err, KAFU_E_INPUT, "snapshot: migration stack names unknown site %u", site);
    if (kafu_migstack_push(job, site, from))
      return kafu_fail(err, KAFU_E_NOMEM, "out of memory");
  }
  if (kafu_rd_left(&r) != 0) goto bad;
  job->n_points = n_points;
  job->state_base = state_base;
  return KAFU_OK;
bad:
  return kafu_fail(err, KAFU_E_INPUT, "snapshot: malformed migration stack");
}
