/* CPU load from /proc/stat, measured over a window, for the offload policy
 * (`offload.policy: load`, docs/offload.md) and HEARTBEAT: of the whole
 * machine, or of the CPUs a pinned node runs on, optionally leaving out this
 * process's own CPU time. */
#ifndef KAFU_NODE_LOAD_H
#define KAFU_NODE_LOAD_H

#include <stdint.h>

#include "node/affinity.h"
#include "util/err.h"

/* Cumulative CPU time of the measured CPUs, in clock ticks since boot. */
typedef struct kafu_load_sample {
  uint64_t busy;  /* everything but idle and iowait */
  uint64_t total; /* user + nice + system + idle + iowait + irq + softirq + steal */
  uint64_t self;  /* this process's utime + stime (0 unless the meter excludes it) */
} kafu_load_sample;

/* Parses the aggregate "cpu " line of /proc/stat text (hostile: any other
 * shape is KAFU_E_INPUT "/proc/stat: ..."). */
kafu_err kafu_load_parse(const char *text, size_t len, kafu_load_sample *out, kafu_error *err);

/* Sums the "cpuN" lines of /proc/stat text for the CPUs in cpus (hostile
 * text, like kafu_load_parse). A CPU of cpus without a line is KAFU_E_INPUT
 * "/proc/stat: no line for cpuN". out->self is left 0. */
kafu_err kafu_load_parse_cpus(const char *text, size_t len, const kafu_cpuset *cpus, kafu_load_sample *out,
                              kafu_error *err);

/* Parses the utime + stime fields (14, 15) of /proc/<pid>/stat text. Errors:
 * KAFU_E_INPUT "/proc/self/stat: ...". */
kafu_err kafu_load_parse_self(const char *text, size_t len, uint64_t *ticks, kafu_error *err);

/* Reads and parses stat_path (NULL = "/proc/stat"). Errors: KAFU_E_IO when it
 * cannot be read, KAFU_E_INPUT when it does not parse. */
kafu_err kafu_load_read(const char *stat_path, kafu_load_sample *out, kafu_error *err);

/* The busy fraction in [0, 1] between an earlier and a later sample, or -1
 * when no tick passed (or the counters went backwards). */
double kafu_load_between(const kafu_load_sample *earlier, const kafu_load_sample *later);

/* The load apart from this process: the busy ticks of everything else over
 * the ticks this process left to everything else, counting it as leaving at
 * least half (so a node whose own job keeps its CPU busy, with nothing else
 * wanting it, reads near 0, not 0/0). In [0, 1], or -1 as kafu_load_between.
 * docs/offload.md explains the choice. */
double kafu_load_between_others(const kafu_load_sample *earlier, const kafu_load_sample *later);

#define KAFU_LOAD_RING 64

/* A sliding-window meter. Call kafu_load_meter_update regularly (every
 * heartbeat or poll, at most KAFU_LOAD_RING times per window); it reports the
 * load over about the last window_ms. Not thread-safe: one owner. */
typedef struct kafu_load_meter {
  const char *stat_path; /* borrowed; NULL = /proc/stat */
  /* Optional, set after init (both borrowed): */
  const kafu_cpuset *cpus;    /* measure only these CPUs' lines; NULL = the aggregate line */
  const char *self_stat_path; /* exclude this process's time (e.g. "/proc/self/stat"); NULL = don't */
  uint32_t window_ms;
  unsigned n, head; /* ring of the last n samples; head = next slot */
  int64_t at_ms[KAFU_LOAD_RING];
  kafu_load_sample samples[KAFU_LOAD_RING];
} kafu_load_meter;

void kafu_load_meter_init(kafu_load_meter *m, uint32_t window_ms, const char *stat_path);

/* Takes a sample at now_ms (a monotonic clock) and sets *load to the busy
 * fraction (kafu_load_between_others when self_stat_path is set) since the newest earlier sample at least window_ms old (or the
 * oldest one kept, if none is that old), or to -1 while there is no earlier
 * sample. Errors as kafu_load_read; the meter is unchanged then. */
kafu_err kafu_load_meter_update(kafu_load_meter *m, int64_t now_ms, double *load, kafu_error *err);

/* load as permille for HEARTBEAT/STATUS_REPLY (0..1000; unknown -> 0). */
uint32_t kafu_load_permille(double load);

#endif
