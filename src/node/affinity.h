/* CPU lists ("0-2,5") for a node's `cpus` key: parsing, pinning the daemon
 * with sched_setaffinity, and reading the CPUs the process may run on, so
 * the load meter measures exactly those CPUs (docs/offload.md). */
#ifndef KAFU_NODE_AFFINITY_H
#define KAFU_NODE_AFFINITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define KAFU_CPUSET_MAX 1024 /* CPUs 0..1023, like glibc's cpu_set_t */

typedef struct kafu_cpuset {
  uint64_t bits[KAFU_CPUSET_MAX / 64];
} kafu_cpuset;

static inline bool kafu_cpuset_has(const kafu_cpuset *s, unsigned cpu) {
  return cpu < KAFU_CPUSET_MAX && (s->bits[cpu / 64] >> (cpu % 64)) & 1u;
}
unsigned kafu_cpuset_count(const kafu_cpuset *s);

/* Parses a Linux CPU list: comma-separated CPU numbers and ranges "a-b"
 * (a <= b), e.g. "1", "0-3", "0,2-3". Spaces around items are allowed. The
 * text is hostile: anything else, a CPU >= KAFU_CPUSET_MAX or an empty list
 * is KAFU_E_INPUT "bad CPU list 'TEXT': <why>". */
kafu_err kafu_affinity_parse(const char *text, kafu_cpuset *out, kafu_error *err);

/* Pins the calling thread, and every thread it creates afterwards, to set
 * (sched_setaffinity). Call before starting threads. Errors: KAFU_E_INPUT
 * "cannot pin to CPUs ...: <errno text>" when no CPU of set is usable. */
kafu_err kafu_affinity_apply(const kafu_cpuset *set, kafu_error *err);

/* The CPUs the calling thread may run on (sched_getaffinity). Errors: KAFU_E_IO. */
kafu_err kafu_affinity_current(kafu_cpuset *out, kafu_error *err);

/* Whether set holds every online CPU (an unpinned process): the meter then
 * uses the aggregate "cpu" line. */
bool kafu_affinity_is_all_online(const kafu_cpuset *set);

/* Writes set as a CPU list ("0-1,3") into out (cut to cap, NUL-terminated). */
void kafu_cpuset_format(const kafu_cpuset *set, char *out, size_t cap);

#endif
