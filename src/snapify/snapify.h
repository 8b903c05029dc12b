/* snapify: the binary transformer that makes a Wasm module migratable.
 * It wraps annotated functions with kafu.enter/leave, puts countdown polls at
 * loop heads in MAY_OFFLOAD regions, generates global save/restore exports and
 * runs Binaryen's Asyncify restricted to the functions that can reach a point.
 * The contract with the runtime is docs/abi.md. */
#ifndef KAFU_SNAPIFY_H
#define KAFU_SNAPIFY_H

#include <stddef.h>
#include <stdint.h>

#include "snapify/meta.h"
#include "util/buf.h"
#include "util/err.h"

typedef enum { KAFU_POLICY_KAFU = 0, KAFU_POLICY_ALWAYS = 1 } kafu_snapify_policy;

typedef struct kafu_snapify_annotation {
  kafu_site_kind kind; /* KAFU_SITE_DEST or KAFU_SITE_OFFLOAD */
  const char *func;    /* function name as in the module's name section */
  const char *node;
} kafu_snapify_annotation;

typedef struct kafu_snapify_options {
  kafu_snapify_policy policy;
  uint32_t state_size; /* 0 = default 64 KiB (if the module has no kafu section yet) */
  /* Extra annotations (--dest/--offload), added to those in the kafu section. */
  size_t n_extra;
  const kafu_snapify_annotation *extra;
  const char *label; /* input name for messages */
} kafu_snapify_options;

/* Transforms `in` (borrowed) into a migratable module appended to `out`.
 * Deterministic: the same input and options give the same bytes. Binaryen
 * runs in a child process (it prints and exits on malformed input), so the
 * caller's stdout/stderr stay clean; KAFU_SNAPIFY_INPROCESS=1 disables that
 * for debugging (and KAFU_SNAPIFY_VERBOSE=1 prints Asyncify's decisions).
 * Once Binaryen has run in-process, later calls stay in-process: a forked
 * child would wait forever on Binaryen's thread pool. So a caller that uses
 * Binaryen passes itself should call kafu_snapify first.
 * Errors (one line naming label and the problem): KAFU_E_INPUT for malformed
 * or invalid wasm, a module without a _start export, an already snapified
 * module, an annotated function that is missing or imported, a state size
 * larger than the support library's region;
 * KAFU_E_UNSUPPORTED for a module that mutates its table (table.set/
 * table.grow), GC-proposal code, non-numeric mutable globals, or tail calls in
 * a function that must be instrumented; KAFU_E_LIMIT for a state region too
 * small for the globals; KAFU_E_INTERNAL if the output fails validation or
 * Asyncify could not match the instrumentation list (snapify bugs). */
kafu_err kafu_snapify(const uint8_t *in, size_t in_len, const kafu_snapify_options *opts,
                      kafu_buf *out, kafu_error *err);

#endif
