/* CPU load from the aggregate "cpu" line of /proc/stat: busy ticks over all
 * ticks between two samples, kept in a small ring for a sliding window. */
#include "node/load.h"

#include <errno.h>
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

kafu_err kafu_load_parse(const char *text, size_t len, kafu_load_sample *out, kafu_error *err) {
  if (len < 4 || memcmp(text, "cpu ", 4) != 0)
    return kafu_fail(err, KAFU_E_INPUT, "/proc/stat: does not start with the aggregate \"cpu \" line");
  size_t i = 4;
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
  if (n_fields < 4) return kafu_fail(err, KAFU_E_INPUT, "/proc/stat: cpu line has %d fields, need 4", n_fields);
  uint64_t total = 0;
  for (int f = 0; f < FIELDS_USED; f++) {
    if (v[f] > UINT64_MAX - total) return kafu_fail(err, KAFU_E_INPUT, "/proc/stat: cpu line: sum too large");
    total += v[f];
  }
  out->total = total;
  out->busy = total - v[FIELD_IDLE] - v[FIELD_IOWAIT];
  return KAFU_OK;
}

kafu_err kafu_load_read(const char *stat_path, kafu_load_sample *out, kafu_error *err) {
  const char *path = stat_path ? stat_path : "/proc/stat";
  char text[1024]; /* the cpu line comes first and is far shorter */
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return kafu_fail(err, KAFU_E_IO, "%s: %s", path, strerror(errno));
  size_t len = 0;
  while (len < sizeof text) {
    ssize_t r = read(fd, text + len, sizeof text - len);
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
  return kafu_load_parse(text, len, out, err);
}

double kafu_load_between(const kafu_load_sample *earlier, const kafu_load_sample *later) {
  if (later->total <= earlier->total || later->busy < earlier->busy) return -1.0;
  uint64_t total = later->total - earlier->total;
  uint64_t busy = later->busy - earlier->busy;
  if (busy > total) busy = total;
  return (double)busy / (double)total;
}

void kafu_load_meter_init(kafu_load_meter *m, uint32_t window_ms, const char *stat_path) {
  memset(m, 0, sizeof *m);
  m->stat_path = stat_path;
  m->window_ms = window_ms ? window_ms : 1;
}

kafu_err kafu_load_meter_update(kafu_load_meter *m, int64_t now_ms, double *load, kafu_error *err) {
  kafu_load_sample now;
  kafu_err e = kafu_load_read(m->stat_path, &now, err);
  if (e) return e;
  /* Walk from the newest kept sample back to the first one that is at least
   * a window old; the oldest kept one serves while none is. */
  const kafu_load_sample *base = NULL;
  for (unsigned k = 1; k <= m->n; k++) {
    unsigned slot = (m->head + KAFU_LOAD_RING - k) % KAFU_LOAD_RING;
    base = &m->samples[slot];
    if (now_ms - m->at_ms[slot] >= (int64_t)m->window_ms) break;
  }
  *load = base ? kafu_load_between(base, &now) : -1.0;
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
