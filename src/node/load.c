/* CPU load from /proc/stat (the aggregate "cpu" line, or the "cpuN" lines of
 * a pinned node's CPUs): busy ticks over all ticks between two samples, kept
 * in a small ring for a sliding window; optionally without our own ticks. */
#include "node/load.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Fields of the "cpu" line: user nice system idle iowait irq softirq steal
 * guest guest_nice. guest time is already counted in user, so the sum stops
 * at steal. Old kernels print only the first four. */
#define FIELDS_USED 8
#define FIELD_IDLE 3
#define FIELD_IOWAIT 4

/* Parses the numbers of one cpu line starting at text[*i] (just after the
 * label) up to the newline; adds them into *out. */
static kafu_err parse_fields(const char *text, size_t len, size_t *pos, kafu_load_sample *out, kafu_error *err) {
  size_t i = *pos;
  uint64_t v[FIELDS_USED] = {0};
  int n_fields = 0;
  while (i < len && text[i] != '\n') {
    if (text[i] == ' ') {
      i++;
      continue;
    }
    if (text[i] < '0' || text[i] > '9') return kafu_fail(err, KAFU_E_INPUT, "/proc/stat: cpu line: not a number");
    uint64_t x = 0;
    for (; i < len && text[i] >= '0' && text[i] <= '9'; i++) {
      unsigned d = (unsigned)(text[i] - '0');
      if (x > (UINT64_MAX - d) / 10) return kafu_fail(err, KAFU_E_INPUT, "/proc/stat: cpu line: number too large");
      x = x * 10 + d;
    }
    if (n_fields < FIELDS_USED) v[n_fields] = x;
    n_fields++;
  }
  *pos = i;
  if (n_fields < 4) return kafu_fail(err, KAFU_E_INPUT, "/proc/stat: cpu line has %d fields, need 4", n_fields);
  uint64_t total = 0;
  for (int f = 0; f < FIELDS_USED; f++) {
    if (v[f] > UINT64_MAX - total) return kafu_fail(err, KAFU_E_INPUT, "/proc/stat: cpu line: sum too large");
    total += v[f];
  }
  if (total > UINT64_MAX - out->total) return kafu_fail(err, KAFU_E_INPUT, "/proc/stat: cpu lines: sum too large");
  out->total += total;
  out->busy += total - v[FIELD_IDLE] - v[FIELD_IOWAIT];
  return KAFU_OK;
}

kafu_err kafu_load_parse(const char *text, size_t len, kafu_load_sample *out, kafu_error *err) {
  if (len < 4 || memcmp(text, "cpu ", 4) != 0)
    return kafu_fail(err, KAFU_E_INPUT, "/proc/stat: does not start with the aggregate \"cpu \" line");
  kafu_load_sample s = {0, 0, 0};
  size_t i = 4;
  kafu_err e = parse_fields(text, len, &i, &s, err);
  if (!e) *out = s;
  return e;
}

kafu_err kafu_load_parse_cpus(const char *text, size_t len, const kafu_cpuset *cpus, kafu_load_sample *out,
                              kafu_error *err) {
  kafu_load_sample s = {0, 0, 0};
  kafu_cpuset seen;
  memset(&seen, 0, sizeof seen);
  for (size_t i = 0; i < len;) {
    /* At the start of a line: "cpuN " lines come first; stop at the first other one. */
    if (len - i < 3 || memcmp(text + i, "cpu", 3) != 0) break;
    size_t j = i + 3;
    unsigned cpu = 0;
    bool numbered = false, too_big = false;
    for (; j < len && text[j] >= '0' && text[j] <= '9'; j++) {
      numbered = true;
      cpu = cpu * 10 + (unsigned)(text[j] - '0');
      if (cpu >= KAFU_CPUSET_MAX) too_big = true, cpu = KAFU_CPUSET_MAX;
    }
    if (numbered && !too_big && kafu_cpuset_has(cpus, cpu) && !kafu_cpuset_has(&seen, cpu)) {
      seen.bits[cpu / 64] |= 1ull << (cpu % 64);
      kafu_err e = parse_fields(text, len, &j, &s, err);
      if (e) return e;
    }
    while (j < len && text[j] != '\n') j++;
    i = j + 1;
  }
  for (unsigned cpu = 0; cpu < KAFU_CPUSET_MAX; cpu++)
    if (kafu_cpuset_has(cpus, cpu) && !kafu_cpuset_has(&seen, cpu))
      return kafu_fail(err, KAFU_E_INPUT, "/proc/stat: no line for cpu%u", cpu);
  *out = s;
  return KAFU_OK;
}

kafu_err kafu_load_parse_self(const char *text, size_t len, uint64_t *ticks, kafu_error *err) {
  /* "pid (comm) state ppid ..." where comm may hold spaces and ')': the
   * fields are counted from the last ')'. utime is field 14, stime 15. */
  size_t close = len;
  for (size_t i = 0; i < len; i++)
    if (text[i] == ')') close = i;
  if (close == len) return kafu_fail(err, KAFU_E_INPUT, "/proc/self/stat: no ')' after the command name");
  uint64_t sum = 0;
  int field = 2; /* the comm field ends at close */
  for (size_t i = close + 1; i < len && field < 15;) {
    while (i < len && text[i] == ' ') i++;
    if (i >= len || text[i] == '\n') break;
    field++;
    uint64_t x = 0;
    bool number = text[i] >= '0' && text[i] <= '9';
    for (; i < len && text[i] != ' ' && text[i] != '\n'; i++) {
      if (!number) continue;
      if (text[i] < '0' || text[i] > '9') return kafu_fail(err, KAFU_E_INPUT, "/proc/self/stat: field %d: not a number", field);
      unsigned d = (unsigned)(text[i] - '0');
      if (x > (UINT64_MAX - d) / 10) return kafu_fail(err, KAFU_E_INPUT, "/proc/self/stat: field %d: too large", field);
      x = x * 10 + d;
    }
    if (field == 14 || field == 15) {
      if (!number) return kafu_fail(err, KAFU_E_INPUT, "/proc/self/stat: field %d: not a number", field);
      if (x > UINT64_MAX - sum) return kafu_fail(err, KAFU_E_INPUT, "/proc/self/stat: times too large");
      sum += x;
    }
  }
  if (field < 15) return kafu_fail(err, KAFU_E_INPUT, "/proc/self/stat: %d fields, need 15", field);
  *ticks = sum;
  return KAFU_OK;
}

/* Reads up to cap bytes from the start of path. */
static kafu_err read_head(const char *path, char *text, size_t cap, size_t *len_out, kafu_error *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return kafu_fail(err, KAFU_E_IO, "%s: %s", path, strerror(errno));
  size_t len = 0;
  while (len < cap) {
    ssize_t r = read(fd, text + len, cap - len);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int saved = errno;
      close(fd);
      return kafu_fail(err, KAFU_E_IO, "%s: %s", path, strerror(saved));
    }
    if (r == 0) break;
    len += (size_t)r;
  }
  close(fd);
  *len_out = len;
  return KAFU_OK;
}

kafu_err kafu_load_read(const char *stat_path, kafu_load_sample *out, kafu_error *err) {
  const char *path = stat_path ? stat_path : "/proc/stat";
  char text[1024]; /* the cpu line comes first and is far shorter */
  size_t len = 0;
  kafu_err e = read_head(path, text, sizeof text, &len, err);
  return e ? e : kafu_load_parse(text, len, out, err);
}

/* One sample as the meter is configured: which lines, and our own ticks. */
static kafu_err meter_read(const kafu_load_meter *m, kafu_load_sample *out, kafu_error *err) {
  kafu_err e;
  if (!m->cpus) {
    e = kafu_load_read(m->stat_path, out, err);
  } else {
    /* The cpuN lines follow the aggregate one; 64 KiB holds ~800 of them. */
    static _Thread_local char text[64 * 1024];
    const char *path = m->stat_path ? m->stat_path : "/proc/stat";
    size_t len = 0;
    e = read_head(path, text, sizeof text, &len, err);
    /* Skip the aggregate line. */
    size_t start = 0;
    while (!e && start < len && text[start] != '\n') start++;
    if (!e) e = kafu_load_parse_cpus(text + start + (start < len), len - start - (start < len), m->cpus, out, err);
  }
  out->self = 0;
  if (!e && m->self_stat_path) {
    char text[1024];
    size_t len = 0;
    e = read_head(m->self_stat_path, text, sizeof text, &len, err);
    if (!e) e = kafu_load_parse_self(text, len, &out->self, err);
  }
  return e;
}

double kafu_load_between(const kafu_load_sample *earlier, const kafu_load_sample *later) {
  if (later->total <= earlier->total || later->busy < earlier->busy) return -1.0;
  uint64_t total = later->total - earlier->total;
  uint64_t busy = later->busy - earlier->busy;
  if (busy > total) busy = total;
  return (double)busy / (double)total;
}

double kafu_load_between_others(const kafu_load_sample *earlier, const kafu_load_sample *later) {
  if (later->total <= earlier->total || later->busy < earlier->busy || later->self < earlier->self) return -1.0;
  uint64_t total = later->total - earlier->total;
  uint64_t busy = later->busy - earlier->busy;
  uint64_t self = later->self - earlier->self;
  if (busy > total) busy = total;
  if (self > busy) self = busy;
  uint64_t others_busy = busy - self, left = total - self;
  if (left < total / 2) left = total / 2;
  if (left == 0) return 0.0;
  double load = (double)others_busy / (double)left;
  return load > 1.0 ? 1.0 : load;
}

void kafu_load_meter_init(kafu_load_meter *m, uint32_t window_ms, const char *stat_path) {
  memset(m, 0, sizeof *m);
  m->stat_path = stat_path;
  m->window_ms = window_ms ? window_ms : 1;
}

kafu_err kafu_load_meter_update(kafu_load_meter *m, int64_t now_ms, double *load, kafu_error *err) {
  kafu_load_sample now;
  kafu_err e = meter_read(m, &now, err);
  if (e) return e;
  /* Walk from the newest kept sample back to the first one that is at least
   * a window old; the oldest kept one serves while none is. */
  const kafu_load_sample *base = NULL;
  for (unsigned k = 1; k <= m->n; k++) {
    unsigned slot = (m->head + KAFU_LOAD_RING - k) % KAFU_LOAD_RING;
    base = &m->samples[slot];
    if (now_ms - m->at_ms[slot] >= (int64_t)m->window_ms) break;
  }
  *load = !base ? -1.0 : m->self_stat_path ? kafu_load_between_others(base, &now) : kafu_load_between(base, &now);
  m->samples[m->head] = now;
  m->at_ms[m->head] = now_ms;
  m->head = (m->head + 1) % KAFU_LOAD_RING;
  if (m->n < KAFU_LOAD_RING) m->n++;
  return KAFU_OK;
}

uint32_t kafu_load_permille(double load) {
  if (!(load > 0.0)) return 0;
  if (load >= 1.0) return 1000;
  return (uint32_t)(load * 1000.0 + 0.5);
}
