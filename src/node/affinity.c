/* CPU lists and process pinning for a node's `cpus` key (Linux
 * sched_setaffinity; the node's load meter then reads only these CPUs). */
#define _GNU_SOURCE
#include "node/affinity.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

unsigned kafu_cpuset_count(const kafu_cpuset *s) {
  unsigned n = 0;
  for (size_t i = 0; i < sizeof s->bits / sizeof s->bits[0]; i++) n += (unsigned)__builtin_popcountll(s->bits[i]);
  return n;
}

static void set_bit(kafu_cpuset *s, unsigned cpu) { s->bits[cpu / 64] |= 1ull << (cpu % 64); }

static const char *skip_spaces(const char *p) {
  while (*p == ' ' || *p == '\t') p++;
  return p;
}

/* One decimal CPU number at *p; advances *p. Returns false if none or too big. */
static bool parse_cpu(const char **p, unsigned *out) {
  const char *s = *p;
  unsigned v = 0;
  if (*s < '0' || *s > '9') return false;
  for (; *s >= '0' && *s <= '9'; s++) {
    v = v * 10 + (unsigned)(*s - '0');
    if (v >= KAFU_CPUSET_MAX) return false;
  }
  *p = s;
  *out = v;
  return true;
}

kafu_err kafu_affinity_parse(const char *text, kafu_cpuset *out, kafu_error *err) {
  memset(out, 0, sizeof *out);
  const char *p = skip_spaces(text);
  if (!*p) return kafu_fail(err, KAFU_E_INPUT, "bad CPU list '%s': empty", text);
  for (;;) {
    unsigned lo, hi;
    if (!parse_cpu(&p, &lo))
      return kafu_fail(err, KAFU_E_INPUT, "bad CPU list '%.64s': expected a CPU number 0..%d at '%.16s'", text,
                       KAFU_CPUSET_MAX - 1, p);
    hi = lo;
    p = skip_spaces(p);
    if (*p == '-') {
      p = skip_spaces(p + 1);
      if (!parse_cpu(&p, &hi))
        return kafu_fail(err, KAFU_E_INPUT, "bad CPU list '%.64s': expected a CPU number 0..%d at '%.16s'",
                         text, KAFU_CPUSET_MAX - 1, p);
      if (hi < lo) return kafu_fail(err, KAFU_E_INPUT, "bad CPU list '%.64s': range %u-%u runs backwards", text, lo, hi);
      p = skip_spaces(p);
    }
    for (unsigned cpu = lo; cpu <= hi; cpu++) set_bit(out, cpu);
    if (!*p) return KAFU_OK;
    if (*p != ',') return kafu_fail(err, KAFU_E_INPUT, "bad CPU list '%.64s': unexpected '%c'", text, *p);
    p = skip_spaces(p + 1);
  }
}

kafu_err kafu_affinity_apply(const kafu_cpuset *set, kafu_error *err) {
  cpu_set_t cs;
  CPU_ZERO(&cs);
  for (unsigned cpu = 0; cpu < KAFU_CPUSET_MAX && cpu < CPU_SETSIZE; cpu++)
    if (kafu_cpuset_has(set, cpu)) CPU_SET(cpu, &cs);
  if (sched_setaffinity(0, sizeof cs, &cs) != 0) {
    char list[128];
    kafu_cpuset_format(set, list, sizeof list);
    return kafu_fail(err, KAFU_E_INPUT, "cannot pin to CPUs %s: %s", list, strerror(errno));
  }
  return KAFU_OK;
}

kafu_err kafu_affinity_current(kafu_cpuset *out, kafu_error *err) {
  memset(out, 0, sizeof *out);
  cpu_set_t cs;
  CPU_ZERO(&cs);
  if (sched_getaffinity(0, sizeof cs, &cs) != 0)
    return kafu_fail(err, KAFU_E_IO, "sched_getaffinity: %s", strerror(errno));
  for (unsigned cpu = 0; cpu < KAFU_CPUSET_MAX && cpu < CPU_SETSIZE; cpu++)
    if (CPU_ISSET(cpu, &cs)) set_bit(out, cpu);
  return KAFU_OK;
}

bool kafu_affinity_is_all_online(const kafu_cpuset *set) {
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  return online > 0 && kafu_cpuset_count(set) >= (unsigned long)online;
}

void kafu_cpuset_format(const kafu_cpuset *set, char *out, size_t cap) {
  size_t used = 0;
  if (cap == 0) return;
  out[0] = '\0';
  for (unsigned cpu = 0; cpu < KAFU_CPUSET_MAX; cpu++) {
    if (!kafu_cpuset_has(set, cpu)) continue;
    unsigned end = cpu;
    while (end + 1 < KAFU_CPUSET_MAX && kafu_cpuset_has(set, end + 1)) end++;
    int n = end == cpu ? snprintf(out + used, cap - used, "%s%u", used ? "," : "", cpu)
                       : snprintf(out + used, cap - used, "%s%u-%u", used ? "," : "", cpu, end);
    if (n < 0 || (size_t)n >= cap - used) return;
    used += (size_t)n;
    cpu = end;
  }
}
