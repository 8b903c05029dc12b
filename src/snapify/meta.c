/* The `kafu` custom section: encoding, and decoding of hostile payloads
 * (every count and length is checked against the bytes that remain). */
#include "snapify/meta.h"

#include <stdlib.h>
#include <string.h>

#include "snapify/sections.h"

#define META_VERSION 1
/* smallest encodings, used to bound counts before allocating */
#define MIN_SITE_BYTES (1 + 4 + 4 + 4 + 4)
#define MIN_NAME_BYTES 4

static char *dup_str(const char *s) {
  size_t n = strlen(s ? s : "");
  char *p = malloc(n + 1);
  if (p) memcpy(p, s ? s : "", n + 1);
  return p;
}

void kafu_meta_free(kafu_meta *m) {
  if (!m) return;
  for (size_t i = 0; i < m->n_sites; i++) {
    free(m->sites[i].func);
    free(m->sites[i].node);
    free(m->sites[i].file);
  }
  free(m->sites);
  for (uint32_t i = 0; i < m->n_instrumented; i++) free(m->instrumented[i]);
  free(m->instrumented);
  memset(m, 0, sizeof *m);
}

int kafu_meta_add_site(kafu_meta *m, kafu_site_kind kind, const char *func, const char *node,
                       const char *file, uint32_t line) {
  kafu_site *sites = realloc(m->sites, (m->n_sites + 1) * sizeof *sites);
  if (!sites) return -1;
  m->sites = sites;
  kafu_site *s = &sites[m->n_sites];
  s->kind = kind;
  s->func = dup_str(func);
  s->node = dup_str(node);
  s->file = dup_str(file);
  s->line = line;
  if (!s->func || !s->node || !s->file) {
    free(s->func);
    free(s->node);
    free(s->file);
    return -1;
  }
  return (int)m->n_sites++;
}

void kafu_meta_encode(const kafu_meta *m, kafu_buf *out) {
  kafu_buf_append(out, "KAFU", 4);
  kafu_buf_u8(out, META_VERSION);
  kafu_buf_u8(out, m->flags);
  kafu_buf_u32le(out, (uint32_t)m->n_sites);
  for (size_t i = 0; i < m->n_sites; i++) {
    const kafu_site *s = &m->sites[i];
    kafu_buf_u8(out, (uint8_t)s->kind);
    kafu_buf_str(out, s->func ? s->func : "");
    kafu_buf_str(out, s->node ? s->node : "");
    kafu_buf_str(out, s->file ? s->file : "");
    kafu_buf_u32le(out, s->line);
  }
  kafu_buf_u32le(out, m->state_base);
  kafu_buf_u32le(out, m->state_size);
  kafu_buf_u32le(out, m->n_globals);
  kafu_buf_u32le(out, m->code_size_before);
  kafu_buf_u32le(out, m->code_size_after);
  kafu_buf_u32le(out, m->n_funcs);
  kafu_buf_u32le(out, m->n_instrumented);
  for (uint32_t i = 0; i < m->n_instrumented; i++) kafu_buf_str(out, m->instrumented[i]);
}

/* Reads a u32-length string; NULL (with *why set) when short or holding a NUL. */
static char *read_str(kafu_rd *r, const char **why) {
  uint32_t n = kafu_rd_u32le(r);
  if (r->bad) {
    *why = "truncated string length";
    return NULL;
  }
  const uint8_t *p = kafu_rd_bytes(r, n);
  if (!p) {
    *why = "string runs past the end";
    return NULL;
  }
  if (memchr(p, 0, n)) {
    r->bad = true;
    *why = "string contains a NUL byte";
    return NULL;
  }
  char *s = malloc((size_t)n + 1);
  if (!s) {
    *why = "out of memory";
    return NULL;
  }
  memcpy(s, p, n);
  s[n] = '\0';
  return s;
}

kafu_err kafu_meta_decode(const uint8_t *payload, size_t len, kafu_meta *out, kafu_error *err) {
  kafu_rd r = kafu_rd_init(payload, len);
  kafu_meta m = {0};
  const char *why = NULL;
  kafu_err rc = KAFU_E_INPUT;
  const uint8_t *magic = kafu_rd_bytes(&r, 4);
  if (!magic || memcmp(magic, "KAFU", 4) != 0) {
    why = "bad magic";
    goto out;
  }
  uint8_t version = kafu_rd_u8(&r);
  if (r.bad) {
    why = "truncated header";
    goto out;
  }
  if (version != META_VERSION) {
    kafu_fail(err, KAFU_E_INPUT, "kafu section: unsupported version %u", version);
    goto out_msg;
  }
  m.flags = kafu_rd_u8(&r);
  uint32_t n_sites = kafu_rd_u32le(&r);
  if (r.bad) {
    why = "truncated header";
    goto out;
  }
  if (n_sites > kafu_rd_left(&r) / MIN_SITE_BYTES) {
    why = "site count exceeds the section size";
    goto out;
  }
  if (n_sites) {
    m.sites = calloc(n_sites, sizeof *m.sites);
    if (!m.sites) {
      rc = KAFU_E_NOMEM;
      why = "out of memory";
      goto out;
    }
  }
  for (uint32_t i = 0; i < n_sites; i++) {
    kafu_site *s = &m.sites[i];
    uint8_t kind = kafu_rd_u8(&r);
    if (r.bad) {
      why = "truncated site";
      goto out;
    }
    if (kind < KAFU_SITE_DEST || kind > KAFU_SITE_POINT) {
      kafu_fail(err, KAFU_E_INPUT, "kafu section: site %u has unknown kind %u", i, kind);
      goto out_msg;
    }
    s->kind = (kafu_site_kind)kind;
    m.n_sites = i + 1; /* so that kafu_meta_free releases what was read */
    if (!(s->func = read_str(&r, &why)) || !(s->node = read_str(&r, &why)) ||
        !(s->file = read_str(&r, &why)))
      goto out;
    s->line = kafu_rd_u32le(&r);
    if (!s->func[0]) {
      why = "site with an empty function name";
      goto out;
    }
  }
  m.state_base = kafu_rd_u32le(&r);
  m.state_size = kafu_rd_u32le(&r);
  m.n_globals = kafu_rd_u32le(&r);
  m.code_size_before = kafu_rd_u32le(&r);
  m.code_size_after = kafu_rd_u32le(&r);
  m.n_funcs = kafu_rd_u32le(&r);
  uint32_t n_instrumented = kafu_rd_u32le(&r);
  if (r.bad) {
    why = "truncated trailer";
    goto out;
  }
  if (n_instrumented > kafu_rd_left(&r) / MIN_NAME_BYTES) {
    why = "instrumented count exceeds the section size";
    goto out;
  }
  if (n_instrumented) {
    m.instrumented = calloc(n_instrumented, sizeof *m.instrumented);
    if (!m.instrumented) {
      rc = KAFU_E_NOMEM;
      why = "out of memory";
      goto out;
    }
  }
  for (uint32_t i = 0; i < n_instrumented; i++) {
    m.n_instrumented = i + 1;
    if (!(m.instrumented[i] = read_str(&r, &why))) goto out;
  }
  if (kafu_rd_left(&r) != 0) {
    kafu_fail(err, KAFU_E_INPUT, "kafu section: %zu trailing bytes", kafu_rd_left(&r));
    goto out_msg;
  }
  if (m.state_base && (uint64_t)m.state_base + m.state_size > UINT32_MAX) {
    why = "state region wraps around the address space";
    goto out;
  }
  *out = m;
  return KAFU_OK;
out:
  kafu_fail(err, rc, "kafu section: %s at offset %zu", why ? why : "malformed",
            kafu_rd_offset(&r));
out_msg:
  kafu_meta_free(&m);
  return rc;
}

kafu_err kafu_meta_read(const uint8_t *wasm, size_t len, kafu_meta *out, bool *found,
                        kafu_error *err) {
  kafu_wasm_section_iter it;
  kafu_wasm_section sec, kafu_sec = {0};
  bool done = false, have = false;
  *found = false;
  memset(out, 0, sizeof *out);
  kafu_err rc = kafu_snapify_sections_begin(&it, wasm, len, "", err);
  while (rc == KAFU_OK) {
    rc = kafu_snapify_sections_next(&it, &sec, &done, err);
    if (rc != KAFU_OK || done) break;
    if (!kafu_snapify_section_is(&sec, "kafu")) continue;
    if (have)
      return kafu_fail(err, KAFU_E_INPUT, "more than one kafu section (offset 0x%zx)",
                       sec.start);
    kafu_sec = sec;
    have = true;
  }
  if (rc != KAFU_OK || !have) return rc;
  rc = kafu_meta_decode(kafu_sec.body, kafu_sec.body_len, out, err);
  if (rc == KAFU_OK) *found = true;
  return rc;
}
