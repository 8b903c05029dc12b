/* Wire protocol v1 payloads: one field list per message type, walked by a
 * single codec in either direction, so that encoder and decoder cannot drift
 * apart. Decoding treats the payload as hostile. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/proto.h"

/* A decoded message's allocations, chained from kafu_msg.owned_. */
typedef struct owned_block {
  struct owned_block *next;
  max_align_t data[];
} owned_block;

typedef struct codec {
  bool encoding;
  kafu_buf *out;   /* encoding */
  kafu_rd rd;      /* decoding */
  kafu_msg *m;     /* decoding: where allocations are chained */
  const char *tname;
  kafu_error *err;
  kafu_err e; /* first failure; later field calls do nothing */
} codec;

__attribute__((format(printf, 4, 5))) static void fail(codec *c, kafu_err code, const char *field, const char *fmt,
                                                        ...) {
  if (c->e) return;
  char what[KAFU_ERROR_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  c->e = kafu_fail(c->err, code, "%s payload: field '%s' %s", c->tname, field, what);
}

static void *alloc(codec *c, size_t size) {
  owned_block *b = malloc(sizeof *b + size);
  if (!b) {
    if (!c->e) c->e = kafu_fail(c->err, KAFU_E_NOMEM, "%s payload: out of memory", c->tname);
    return NULL;
  }
  b->next = c->m->owned_;
  c->m->owned_ = b;
  return b->data;
}

/* Decoding: take n bytes or fail naming the field. */
static const uint8_t *take(codec *c, const char *field, size_t n) {
  if (c->e) return NULL;
  size_t left = kafu_rd_left(&c->rd);
  if (left < n) {
    fail(c, KAFU_E_INPUT, field, "truncated (needs %zu bytes, %zu left)", n, left);
    return NULL;
  }
  return kafu_rd_bytes(&c->rd, n);
}

static void f_u8(codec *c, const char *field, uint8_t *v) {
  if (c->e) return;
  if (c->encoding) {
    kafu_buf_u8(c->out, *v);
  } else {
    const uint8_t *p = take(c, field, 1);
    *v = p ? p[0] : 0;
  }
}

static void f_u16(codec *c, const char *field, uint16_t *v) {
  if (c->e) return;
  if (c->encoding) {
    kafu_buf_u16le(c->out, *v);
  } else if (kafu_rd_left(&c->rd) >= 2) {
    *v = kafu_rd_u16le(&c->rd);
  } else {
    take(c, field, 2);
  }
}

static void f_u32(codec *c, const char *field, uint32_t *v) {
  if (c->e) return;
  if (c->encoding) {
    kafu_buf_u32le(c->out, *v);
  } else if (kafu_rd_left(&c->rd) >= 4) {
    *v = kafu_rd_u32le(&c->rd);
  } else {
    take(c, field, 4);
  }
}

static void f_u64(codec *c, const char *field, uint64_t *v) {
  if (c->e) return;
  if (c->encoding) {
    kafu_buf_u64le(c->out, *v);
  } else if (kafu_rd_left(&c->rd) >= 8) {
    *v = kafu_rd_u64le(&c->rd);
  } else {
    take(c, field, 8);
  }
}

static void f_i32(codec *c, const char *field, int32_t *v) {
  uint32_t u = (uint32_t)*v;
  f_u32(c, field, &u);
  *v = (int32_t)u;
}

static void f_hash(codec *c, const char *field, uint8_t hash[KAFU_SHA256_LEN]) {
  if (c->e) return;
  if (c->encoding) {
    kafu_buf_append(c->out, hash, KAFU_SHA256_LEN);
  } else {
    const uint8_t *p = take(c, field, KAFU_SHA256_LEN);
    if (p) memcpy(hash, p, KAFU_SHA256_LEN);
  }
}

/* A string: u32 length + bytes, no NUL inside, at most max bytes. */
static void f_str(codec *c, const char *field, const char **s, size_t max) {
  if (c->e) return;
  if (c->encoding) {
    const char *v = *s ? *s : "";
    size_t n = strlen(v);
    if (n > max) return fail(c, KAFU_E_LIMIT, field, "too long (%zu bytes, max %zu)", n, max);
    kafu_buf_u32le(c->out, (uint32_t)n);
    kafu_buf_append(c->out, v, n);
    return;
  }
  uint32_t n = 0;
  f_u32(c, field, &n);
  if (c->e) return;
  if (n > max) return fail(c, KAFU_E_INPUT, field, "too long (%u bytes, max %zu)", n, max);
  const uint8_t *p = take(c, field, n);
  if (!p) return;
  if (memchr(p, 0, n)) return fail(c, KAFU_E_INPUT, field, "contains a NUL byte");
  if (n == 0) {
    *s = "";
    return;
  }
  char *copy = alloc(c, (size_t)n + 1);
  if (!copy) return;
  memcpy(copy, p, n);
  copy[n] = '\0';
  *s = copy;
}

/* Bytes: u32 length + bytes, borrowed from the payload when decoding. */
static void f_bytes(codec *c, const char *field, kafu_bytes *b) {
  if (c->e) return;
  if (c->encoding) {
    if (b->len && !b->data) return fail(c, KAFU_E_INPUT, field, "has a length but no data");
    kafu_buf_u32le(c->out, b->len);
    kafu_buf_append(c->out, b->data, b->len);
    return;
  }
  uint32_t n = 0;
  f_u32(c, field, &n);
  const uint8_t *p = take(c, field, n);
  b->data = p;
  b->len = p ? n : 0;
}

/* A count followed by that many items, each at least min_item bytes long
 * when encoded, so a hostile count cannot make us allocate more than the
 * payload could describe. */
static bool f_count(codec *c, const char *field, uint32_t *n, size_t min_item) {
  if (c->encoding && *n > KAFU_PROTO_LIST_MAX) {
    fail(c, KAFU_E_LIMIT, field, "has too many items (%u, max %d)", *n, KAFU_PROTO_LIST_MAX);
    return false;
  }
  f_u32(c, field, n);
  if (c->e) return false;
  if (!c->encoding && (*n > KAFU_PROTO_LIST_MAX || (size_t)*n * min_item > kafu_rd_left(&c->rd))) {
    fail(c, KAFU_E_INPUT, field, "count %u is impossible (max %d, %zu bytes left)", *n, KAFU_PROTO_LIST_MAX,
         kafu_rd_left(&c->rd));
    return false;
  }
  return true;
}

static void f_strlist(codec *c, const char *field, uint32_t *n, const char ***list) {
  if (!f_count(c, field, n, 4)) return;
  if (!c->encoding) {
    *list = NULL;
    if (*n == 0) return;
    *list = alloc(c, sizeof **list * *n);
    if (!*list) return;
    for (uint32_t i = 0; i < *n; i++) (*list)[i] = "";
  } else if (*n && !*list) {
    return fail(c, KAFU_E_INPUT, field, "has %u items but no array", *n);
  }
  for (uint32_t i = 0; i < *n && !c->e; i++) {
    char item[64];
    snprintf(item, sizeof item, "%.40s[%u]", field, i);
    f_str(c, item, &(*list)[i], KAFU_PROTO_STR_MAX);
  }
}

static void f_jobs(codec *c, uint32_t *n, const kafu_status_job **jobs) {
  kafu_status_job *out = NULL;
  if (!f_count(c, "jobs", n, 8 + 1 + 4)) return;
  if (!c->encoding && *n) {
    out = alloc(c, sizeof *out * *n);
    if (!out) return;
    memset(out, 0, sizeof *out * *n);
    *jobs = out;
  } else if (c->encoding && *n && !*jobs) {
    return fail(c, KAFU_E_INPUT, "jobs", "has %u items but no array", *n);
  }
  for (uint32_t i = 0; i < *n && !c->e; i++) {
    kafu_status_job job = (*jobs)[i];
    f_u64(c, "jobs.job_id", &job.job_id);
    f_u8(c, "jobs.state", &job.state);
    f_str(c, "jobs.detail", &job.detail, KAFU_PROTO_STR_MAX);
    if (out) out[i] = job;
  }
}

/* An enum-like field must hold one of the listed values (ok is the check). */
static void check(codec *c, const char *field, bool ok, unsigned value) {
  if (!ok) fail(c, KAFU_E_INPUT, field, "has invalid value %u", value);
}

/* The field list of every message type, in wire order. */
static void walk(codec *c, kafu_msg *m) {
  switch (m->type) {
  case KAFU_MSG_HELLO:
    f_u16(c, "version", &m->u.hello.version);
    f_u8(c, "role", &m->u.hello.role);
    f_str(c, "name", &m->u.hello.name, KAFU_PROTO_NAME_MAX);
    f_str(c, "cluster", &m->u.hello.cluster, KAFU_PROTO_STR_MAX);
    f_str(c, "software", &m->u.hello.software, KAFU_PROTO_STR_MAX);
    if (!c->e) check(c, "version", m->u.hello.version >= 1, m->u.hello.version);
    if (!c->e)
      check(c, "role", m->u.hello.role == KAFU_HELLO_NODE || m->u.hello.role == KAFU_HELLO_CLIENT, m->u.hello.role);
    break;
  case KAFU_MSG_HEARTBEAT:
    f_str(c, "node", &m->u.heartbeat.node, KAFU_PROTO_NAME_MAX);
    f_u32(c, "load_permille", &m->u.heartbeat.load_permille);
    f_u32(c, "n_jobs", &m->u.heartbeat.n_jobs);
    f_u64(c, "uptime_ms", &m->u.heartbeat.uptime_ms);
    break;
  case KAFU_MSG_MODULE_HAVE:
    f_hash(c, "sha256", m->u.module_have.hash);
    f_u8(c, "present", &m->u.module_have.present);
    if (!c->e) check(c, "present", m->u.module_have.present <= 1, m->u.module_have.present);
    break;
  case KAFU_MSG_MODULE_NEED:
    f_hash(c, "sha256", m->u.module_need.hash);
    break;
  case KAFU_MSG_MODULE_PUT:
    f_hash(c, "sha256", m->u.module_put.hash);
    f_bytes(c, "module", &m->u.module_put.module);
    break;
  case KAFU_MSG_SUBMIT:
    f_hash(c, "module", m->u.submit.module_hash);
    f_str(c, "origin", &m->u.submit.origin, KAFU_PROTO_NAME_MAX);
    f_str(c, "program", &m->u.submit.program, KAFU_PROTO_STR_MAX);
    f_strlist(c, "args", &m->u.submit.n_args, &m->u.submit.args);
    f_strlist(c, "env", &m->u.submit.n_env, &m->u.submit.env);
    f_u32(c, "flags", &m->u.submit.flags);
    f_u64(c, "chaos_seed", &m->u.submit.chaos_seed);
    if (!c->e) check(c, "flags", !(m->u.submit.flags & ~KAFU_SUBMIT_FLAGS_KNOWN), m->u.submit.flags);
    break;
  case KAFU_MSG_MIGRATE:
    f_hash(c, "module", m->u.migrate.module_hash);
    f_str(c, "src_node", &m->u.migrate.src_node, KAFU_PROTO_NAME_MAX);
    f_str(c, "dst_node", &m->u.migrate.dst_node, KAFU_PROTO_NAME_MAX);
    f_str(c, "origin", &m->u.migrate.origin, KAFU_PROTO_NAME_MAX);
    f_str(c, "function", &m->u.migrate.function, KAFU_PROTO_STR_MAX);
    f_u8(c, "reason", &m->u.migrate.reason);
    f_u32(c, "site_id", &m->u.migrate.site_id);
    f_u64(c, "next_output_seq", &m->u.migrate.next_output_seq);
    f_bytes(c, "snapshot", &m->u.migrate.snapshot);
    f_bytes(c, "context", &m->u.migrate.context);
    if (!c->e)
      check(c, "reason", m->u.migrate.reason >= KAFU_MIGRATE_DEST && m->u.migrate.reason <= KAFU_MIGRATE_OFFLOAD,
            m->u.migrate.reason);
    break;
  case KAFU_MSG_ACK:
    f_u8(c, "acked_type", &m->u.ack.acked_type);
    f_u64(c, "restore_us", &m->u.ack.restore_us);
    if (!c->e) check(c, "acked_type", kafu_proto_type_valid(m->u.ack.acked_type), m->u.ack.acked_type);
    break;
  case KAFU_MSG_NACK:
  case KAFU_MSG_ERROR:
    f_u16(c, "code", &m->u.fail.code);
    f_str(c, "message", &m->u.fail.message, KAFU_PROTO_STR_MAX);
    break;
  case KAFU_MSG_OUTPUT:
    f_u8(c, "fd", &m->u.output.fd);
    f_u64(c, "out_seq", &m->u.output.out_seq);
    f_bytes(c, "data", &m->u.output.data);
    if (!c->e) check(c, "fd", m->u.output.fd == 1 || m->u.output.fd == 2, m->u.output.fd);
    break;
  case KAFU_MSG_EXIT:
    f_u8(c, "status", &m->u.exit.status);
    f_i32(c, "code", &m->u.exit.code);
    f_str(c, "node", &m->u.exit.node, KAFU_PROTO_NAME_MAX);
    f_str(c, "message", &m->u.exit.message, KAFU_PROTO_STR_MAX);
    f_u64(c, "output_end", &m->u.exit.output_end);
    if (!c->e) check(c, "status", m->u.exit.status <= KAFU_EXIT_ERROR, m->u.exit.status);
    break;
  case KAFU_MSG_COMMIT:
    f_str(c, "event", &m->u.commit.event, KAFU_PROTO_STR_MAX);
    break;
  case KAFU_MSG_STATUS:
    break; /* empty payload */
  case KAFU_MSG_STATUS_REPLY:
    f_str(c, "node", &m->u.status_reply.node, KAFU_PROTO_NAME_MAX);
    f_u32(c, "load_permille", &m->u.status_reply.load_permille);
    f_u64(c, "uptime_ms", &m->u.status_reply.uptime_ms);
    f_u64(c, "migrations_in", &m->u.status_reply.migrations_in);
    f_u64(c, "migrations_out", &m->u.status_reply.migrations_out);
    f_jobs(c, &m->u.status_reply.n_jobs, &m->u.status_reply.jobs);
    for (uint32_t i = 0; i < m->u.status_reply.n_jobs && !c->e; i++) {
      uint8_t state = m->u.status_reply.jobs[i].state;
      check(c, "jobs.state", state >= KAFU_JOB_RUNNING && state <= KAFU_JOB_AWAY, state);
    }
    break;
  case KAFU_MSG_SHUTDOWN:
    f_str(c, "reason", &m->u.shutdown.reason, KAFU_PROTO_STR_MAX);
    break;
  case KAFU_MSG_OFFLOAD_NOW:
    f_str(c, "dst_node", &m->u.offload_now.dst_node, KAFU_PROTO_NAME_MAX);
    break;
  case KAFU_MSG_EVENT:
    f_u64(c, "out_seq", &m->u.event.out_seq);
    f_str(c, "text", &m->u.event.text, KAFU_PROTO_STR_MAX);
    break;
  case KAFU_MSG_TYPE_END:
    break;
  }
}

kafu_err kafu_proto_msg_encode(const kafu_msg *m, kafu_buf *out, kafu_error *err) {
  if (!kafu_proto_type_valid(m->type))
    return kafu_fail(err, KAFU_E_INPUT, "cannot encode message of unknown type %u", (unsigned)m->type);
  kafu_msg copy = *m; /* walk() takes a mutable message; encoding only reads it */
  size_t start = out->len;
  codec c = {.encoding = true, .out = out, .tname = kafu_proto_type_name(m->type), .err = err};
  walk(&c, &copy);
  if (!c.e && out->failed) c.e = kafu_fail(err, KAFU_E_NOMEM, "%s payload: out of memory", c.tname);
  if (!c.e && out->len - start > KAFU_PROTO_MAX_PAYLOAD)
    c.e = kafu_fail(err, KAFU_E_LIMIT, "%s payload too large (%zu bytes, max %u)", c.tname, out->len - start,
                    KAFU_PROTO_MAX_PAYLOAD);
  if (c.e && !out->failed) out->len = start;
  return c.e;
}

kafu_err kafu_proto_msg_decode(unsigned type, const uint8_t *payload, size_t len, kafu_msg *m, kafu_error *err) {
  memset(m, 0, sizeof *m);
  if (!kafu_proto_type_valid(type)) return kafu_fail(err, KAFU_E_INPUT, "unknown message type %u", type);
  m->type = (kafu_msg_type)type;
  codec c = {.encoding = false, .rd = kafu_rd_init(len ? payload : (const uint8_t *)"", len), .m = m,
             .tname = kafu_proto_type_name(type), .err = err};
  walk(&c, m);
  if (!c.e && kafu_rd_left(&c.rd))
    c.e = kafu_fail(err, KAFU_E_INPUT, "%s payload: %zu trailing bytes", c.tname, kafu_rd_left(&c.rd));
  if (c.e) {
    kafu_proto_msg_free(m);
    return c.e;
  }
  return KAFU_OK;
}

void kafu_proto_msg_free(kafu_msg *m) {
  if (!m) return;
  owned_block *b = m->owned_;
  while (b) {
    owned_block *next = b->next;
    free(b);
    b = next;
  }
  memset(m, 0, sizeof *m);
}

kafu_err kafu_proto_module_verify(const kafu_msg *m, kafu_error *err) {
  if (m->type != KAFU_MSG_MODULE_PUT) return kafu_fail(err, KAFU_E_INTERNAL, "module_verify on a %s", kafu_proto_type_name(m->type));
  uint8_t got[KAFU_SHA256_LEN];
  const kafu_bytes *mod = &m->u.module_put.module;
  kafu_sha256(mod->len ? mod->data : (const uint8_t *)"", mod->len, got);
  if (memcmp(got, m->u.module_put.hash, KAFU_SHA256_LEN) == 0) return KAFU_OK;
  char got_hex[65], want_hex[65];
  kafu_sha256_hex(got, got_hex);
  kafu_sha256_hex(m->u.module_put.hash, want_hex);
  return kafu_fail(err, KAFU_E_INPUT, "MODULE_PUT: module bytes hash to %s, not %s", got_hex, want_hex);
}

kafu_err kafu_proto_msg_frame(const kafu_msg *m, uint64_t job_id, uint64_t seq, kafu_buf *out, kafu_error *err) {
  kafu_buf payload = {0};
  kafu_err e = kafu_proto_msg_encode(m, &payload, err);
  if (!e) {
    kafu_proto_frame_encode(out, m->type, job_id, seq, payload.data, (uint32_t)payload.len);
    if (out->failed) e = kafu_fail(err, KAFU_E_NOMEM, "%s frame: out of memory", kafu_proto_type_name(m->type));
  }
  kafu_buf_free(&payload);
  return e;
}
