/* Kafu annotations for applications: which node an annotated function runs
 * on (KAFU_DEST) and where its work may be offloaded (KAFU_MAY_OFFLOAD), plus
 * kafu_node(), the name of the node the program is running on right now.
 *
 * Write an annotation on the line before a function definition:
 *
 *     KAFU_DEST("edge1")
 *     int detect(const char *frame) { ... }
 *
 *     KAFU_DEST("edge1") KAFU_MAY_OFFLOAD("cloud1")
 *     void analyze(void) { ... }
 *
 * or name the function, which `kafu cc` checks: KAFU_DEST(detect, "edge1").
 * Under `kafu cc` (clang, __wasm__) an annotation becomes
 * __attribute__((annotate("kafu_dest:edge1"), noinline)); the two-argument
 * form encodes the name as "kafu_dest(detect):edge1". Compiled natively (gcc,
 * for differential tests) the annotations only keep the function out of
 * line and kafu_node() returns "native". See docs/cc.md. */
#ifndef KAFU_H
#define KAFU_H

#ifdef __cplusplus
extern "C" {
#endif

/* Picks the one- or two-argument form by the argument count. */
#define KAFU__PICK(_1, _2, form, ...) form

#if defined(__wasm__)

#define KAFU__ANNOTATE(text) __attribute__((annotate(text), noinline))
#define KAFU__DEST1(node) KAFU__ANNOTATE("kafu_dest:" node)
#define KAFU__DEST2(fn, node) KAFU__ANNOTATE("kafu_dest(" #fn "):" node)
#define KAFU__OFFLOAD1(node) KAFU__ANNOTATE("kafu_offload:" node)
#define KAFU__OFFLOAD2(fn, node) KAFU__ANNOTATE("kafu_offload(" #fn "):" node)

/* The name of the node executing the program now (e.g. "edge1"). The string
 * is owned by the support library and is overwritten by the next call. */
const char *kafu_node(void);

#else /* native build: no migration, same program */

#if defined(__GNUC__)
#define KAFU__ANNOTATE __attribute__((noinline))
#else
#define KAFU__ANNOTATE
#endif
#define KAFU__DEST1(node) KAFU__ANNOTATE
#define KAFU__DEST2(fn, node) KAFU__ANNOTATE
#define KAFU__OFFLOAD1(node) KAFU__ANNOTATE
#define KAFU__OFFLOAD2(fn, node) KAFU__ANNOTATE

static inline const char *kafu_node(void) {
  return "native";
}

#endif

/* KAFU_DEST("node") or KAFU_DEST(fn, "node"): the function runs on `node`;
 * execution moves there on entry and comes back on return. */
#define KAFU_DEST(...) KAFU__PICK(__VA_ARGS__, KAFU__DEST2, KAFU__DEST1, )(__VA_ARGS__)
/* KAFU_MAY_OFFLOAD("node") or KAFU_MAY_OFFLOAD(fn, "node"): while the
 * function runs, execution may move to `node` when resources call for it. */
#define KAFU_MAY_OFFLOAD(...) KAFU__PICK(__VA_ARGS__, KAFU__OFFLOAD2, KAFU__OFFLOAD1, )(__VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif
