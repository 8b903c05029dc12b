/* The little kafu cc needs to know about wasm binaries (objects and linked
 * modules): walk the sections, read the function names, the address behind
 * the kafu_state_region export, and rewrite custom sections. */
#ifndef KAFU_CC_WASM_SECT_H
#define KAFU_CC_WASM_SECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

typedef struct kafu_cc_section {
  uint8_t id;
  char name[256];              /* custom sections only ("" otherwise; longer names truncated) */
  size_t offset, size;         /* the whole section, header included, within the module */
  size_t payload, payload_len; /* the contents (after the name for custom sections) */
} kafu_cc_section;

typedef struct kafu_cc_sections {
  size_t n;
  kafu_cc_section *v; /* owned */
} kafu_cc_sections;

/* Splits `wasm` (borrowed) into its sections. Errors: KAFU_E_INPUT naming
 * label for a bad header or a section running past the end. */
kafu_err kafu_cc_wasm_sections(const uint8_t *wasm, size_t len, const char *label,
                               kafu_cc_sections *out, kafu_error *err);
void kafu_cc_sections_free(kafu_cc_sections *s);

/* Calls fn for every function name in the "name" section (subsection 1).
 * Returns false if the module has no function names. */
bool kafu_cc_wasm_func_names(const uint8_t *wasm, const kafu_cc_sections *s,
                             void (*fn)(const char *name, size_t len, void *arg), void *arg);

/* Reads the i32.const initializer of the global exported as `export_name`.
 * Errors: KAFU_E_INPUT naming label if there is no such global export or its
 * initializer is not a constant. */
kafu_err kafu_cc_wasm_export_address(const uint8_t *wasm, const kafu_cc_sections *s,
                                     const char *export_name, const char *label, uint32_t *addr,
                                     kafu_error *err);

/* Copies the module into out without the custom sections whose names are in
 * `drop` (n_drop names), then appends a custom section `add_name` holding
 * `payload` when add_name is not NULL. */
void kafu_cc_wasm_rewrite(const uint8_t *wasm, const kafu_cc_sections *s, const char *const *drop,
                          size_t n_drop, const char *add_name, const uint8_t *payload,
                          size_t payload_len, kafu_buf *out);

#endif
