/* The wasm-side support library that kafu cc links into every program: the
 * reserved migration state region (docs/abi.md) and kafu_node(). Compiled
 * by kafu cc for each link with -DKAFU_STATE_SIZE=<bytes>. */
#include "kafu.h"

#ifndef KAFU_STATE_SIZE
#define KAFU_STATE_SIZE (64 * 1024)
#endif

_Static_assert(KAFU_STATE_SIZE % 16 == 0, "KAFU_STATE_SIZE must be a multiple of 16");

/* Asyncify's {current, end} pair, the saved globals and the saved frames live
 * here. Exported by kafu cc (--export=kafu_state_region) as a global holding
 * its address; never touched by the program itself. */
__attribute__((used, aligned(16))) char kafu_state_region[KAFU_STATE_SIZE];

/* kafu.node_name(buf, cap) -> len: the host writes the node name (no NUL). */
__attribute__((import_module("kafu"), import_name("node_name"))) int
kafu__import_node_name(char *buf, int cap);

#define KAFU_NODE_NAME_MAX 128

const char *kafu_node(void) {
  static char name[KAFU_NODE_NAME_MAX + 1];
  int len = kafu__import_node_name(name, KAFU_NODE_NAME_MAX);
  if (len < 0) len = 0;
  if (len > KAFU_NODE_NAME_MAX) len = KAFU_NODE_NAME_MAX;
  name[len] = '\0';
  return name;
}
