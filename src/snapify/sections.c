/* Walking the sections of raw wasm bytes without trusting them: every length
 * is checked against what is left before it is used. */
#include "snapify/sections.h"

#include <string.h>

/* "label: " before a message, or nothing for an unlabeled input. */
#define LABEL(it) (it)->label, (it)->label[0] ? ": " : ""

static const uint8_t wasm_magic[8] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};

kafu_err kafu_snapify_sections_begin(kafu_wasm_section_iter *it, const uint8_t *wasm,
                                     size_t len, const char *label, kafu_error *err) {
  it->rd = kafu_rd_init(wasm, len);
  it->label = label ? label : "";
  if (len < 4 || memcmp(wasm, wasm_magic, 4) != 0)
    return kafu_fail(err, KAFU_E_INPUT, "%s%snot a wasm module (bad magic)", LABEL(it));
  if (len < 8)
    return kafu_fail(err, KAFU_E_INPUT, "%s%struncated wasm header (%zu bytes)", LABEL(it), len);
  if (memcmp(wasm + 4, wasm_magic + 4, 4) != 0)
    return kafu_fail(err, KAFU_E_INPUT, "%s%sunsupported wasm version", LABEL(it));
  kafu_rd_bytes(&it->rd, 8);
  return KAFU_OK;
}

kafu_err kafu_snapify_sections_next(kafu_wasm_section_iter *it, kafu_wasm_section *sec,
                                    bool *done, kafu_error *err) {
  memset(sec, 0, sizeof *sec);
  *done = false;
  if (kafu_rd_left(&it->rd) == 0) {
    *done = true;
    return KAFU_OK;
  }
  size_t start = kafu_rd_offset(&it->rd);
  uint8_t id = kafu_rd_u8(&it->rd);
  uint64_t size = kafu_rd_uleb(&it->rd, 32);
  if (it->rd.bad)
    return kafu_fail(err, KAFU_E_INPUT, "%s%smalformed section header at offset 0x%zx",
                     LABEL(it), start);
  if (size > kafu_rd_left(&it->rd))
    return kafu_fail(err, KAFU_E_INPUT,
                     "%s%ssection %u truncated at offset 0x%zx (needs %llu bytes, %zu left)",
                     LABEL(it), id, start, (unsigned long long)size, kafu_rd_left(&it->rd));
  if (id > 12)
    return kafu_fail(err, KAFU_E_INPUT, "%s%sunknown section id %u at offset 0x%zx", LABEL(it),
                     id, start);
  const uint8_t *payload = kafu_rd_bytes(&it->rd, (size_t)size);
  sec->id = id;
  sec->start = start;
  sec->end = kafu_rd_offset(&it->rd);
  sec->body = payload;
  sec->body_len = (size_t)size;
  if (id == KAFU_WASM_SECTION_CUSTOM) {
    kafu_rd name_rd = kafu_rd_init(payload, (size_t)size);
    uint64_t name_len = kafu_rd_uleb(&name_rd, 32);
    if (name_rd.bad || name_len > kafu_rd_left(&name_rd))
      return kafu_fail(err, KAFU_E_INPUT, "%s%scustom section at offset 0x%zx has a bad name",
                       LABEL(it), start);
    sec->name = kafu_rd_bytes(&name_rd, (size_t)name_len);
    sec->name_len = (size_t)name_len;
    sec->body = name_rd.p;
    sec->body_len = kafu_rd_left(&name_rd);
  }
  return KAFU_OK;
}

bool kafu_snapify_section_is(const kafu_wasm_section *sec, const char *name) {
  size_t n = strlen(name);
  return sec->id == KAFU_WASM_SECTION_CUSTOM && sec->name_len == n &&
         memcmp(sec->name, name, n) == 0;
}

kafu_err kafu_snapify_code_size(const uint8_t *wasm, size_t len, const char *label,
                                uint32_t *size, kafu_error *err) {
  kafu_wasm_section_iter it;
  kafu_wasm_section sec;
  bool done = false;
  kafu_err rc = kafu_snapify_sections_begin(&it, wasm, len, label, err);
  *size = 0;
  while (rc == KAFU_OK) {
    rc = kafu_snapify_sections_next(&it, &sec, &done, err);
    if (rc != KAFU_OK || done) break;
    if (sec.id == KAFU_WASM_SECTION_CODE) *size = (uint32_t)sec.body_len;
  }
  return rc;
}

void kafu_snapify_append_custom(kafu_buf *out, const char *name, const uint8_t *payload,
                                size_t len) {
  size_t name_len = strlen(name);
  kafu_buf head = {0};
  kafu_buf_uleb(&head, name_len);
  size_t content = head.len + name_len + len;
  kafu_buf_free(&head);
  kafu_buf_u8(out, KAFU_WASM_SECTION_CUSTOM);
  kafu_buf_uleb(out, content);
  kafu_buf_uleb(out, name_len);
  kafu_buf_append(out, name, name_len);
  kafu_buf_append(out, payload, len);
}
