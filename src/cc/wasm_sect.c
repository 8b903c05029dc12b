/* Section-level reading and rewriting of wasm binaries for kafu cc. The
 * inputs come from wasm-ld or clang, but every length is still checked. */
#include "cc/wasm_sect.h"

#include <stdlib.h>
#include <string.h>

enum { SEC_CUSTOM = 0, SEC_IMPORT = 2, SEC_GLOBAL = 6, SEC_EXPORT = 7 };

void kafu_cc_sections_free(kafu_cc_sections *s) {
  free(s->v);
  s->v = NULL;
  s->n = 0;
}

kafu_err kafu_cc_wasm_sections(const uint8_t *wasm, size_t len, const char *label,
                               kafu_cc_sections *out, kafu_error *err) {
  static const uint8_t magic[8] = {0, 'a', 's', 'm', 1, 0, 0, 0};
  out->n = 0;
  out->v = NULL;
  if (len < 8 || memcmp(wasm, magic, 8) != 0)
    return kafu_fail(err, KAFU_E_INPUT, "%s: not a wasm binary (bad header)", label);
  kafu_rd r = kafu_rd_init(wasm, len);
  kafu_rd_bytes(&r, 8);
  size_t cap = 0;
  while (kafu_rd_left(&r) > 0) {
    kafu_cc_section sec;
    memset(&sec, 0, sizeof sec);
    sec.offset = kafu_rd_offset(&r);
    sec.id = kafu_rd_u8(&r);
    uint64_t size = kafu_rd_uleb(&r, 32);
    if (r.bad || size > kafu_rd_left(&r)) goto truncated;
    sec.payload = kafu_rd_offset(&r);
    sec.payload_len = (size_t)size;
    kafu_rd_bytes(&r, (size_t)size);
    sec.size = kafu_rd_offset(&r) - sec.offset;
    if (sec.id == SEC_CUSTOM) {
      kafu_rd body = kafu_rd_init(wasm + sec.payload, sec.payload_len);
      uint64_t name_len = kafu_rd_uleb(&body, 32);
      const uint8_t *name = kafu_rd_bytes(&body, (size_t)name_len);
      if (!name) goto truncated;
      size_t copy = name_len < sizeof sec.name ? (size_t)name_len : sizeof sec.name - 1;
      memcpy(sec.name, name, copy);
      sec.name[copy] = '\0';
      sec.payload += kafu_rd_offset(&body);
      sec.payload_len -= kafu_rd_offset(&body);
    }
    if (out->n == cap) {
      cap = cap ? cap * 2 : 16;
      kafu_cc_section *v = realloc(out->v, cap * sizeof *v);
      if (!v) {
        kafu_cc_sections_free(out);
        return kafu_fail(err, KAFU_E_NOMEM, "out of memory");
      }
      out->v = v;
    }
    out->v[out->n++] = sec;
  }
  return KAFU_OK;
truncated:
  kafu_cc_sections_free(out);
  return kafu_fail(err, KAFU_E_INPUT, "%s: section truncated at offset 0x%zx", label,
                   kafu_rd_offset(&r));
}

static const kafu_cc_section *find_section(const kafu_cc_sections *s, uint8_t id,
                                           const char *name) {
  for (size_t i = 0; i < s->n; i++)
    if (s->v[i].id == id && (!name || !strcmp(s->v[i].name, name))) return &s->v[i];
  return NULL;
}

bool kafu_cc_wasm_func_names(const uint8_t *wasm, const kafu_cc_sections *s,
                             void (*fn)(const char *name, size_t len, void *arg), void *arg) {
  const kafu_cc_section *sec = find_section(s, SEC_CUSTOM, "name");
  if (!sec) return false;
  kafu_rd r = kafu_rd_init(wasm + sec->payload, sec->payload_len);
  while (kafu_rd_left(&r) > 0 && !r.bad) {
    uint8_t sub = kafu_rd_u8(&r);
    uint64_t size = kafu_rd_uleb(&r, 32);
    const uint8_t *body = kafu_rd_bytes(&r, (size_t)size);
    if (!body) return false;
    if (sub != 1) continue;
    kafu_rd names = kafu_rd_init(body, (size_t)size);
    uint64_t count = kafu_rd_uleb(&names, 32);
    for (uint64_t i = 0; i < count && !names.bad; i++) {
      kafu_rd_uleb(&names, 32); /* function index */
      uint64_t len = kafu_rd_uleb(&names, 32);
      const uint8_t *name = kafu_rd_bytes(&names, (size_t)len);
      if (name) fn((const char *)name, (size_t)len, arg);
    }
    return !names.bad;
  }
  return false;
}

/* Counts the imported globals, which come first in the global index space. */
static uint32_t imported_globals(const uint8_t *wasm, const kafu_cc_sections *s, bool *bad) {
  const kafu_cc_section *sec = find_section(s, SEC_IMPORT, NULL);
  uint32_t n_globals = 0;
  if (!sec) return 0;
  kafu_rd r = kafu_rd_init(wasm + sec->payload, sec->payload_len);
  uint64_t count = kafu_rd_uleb(&r, 32);
  for (uint64_t i = 0; i < count && !r.bad; i++) {
    for (int j = 0; j < 2; j++)
      kafu_rd_bytes(&r, (size_t)kafu_rd_uleb(&r, 32));
    uint8_t kind = kafu_rd_u8(&r);
    switch (kind) {
    case 0: kafu_rd_uleb(&r, 32); break; /* func: type index */
    case 1:                              /* table: elem type + limits */
      kafu_rd_u8(&r);
      /* fall through */
    case 2: { /* memory: limits */
      uint8_t flags = kafu_rd_u8(&r);
      kafu_rd_uleb(&r, 64);
      if (flags & 1) kafu_rd_uleb(&r, 64);
      break;
    }
    case 3:
      kafu_rd_u8(&r);
      kafu_rd_u8(&r);
      n_globals++;
      break;
    default: r.bad = true;
    }
  }
  *bad = r.bad;
  return n_globals;
}

kafu_err kafu_cc_wasm_export_address(const uint8_t *wasm, const kafu_cc_sections *s,
                                     const char *export_name, const char *label, uint32_t *addr,
                                     kafu_error *err) {
  const kafu_cc_section *exports = find_section(s, SEC_EXPORT, NULL);
  const kafu_cc_section *globals = find_section(s, SEC_GLOBAL, NULL);
  if (!exports || !globals) goto missing;
  kafu_rd r = kafu_rd_init(wasm + exports->payload, exports->payload_len);
  uint64_t count = kafu_rd_uleb(&r, 32), index = UINT64_MAX;
  size_t want = strlen(export_name);
  for (uint64_t i = 0; i < count && !r.bad; i++) {
    uint64_t len = kafu_rd_uleb(&r, 32);
    const uint8_t *name = kafu_rd_bytes(&r, (size_t)len);
    uint8_t kind = kafu_rd_u8(&r);
    uint64_t idx = kafu_rd_uleb(&r, 32);
    if (name && kind == 3 && len == want && !memcmp(name, export_name, want)) index = idx;
  }
  if (r.bad) goto malformed;
  if (index == UINT64_MAX) goto missing;
  bool bad = false;
  uint32_t n_imported = imported_globals(wasm, s, &bad);
  if (bad) goto malformed;
  if (index < n_imported)
    return kafu_fail(err, KAFU_E_INPUT, "%s: export %s is an imported global", label, export_name);
  r = kafu_rd_init(wasm + globals->payload, globals->payload_len);
  count = kafu_rd_uleb(&r, 32);
  for (uint64_t i = 0; i < count && !r.bad; i++) {
    kafu_rd_u8(&r); /* value type */
    kafu_rd_u8(&r); /* mutability */
    uint8_t op = kafu_rd_u8(&r);
    if (i + n_imported == index) {
      if (op != 0x41) break;
      int64_t value = kafu_rd_sleb(&r, 32);
      if (r.bad || kafu_rd_u8(&r) != 0x0b) break;
      *addr = (uint32_t)value;
      return KAFU_OK;
    }
    /* Skip a constant expression: one immediate, then end. */
    switch (op) {
    case 0x41: kafu_rd_sleb(&r, 32); break;
    case 0x42: kafu_rd_sleb(&r, 64); break;
    case 0x43: kafu_rd_bytes(&r, 4); break;
    case 0x44: kafu_rd_bytes(&r, 8); break;
    case 0x23: kafu_rd_uleb(&r, 32); break;
    default: r.bad = true;
    }
    if (kafu_rd_u8(&r) != 0x0b) r.bad = true;
  }
malformed:
  return kafu_fail(err, KAFU_E_INPUT, "%s: cannot read the initializer of global export %s", label,
                   export_name);
missing:
  return kafu_fail(err, KAFU_E_INPUT, "%s: no global export %s", label, export_name);
}

void kafu_cc_wasm_rewrite(const uint8_t *wasm, const kafu_cc_sections *s, const char *const *drop,
                          size_t n_drop, const char *add_name, const uint8_t *payload,
                          size_t payload_len, kafu_buf *out) {
  kafu_buf_append(out, wasm, 8);
  for (size_t i = 0; i < s->n; i++) {
    const kafu_cc_section *sec = &s->v[i];
    bool dropped = false;
    for (size_t j = 0; j < n_drop && sec->id == SEC_CUSTOM; j++)
      if (!strcmp(sec->name, drop[j])) dropped = true;
    if (!dropped) kafu_buf_append(out, wasm + sec->offset, sec->size);
  }
  if (!add_name) return;
  size_t name_len = strlen(add_name);
  kafu_buf name;
  memset(&name, 0, sizeof name);
  kafu_buf_uleb(&name, name_len);
  kafu_buf_u8(out, SEC_CUSTOM);
  kafu_buf_uleb(out, name.len + name_len + payload_len);
  kafu_buf_append(out, name.data, name.len);
  kafu_buf_append(out, add_name, name_len);
  kafu_buf_append(out, payload, payload_len);
  if (name.failed) out->failed = true;
  kafu_buf_free(&name);
}
