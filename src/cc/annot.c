/* Annotation lists: ownership, the annotation string grammar and the
 * "kafu_annot" object section encoding. */
#include "cc/annot.h"

#include <stdlib.h>
#include <string.h>

void kafu_cc_annots_free(kafu_cc_annots *list) {
  for (size_t i = 0; i < list->n; i++) {
    free(list->v[i].func);
    free(list->v[i].node);
    free(list->v[i].file);
  }
  free(list->v);
  memset(list, 0, sizeof *list);
}

kafu_err kafu_cc_annots_add(kafu_cc_annots *list, kafu_cc_annot_state state, kafu_site_kind kind,
                            const char *func, const char *node, const char *file, uint32_t line,
                            kafu_error *err) {
  if (list->n == list->cap) {
    size_t cap = list->cap ? list->cap * 2 : 8;
    kafu_cc_annot *v = realloc(list->v, cap * sizeof *v);
    if (!v) return kafu_fail(err, KAFU_E_NOMEM, "out of memory");
    list->v = v;
    list->cap = cap;
  }
  kafu_cc_annot *a = &list->v[list->n];
  a->state = state;
  a->kind = kind;
  a->line = line;
  a->func = strdup(func);
  a->node = strdup(node);
  a->file = strdup(file);
  if (!a->func || !a->node || !a->file) {
    free(a->func);
    free(a->node);
    free(a->file);
    return kafu_fail(err, KAFU_E_NOMEM, "out of memory");
  }
  list->n++;
  return KAFU_OK;
}

static void copy_trunc(char *dst, size_t cap, const char *src, size_t len) {
  if (!cap) return;
  if (len >= cap) len = cap - 1;
  memcpy(dst, src, len);
  dst[len] = '\0';
}

int kafu_cc_annot_split(const char *text, kafu_site_kind *kind, char *fn, size_t fn_cap, char *node,
                        size_t node_cap) {
  const char *p;
  if (!strncmp(text, "kafu_dest", 9)) {
    *kind = KAFU_SITE_DEST;
    p = text + 9;
  } else if (!strncmp(text, "kafu_offload", 12)) {
    *kind = KAFU_SITE_OFFLOAD;
    p = text + 12;
  } else {
    return 0;
  }
  copy_trunc(fn, fn_cap, "", 0);
  if (*p == '(') {
    const char *close = strchr(p, ')');
    if (!close) return 0;
    copy_trunc(fn, fn_cap, p + 1, (size_t)(close - p - 1));
    p = close + 1;
  }
  if (*p != ':') return 0;
  p++;
  copy_trunc(node, node_cap, p, strlen(p));
  return 1;
}

void kafu_cc_annot_encode(const kafu_cc_annots *list, kafu_buf *out) {
  kafu_buf_append(out, "KAFA", 4);
  kafu_buf_u32le(out, (uint32_t)list->n);
  for (size_t i = 0; i < list->n; i++) {
    const kafu_cc_annot *a = &list->v[i];
    kafu_buf_u8(out, (uint8_t)a->state);
    kafu_buf_u8(out, (uint8_t)a->kind);
    kafu_buf_str(out, a->func);
    kafu_buf_str(out, a->node);
    kafu_buf_str(out, a->file);
    kafu_buf_u32le(out, a->line);
  }
}

/* Copies a u32-length-prefixed string into a new NUL-terminated buffer, or
 * returns NULL (r->bad set on truncation). */
static char *read_str(kafu_rd *r) {
  uint32_t len = kafu_rd_u32le(r);
  const uint8_t *bytes = kafu_rd_bytes(r, len);
  if (!bytes || memchr(bytes, 0, len)) {
    r->bad = true;
    return NULL;
  }
  char *s = malloc((size_t)len + 1);
  if (!s) return NULL;
  memcpy(s, bytes, len);
  s[len] = '\0';
  return s;
}

kafu_err kafu_cc_annot_decode(const uint8_t *payload, size_t len, const char *label,
                              kafu_cc_annots *out, kafu_error *err) {
  kafu_rd r = kafu_rd_init(payload, len);
  kafu_err rc = KAFU_OK;
  char *func = NULL, *node = NULL, *file = NULL;
  while (kafu_rd_left(&r) > 0) {
    const uint8_t *magic = kafu_rd_bytes(&r, 4);
    if (!magic || memcmp(magic, "KAFA", 4) != 0)
      return kafu_fail(err, KAFU_E_INPUT, "%s: kafu_annot section: bad magic at offset %zu", label,
                       kafu_rd_offset(&r));
    uint32_t count = kafu_rd_u32le(&r);
    for (uint32_t i = 0; i < count && !r.bad; i++) {
      uint8_t state = kafu_rd_u8(&r), kind = kafu_rd_u8(&r);
      func = read_str(&r);
      node = read_str(&r);
      file = read_str(&r);
      uint32_t line = kafu_rd_u32le(&r);
      if (r.bad) break;
      if (!func || !node || !file) {
        rc = kafu_fail(err, KAFU_E_NOMEM, "out of memory");
        goto out;
      }
      if (state < KAFU_ANNOT_DEF || state > KAFU_ANNOT_DROPPED || kind < KAFU_SITE_DEST ||
          kind > KAFU_SITE_OFFLOAD) {
        rc =
            kafu_fail(err, KAFU_E_INPUT, "%s: kafu_annot section: bad entry for '%s'", label, func);
        goto out;
      }
      rc = kafu_cc_annots_add(out, (kafu_cc_annot_state)state, (kafu_site_kind)kind, func, node,
                              file, line, err);
      if (rc) goto out;
      free(func);
      free(node);
      free(file);
      func = node = file = NULL;
    }
    if (r.bad) {
      rc = kafu_fail(err, KAFU_E_INPUT, "%s: kafu_annot section truncated at offset %zu", label,
                     kafu_rd_offset(&r));
      goto out;
    }
  }
out:
  free(func);
  free(node);
  free(file);
  return rc;
}
