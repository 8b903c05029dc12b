/* What kafu run learns about a job from its EVENT lines: where it started,
 * each migration (nodes, function, bytes, pause), where it exited. Turned
 * into the end-of-run summary and a Chrome trace-event JSON file (one track
 * per node: residency spans and migrations). */
#ifndef KAFU_NODE_TRACE_H
#define KAFU_NODE_TRACE_H

#include <stdint.h>
#include <stdio.h>

#include "node/config.h"
#include "util/err.h"

typedef struct kafu_node_migration {
  char src[64], dst[64], function[128], reason[16];
  uint64_t raw_bytes, wire_bytes;
  uint64_t pause_us, start_us, end_us;
} kafu_node_migration;

typedef struct kafu_node_trace {
  char start_node[64];
  uint64_t start_us, end_us;
  char end_node[64];
  kafu_node_migration *migs;
  size_t n_migs, cap;
} kafu_node_trace;

/* Parses one EVENT text line ("start ..." or "migrate ..."). Unknown or
 * malformed lines are ignored (returns KAFU_E_INPUT, trace unchanged). */
kafu_err kafu_node_trace_event(kafu_node_trace *t, const char *line);
/* Records the exit (node and the client's receive time). */
void kafu_node_trace_exit(kafu_node_trace *t, const char *node, uint64_t wall_us);

/* Prints the summary: migrations per node pair, bytes raw and on the wire,
 * pause p50 and max. */
void kafu_node_trace_summary(const kafu_node_trace *t, FILE *out);

/* Writes Chrome trace-event JSON for the nodes of cfg. Errors: KAFU_E_IO. */
kafu_err kafu_node_trace_write(const kafu_node_trace *t, const kafu_config *cfg, const char *path,
                               kafu_error *err);

void kafu_node_trace_free(kafu_node_trace *t);

#endif
