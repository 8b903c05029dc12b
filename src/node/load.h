/* The machine's CPU load from /proc/stat, measured over a window, for the
 * offload policy (`offload.policy: load`, docs/config.md) and HEARTBEAT. */
#ifndef KAFU_NODE_LOAD_H
#define KAFU_NODE_LOAD_H

#include <stdint.h>

#include "util/err.h"

/* Cumulative CPU time of all CPUs, in clock ticks since boot. */
typedef struct kafu_load_sample {
  uint64_t busy;  /* everything but idle and iowait */
  uint64_t total; /* user + nice + system + idle + iowait + irq + softirq + steal */
} kafu_load_sample;

/* Parses the aggregate "cpu " line of /proc/stat text (hostile: any other
 * shape is KAFU_E_INPUT "/proc/stat: ..."). */
kafu_err kafu_load_parse(const char *text, size_t len, kafu_load_sample *out, kafu_error *err);

/* Reads and parses stat_path (NULL = "/proc/stat"). Errors: KAFU_E_IO when it
 * cannot be read, KAFU_E_INPUT when it does not parse. */
kafu_err kafu_load_read(const char *stat_path, kafu_load_sample *out, kafu_error *err);

/* The busy fraction in [0, 1] between an earlier and a later sample, or -1
 * when no tick passed (or the counters went backwards). */
double kafu_load_between(const kafu_load_sample *earlier, const kafu_load_sample *later);

#define KAFU_LOAD_RING 64

/* A sliding-window meter. Call kafu_load_meter_update regularly (every
 * heartbeat or poll, at most KAFU_LOAD_RING times per window); it reports the
 * load over about the last window_ms. Not thread-safe: one owner. */
typedef struct kafu_load_meter {
  const char *stat_path; /* borrowed; NULL = /proc/stat */
  uint32_t window_ms;
  unsigned n, head; /* ring of the last n samples; head = next slot */
  int64_t at_ms[KAFU_LOAD_RING];
  kafu_load_sample samples[KAFU_LOAD_RING];
} kafu_load_meter;

void kafu_load_meter_init(kafu_load_meter *m, uint32_t window_ms, const char *stat_path);

/* Takes a sample at now_ms (a monotonic clock) and sets *load to the busy
 * fraction since the newest earlier sample at least window_ms old (or the
 * oldest one kept, if none is that old), or to -1 while there is no earlier
 * sample. Errors as kafu_load_read; the meter is unchanged then. */
kafu_err kafu_load_meter_update(kafu_load_meter *m, int64_t now_ms, double *load, kafu_error *err);

/* load as permille for HEARTBEAT/STATUS_REPLY (0..1000; unknown -> 0). */
uint32_t kafu_load_permille(double load);

#endif
