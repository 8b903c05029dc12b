/* Section-level scanning of raw wasm bytes (hostile input): the header, each
 * section's id and extent, and custom section names. Private to snapify. */
#ifndef KAFU_SNAPIFY_SECTIONS_H
#define KAFU_SNAPIFY_SECTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

#define KAFU_WASM_SECTION_CUSTOM 0
#define KAFU_WASM_SECTION_CODE 10

typedef struct kafu_wasm_section {
  uint8_t id;
  size_t start, end;    /* the whole section, id byte included: bytes[start, end) */
  const uint8_t *body;  /* payload; for custom sections the part after the name */
  size_t body_len;
  const uint8_t *name;  /* custom sections only (not NUL-terminated), else NULL */
  size_t name_len;
} kafu_wasm_section;

typedef struct kafu_wasm_section_iter {
  kafu_rd rd;
  const char *label;
} kafu_wasm_section_iter;

/* Checks the magic and version of `wasm` (borrowed) and positions the
 * iterator on the first section; messages start with "label: " unless label
 * is NULL or "". Errors: KAFU_E_INPUT. */
kafu_err kafu_snapify_sections_begin(kafu_wasm_section_iter *it, const uint8_t *wasm,
                                     size_t len, const char *label, kafu_error *err);

/* Reads the next section into *sec; sets *done at the end of the module.
 * Errors: KAFU_E_INPUT for a truncated or malformed section header. */
kafu_err kafu_snapify_sections_next(kafu_wasm_section_iter *it, kafu_wasm_section *sec,
                                    bool *done, kafu_error *err);

/* True if sec is a custom section whose name equals `name`. */
bool kafu_snapify_section_is(const kafu_wasm_section *sec, const char *name);

/* The payload size of the code section (0 if none). Errors as above. */
kafu_err kafu_snapify_code_size(const uint8_t *wasm, size_t len, const char *label,
                                uint32_t *size, kafu_error *err);

/* Appends a custom section named `name` with `payload` to out. */
void kafu_snapify_append_custom(kafu_buf *out, const char *name, const uint8_t *payload,
                                size_t len);

#endif
