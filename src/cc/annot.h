/* Annotations found by kafu cc: parsed from clang's LLVM IR
 * (@llvm.global.annotations), cross-checked against the preprocessed source,
 * and carried from compile to link time in the "kafu_annot" custom section
 * of each object (docs/cc.md). */
#ifndef KAFU_CC_ANNOT_H
#define KAFU_CC_ANNOT_H

#include <stddef.h>
#include <stdint.h>

#include "snapify/meta.h"
#include "util/buf.h"
#include "util/err.h"

typedef enum {
  KAFU_ANNOT_DEF = 1,     /* on an emitted function definition: a site */
  KAFU_ANNOT_PROTO = 2,   /* on a prototype: needs an annotated definition somewhere */
  KAFU_ANNOT_DROPPED = 3, /* on a definition the compiler never emitted (unused static) */
} kafu_cc_annot_state;

typedef struct kafu_cc_annot {
  kafu_cc_annot_state state;
  kafu_site_kind kind; /* KAFU_SITE_DEST or KAFU_SITE_OFFLOAD */
  char *func;          /* owned: the function's symbol name */
  char *node;          /* owned */
  char *file;          /* owned: source file as clang names it */
  uint32_t line;
} kafu_cc_annot;

typedef struct kafu_cc_annots {
  size_t n, cap;
  kafu_cc_annot *v; /* owned */
} kafu_cc_annots;

void kafu_cc_annots_free(kafu_cc_annots *list);
/* Appends a copy of the strings. Errors: KAFU_E_NOMEM. */
kafu_err kafu_cc_annots_add(kafu_cc_annots *list, kafu_cc_annot_state state, kafu_site_kind kind,
                            const char *func, const char *node, const char *file, uint32_t line,
                            kafu_error *err);

/* Splits an annotation string: "kafu_dest:N", "kafu_offload:N",
 * "kafu_dest(fn):N", "kafu_offload(fn):N". Returns 0 when `text` is not a
 * Kafu annotation (other annotate() users), 1 when it is: *kind set, node and
 * the optional fn name (empty if absent) copied into the caller's buffers
 * (truncated to their size). */
int kafu_cc_annot_split(const char *text, kafu_site_kind *kind, char *fn, size_t fn_cap, char *node,
                        size_t node_cap);

/* Reads the Kafu annotations of one translation unit from clang's textual
 * LLVM IR (LLVM 14 typed pointers or opaque `ptr`; quoted @"names").
 * `ir` is borrowed and NUL-terminated; `src` names the source in messages.
 * Appends KAFU_ANNOT_DEF entries to out. Errors (KAFU_E_INPUT, one line
 * naming src, file:line and the function): an annotation on something that
 * is not a function definition, an empty node name, a two-argument
 * annotation naming another function, two annotations of one kind on one
 * function. */
kafu_err kafu_cc_annot_from_ir(const char *ir, const char *src, kafu_cc_annots *out,
                               kafu_error *err);

/* Scans clang -E output (borrowed, NUL-terminated) for Kafu annotations the
 * IR cannot show and appends them to out: annotations on prototypes
 * (KAFU_ANNOT_PROTO) and on definitions missing from `ir_found` (the
 * KAFU_ANNOT_DEF list of the same unit; KAFU_ANNOT_DROPPED). Errors
 * (KAFU_E_INPUT): an annotation on a variable or type, an empty node name. */
kafu_err kafu_cc_annot_from_source(const char *pre, const char *src, const kafu_cc_annots *ir_found,
                                   kafu_cc_annots *out, kafu_error *err);

/* The "kafu_annot" custom section payload: "KAFA", u32 count, then per
 * entry u8 state, u8 kind, str func, str node, str file, u32 line (strings
 * are u32 length + bytes). The linker concatenates the payloads of all
 * objects; kafu_cc_annot_decode reads any number of them back to back. */
void kafu_cc_annot_encode(const kafu_cc_annots *list, kafu_buf *out);
/* Appends the entries of `payload` (borrowed) to out. Errors: KAFU_E_INPUT
 * naming `label` for a malformed payload. */
kafu_err kafu_cc_annot_decode(const uint8_t *payload, size_t len, const char *label,
                              kafu_cc_annots *out, kafu_error *err);

#endif
