/* The `kafu` custom section (docs/abi.md): sites, the state region and
 * instrumentation statistics. Written by kafu cc and snapify, read by the
 * runtime and kafu inspect. */
#ifndef KAFU_SNAPIFY_META_H
#define KAFU_SNAPIFY_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

typedef enum {
  KAFU_SITE_DEST = 1,
  KAFU_SITE_OFFLOAD = 2,
  KAFU_SITE_POINT = 3, /* --policy always: a point with no node */
} kafu_site_kind;

typedef struct kafu_site {
  kafu_site_kind kind;
  char *func; /* owned */
  char *node; /* owned; "" for points */
  char *file; /* owned; may be "" */
  uint32_t line;
} kafu_site;

#define KAFU_META_FLAG_SNAPIFIED 1u
#define KAFU_META_FLAG_ALWAYS 2u
#define KAFU_STATE_SIZE_DEFAULT (64u * 1024u)

typedef struct kafu_meta {
  uint8_t flags;
  size_t n_sites;
  kafu_site *sites; /* owned */
  uint32_t state_base, state_size, n_globals;
  uint32_t code_size_before, code_size_after;
  uint32_t n_funcs, n_instrumented;
  char **instrumented; /* owned, n_instrumented names */
} kafu_meta;

/* Finds the `kafu` custom section in a wasm binary (borrowed bytes) and
 * decodes it into out (owned; free with kafu_meta_free). Returns KAFU_OK with
 * *found = false if the module has none. Errors: KAFU_E_INPUT for a malformed
 * module header/section layout or a malformed kafu section. */
kafu_err kafu_meta_read(const uint8_t *wasm, size_t len, kafu_meta *out, bool *found,
                        kafu_error *err);
/* Decodes a kafu section payload. */
kafu_err kafu_meta_decode(const uint8_t *payload, size_t len, kafu_meta *out, kafu_error *err);
/* Encodes m as a section payload (without the custom section header). */
void kafu_meta_encode(const kafu_meta *m, kafu_buf *out);
void kafu_meta_free(kafu_meta *m);
/* Appends a site (strings copied). Returns its id or -1 on allocation failure. */
int kafu_meta_add_site(kafu_meta *m, kafu_site_kind kind, const char *func, const char *node,
                       const char *file, uint32_t line);

#endif
