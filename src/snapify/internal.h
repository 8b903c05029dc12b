/* Private to snapify: the expression walker over Binaryen IR and helpers for
 * Binaryen's escaped internal names. */
#ifndef KAFU_SNAPIFY_INTERNAL_H
#define KAFU_SNAPIFY_INTERNAL_H

#include <binaryen-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* What one walk over a function body found. Arrays are owned (free with
 * kafu_snapify_scan_free); names and expressions are borrowed from Binaryen. */
typedef struct kafu_snapify_scan {
  const char **callees; /* direct call targets, in walk order, may repeat */
  size_t n_callees, cap_callees;
  BinaryenExpressionRef *calls; /* the direct calls themselves, parallel to callees */
  size_t cap_calls;
  /* with want_parents set before the walk: every expression, parents before
   * their operands, and for each the index in exprs of the expression it is
   * an operand of (KAFU_SNAPIFY_NO_PARENT for the walk's root) */
  bool want_parents;
  BinaryenExpressionRef *exprs;
  size_t *parents;
  size_t n_exprs, cap_exprs;
  BinaryenType *ind_params, *ind_results; /* signature of each call_indirect */
  size_t n_indirect, cap_indirect;
  BinaryenExpressionRef *loops; /* every Loop, outer before inner */
  size_t n_loops, cap_loops;
  const char **branches; /* target labels of br, br_if and br_table */
  size_t n_branches, cap_branches;
  BinaryenIndex *local_sets; /* local indices written by local.set/tee */
  size_t n_local_sets, cap_local_sets;
  /* unary, binary, select, if and br_if/br expressions with a global.get
   * among their operands (condition, value, left, right, arms) */
  BinaryenExpressionRef *global_readers;
  size_t n_global_readers, cap_global_readers;
  bool mutates_table; /* table.set or table.grow */
  bool tail_call;     /* return_call or return_call_indirect */
  bool nomem;
} kafu_snapify_scan;

#define KAFU_SNAPIFY_NO_PARENT SIZE_MAX

/* The expression exprs[i] of a want_parents scan is an operand of, or NULL. */
static inline BinaryenExpressionRef kafu_snapify_parent(const kafu_snapify_scan *scan, size_t i) {
  return scan->parents[i] == KAFU_SNAPIFY_NO_PARENT ? NULL : scan->exprs[scan->parents[i]];
}

/* Walks every expression under `body` (iteratively, so deep nesting cannot
 * overflow the C stack) and records calls, loops and table mutation into
 * *scan (zero-initialize it first). Errors: KAFU_E_UNSUPPORTED for expression
 * kinds the walker cannot look into (GC proposal), naming the kind;
 * KAFU_E_NOMEM. The message has no label: callers prefix it. */
kafu_err kafu_snapify_walk(BinaryenExpressionRef body, kafu_snapify_scan *scan, kafu_error *err);
void kafu_snapify_scan_free(kafu_snapify_scan *scan);

/* Which loops of a function get a poll under --policy kafu (want_poll[i] for
 * scan->loops[i]). Every loop does, except an innermost loop without calls
 * that counts an induction variable towards a loop-invariant bound (0 when
 * the back edge is `br_if $loop (local.tee $i (i + c))`) and sits
 * inside another loop of the same function: the enclosing loop's poll runs
 * once per pass over it. With `leaf_callee` (a function without calls that is
 * in a region only because a region function calls it) such a loop goes
 * without a poll even when it is outermost: the caller's polls run once per
 * call. Skipping only delays when a migration can happen (by at most one run
 * of the loop); it never changes what the program computes.
 * Errors: as kafu_snapify_walk. */
kafu_err kafu_snapify_plan_loop_polls(const kafu_snapify_scan *scan, bool leaf_callee,
                                      bool *want_poll, kafu_error *err);

/* `kafu_countdown -= 1; if (kafu_countdown <= 0) kafu_countdown =
 * poll_import(site)`, as one block (poll_import: the internal name of the
 * kafu.poll import). */
BinaryenExpressionRef kafu_snapify_make_poll(BinaryenModuleRef mod, const char *poll_import,
                                             uint32_t site);

/* Puts a poll (as kafu_snapify_make_poll) at the head of `loop`, changing
 * the loop in place. */
void kafu_snapify_poll_loop(BinaryenModuleRef mod, BinaryenExpressionRef loop,
                            const char *poll_import, uint32_t site);

/* Binaryen 108 stores names from the name section escaped: every byte that is
 * not a wasm identifier character becomes \xx. Both return malloc'd strings
 * (NULL on allocation failure). */
char *kafu_snapify_name_escape(const char *human);
char *kafu_snapify_name_unescape(const char *internal);

#include "snapify/meta.h"
#include "snapify/snapify.h"

/* The in-process part of kafu_snapify: reads `wasm` (already stripped of the
 * kafu and DWARF sections) with Binaryen, transforms it and writes it back.
 * `in_meta` holds the annotations of the input's kafu section (may be empty).
 * On success *out_wasm (malloc'd, owned by caller) holds the module and
 * *out_meta everything but the code sizes. Binaryen may print to stdout/stderr
 * and may exit the process on malformed input: kafu_snapify runs this in a
 * child process. Errors as kafu_snapify. */
kafu_err kafu_snapify_transform(const uint8_t *wasm, size_t len, const kafu_meta *in_meta,
                                const kafu_snapify_options *opts, uint8_t **out_wasm,
                                size_t *out_len, kafu_meta *out_meta, kafu_error *err);

/* One function of the module as snapify sees it. */
typedef struct kafu_snapify_func {
  const char *name; /* Binaryen internal name (interned by Binaryen, stable) */
  bool imported;
  bool mark;              /* scratch set used by the closures below */
  kafu_snapify_scan scan; /* empty for imports */
} kafu_snapify_func;

/* The call graph: every function in module order, a name index, and the
 * functions placed in tables (the possible targets of call_indirect). */
typedef struct kafu_snapify_graph {
  kafu_snapify_func *funcs;
  size_t n_funcs;
  size_t *slots; /* open addressing: index + 1, 0 = empty */
  size_t n_slots;
  size_t *table; /* indices of defined functions in element segments */
  size_t n_table;
} kafu_snapify_graph;

/* Enumerates and walks every function of mod. Errors: those of
 * kafu_snapify_walk, prefixed with "function 'NAME': ". */
kafu_err kafu_snapify_graph_build(BinaryenModuleRef mod, kafu_snapify_graph *g, kafu_error *err);
void kafu_snapify_graph_free(kafu_snapify_graph *g);
/* Index of the function with internal name `name`, or -1. */
long kafu_snapify_graph_find(const kafu_snapify_graph *g, const char *name);
/* Marks everything the marked functions may call: direct calls, and
 * call_indirect resolved by signature against table entries. */
void kafu_snapify_graph_close_callees(kafu_snapify_graph *g, BinaryenModuleRef mod);
/* Marks every function that may call a marked function (same resolution). */
void kafu_snapify_graph_close_callers(kafu_snapify_graph *g, BinaryenModuleRef mod);

/* Runs Binaryen's Asyncify on mod with kafu.enter/leave/poll as the only
 * imports that may unwind, instrumenting exactly the defined functions named
 * in `only` (internal names). Binaryen 108 flattens and optimizes every
 * function before instrumenting; the other functions are hidden from those
 * passes and put back unchanged. Errors: KAFU_E_NOMEM. */
kafu_err kafu_snapify_asyncify(BinaryenModuleRef mod, const char *const *only, size_t n_only,
                               kafu_error *err);

/* After Asyncify: for each function f in `funcs` (internal names, all
 * instrumented) whose body calls the poll import (the hot, polled loops; a
 * copy of every instrumented function would cost DEST-only modules code for
 * nothing) adds f$kafu_normal, a copy of f in which Asyncify's state lives in
 * a local (0 on entry, reloaded as `state & 1` after each call that may
 * change the state, set to 0 where Asyncify's unwind test after such a call
 * falls through, and folded by Binaryen's constant propagation) and direct
 * calls to functions that got a copy go to
 * their copies, and makes f `if (rewinding) BODY else return
 * f$kafu_normal(args)`. A frame entered while not rewinding never sees the
 * rewinding state (the host starts a rewind only before re-entering the
 * module from outside), and the state changes only inside calls, so the
 * copy behaves as f would, and its frames unwind into the same layout that
 * f's rewind path reloads; the copy just shows the C compiler that the
 * locals are never reloaded mid-function and that Asyncify's guards pass.
 * Where a call cannot be wrapped (a tuple result, an unusual parent) the
 * copy reads the global masked with `& 1` instead.
 * Errors: KAFU_E_INTERNAL if Asyncify left no state global or a function is
 * missing; KAFU_E_INPUT if f$kafu_normal exists; as kafu_snapify_walk. */
kafu_err kafu_snapify_split_rewind(BinaryenModuleRef mod, const char *const *funcs, size_t n,
                                   kafu_error *err);

/* Makes `replacement` the operand of `parent` that is now `old` (with
 * replacement NULL, only answers whether it could). False when `old` is not an
 * operand of parent or parent is of a kind this does not handle (handled:
 * block, if, loop, br/br_if, br_table, call, call_indirect, local/global.set,
 * drop, return, unary, binary, select, load, store). */
bool kafu_snapify_replace_operand(BinaryenExpressionRef parent, BinaryenExpressionRef old,
                                  BinaryenExpressionRef replacement);

/* In a copy made by kafu_snapify_split_rewind whose state lives in local
 * `state_local` (0 or 1), walked into *scan with want_parents: where an
 * unwind test `br_if (state_local == 1)` falls through, the local is 0; says
 * so with `state_local = 0` right after the test, where nothing else runs
 * in between (the test is a statement of a block, or the operand of a drop
 * or local.set that is). Binaryen's constant propagation then sees that
 * every state read outside the few instructions between a call and its
 * test reads 0. */
void kafu_snapify_zero_after_unwind_tests(BinaryenModuleRef mod, const kafu_snapify_scan *scan,
                                          BinaryenIndex state_local);

/* Called by the transform once Binaryen has read and validated the input:
 * a later crash of the child is then snapify's fault, not the input's. */
void kafu_snapify_note_input_ok(void);

/* Names snapify gives to what it adds. */
#define KAFU_SNAPIFY_BODY_SUFFIX "$kafu_body"
#define KAFU_SNAPIFY_NORMAL_SUFFIX "$kafu_normal"
/* The internal name of the kafu.poll import snapify adds. */
#define KAFU_SNAPIFY_IMPORT_POLL "kafu$import_poll"
#define KAFU_SNAPIFY_COUNTDOWN "kafu_countdown"
#define KAFU_SNAPIFY_GLOBALS_SAVE "kafu_globals_save"
#define KAFU_SNAPIFY_GLOBALS_RESTORE "kafu_globals_restore"
#define KAFU_SNAPIFY_STATE_EXPORT "kafu_state_region"
#define KAFU_SNAPIFY_NO_SITE 0xffffffffu

#endif
