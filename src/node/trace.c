/* Job events → summary table and Chrome trace-event JSON. */
#include "node/trace.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *field(const char *line, const char *key, char *out, size_t cap) {
  size_t klen = strlen(key);
  for (const char *p = line; (p = strstr(p, key)); p++) {
    if ((p == line || p[-1] == ' ') && p[klen] == '=') {
      const char *v = p + klen + 1;
      size_t n = strcspn(v, " ");
      if (n >= cap) n = cap - 1;
      memcpy(out, v, n);
      out[n] = '\0';
      return out;
    }
  }
  return NULL;
}

static uint64_t field_u64(const char *line, const char *key, bool *ok) {
  char buf[32];
  if (!field(line, key, buf, sizeof buf)) {
    *ok = false;
    return 0;
  }
  return strtoull(buf, NULL, 10);
}

kafu_err kafu_node_trace_event(kafu_node_trace *t, const char *line) {
  bool ok = true;
  if (!strncmp(line, "start ", 6)) {
    if (sscanf(line, "start %63s", t->start_node) != 1) return KAFU_E_INPUT;
    t->start_us = field_u64(line, "start_us", &ok);
    return ok ? KAFU_OK : KAFU_E_INPUT;
  }
  if (strncmp(line, "migrate ", 8)) return KAFU_E_INPUT;
  kafu_node_migration m;
  memset(&m, 0, sizeof m);
  if (sscanf(line, "migrate %63s %63s %127s %15s", m.src, m.dst, m.function, m.reason) != 4)
    return KAFU_E_INPUT;
  m.raw_bytes = field_u64(line, "raw", &ok);
  m.wire_bytes = field_u64(line, "wire", &ok);
  m.pause_us = field_u64(line, "pause_us", &ok);
  m.start_us = field_u64(line, "start_us", &ok);
  m.end_us = field_u64(line, "end_us", &ok);
  if (!ok) return KAFU_E_INPUT;
  if (t->n_migs == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 16;
    void *grown = realloc(t->migs, cap * sizeof *t->migs);
    if (!grown) return KAFU_E_NOMEM;
    t->migs = grown;
    t->cap = cap;
  }
  t->migs[t->n_migs++] = m;
  return KAFU_OK;
}

void kafu_node_trace_exit(kafu_node_trace *t, const char *node, uint64_t wall_us) {
  snprintf(t->end_node, sizeof t->end_node, "%s", node ? node : "");
  t->end_us = wall_us;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

void kafu_node_trace_summary(const kafu_node_trace *t, FILE *out) {
  fprintf(out, "kafu run: %zu migration%s\n", t->n_migs, t->n_migs == 1 ? "" : "s");
  if (!t->n_migs) return;
  /* Per node pair, in order of first appearance. */
  bool *done = calloc(t->n_migs, sizeof *done);
  uint64_t *pauses = malloc(t->n_migs * sizeof *pauses);
  if (!done || !pauses) goto out;
  fprintf(out, "  %-24s %6s %14s %14s\n", "from -> to", "count", "raw bytes", "wire bytes");
  uint64_t raw = 0, wire = 0;
  for (size_t i = 0; i < t->n_migs; i++) {
    pauses[i] = t->migs[i].pause_us;
    raw += t->migs[i].raw_bytes;
    wire += t->migs[i].wire_bytes;
    if (done[i]) continue;
    uint64_t n = 0, r = 0, w = 0;
    for (size_t k = i; k < t->n_migs; k++) {
      if (strcmp(t->migs[k].src, t->migs[i].src) || strcmp(t->migs[k].dst, t->migs[i].dst))
        continue;
      done[k] = true;
      n++;
      r += t->migs[k].raw_bytes;
      w += t->migs[k].wire_bytes;
    }
    char pair[160];
    snprintf(pair, sizeof pair, "%s -> %s", t->migs[i].src, t->migs[i].dst);
    fprintf(out, "  %-24s %6" PRIu64 " %14" PRIu64 " %14" PRIu64 "\n", pair, n, r, w);
  }
  qsort(pauses, t->n_migs, sizeof *pauses, cmp_u64);
  fprintf(out, "  %-24s %6zu %14" PRIu64 " %14" PRIu64 "\n", "total", t->n_migs, raw, wire);
  fprintf(out, "  pause p50 %.3f ms, max %.3f ms\n", pauses[(t->n_migs - 1) / 2] / 1e3,
          pauses[t->n_migs - 1] / 1e3);
out:
  free(done);
  free(pauses);
}

static int node_index(const kafu_config *cfg, const char *name) {
  for (size_t i = 0; i < cfg->n_nodes; i++)
    if (!strcmp(cfg->nodes[i].name, name)) return (int)i + 1;
  return 0;
}

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c < 0x20) fprintf(f, "\\u%04x", c);
    else fputc(c, f);
  }
  fputc('"', f);
}

static void span(FILE *f, bool *first, int pid, int tid, const char *name, const char *cat,
                 uint64_t ts, uint64_t dur) {
  fprintf(f, "%s\n{\"name\":", *first ? "" : ",");
  *first = false;
  json_str(f, name);
  fprintf(f, ",\"cat\":\"%s\",\"ph\":\"X\",\"pid\":%d,\"tid\":%d,\"ts\":%" PRIu64 ",\"dur\":%" PRIu64
             "}",
          cat, pid, tid, ts, dur);
}

kafu_err kafu_node_trace_write(const kafu_node_trace *t, const kafu_config *cfg, const char *path,
                               kafu_error *err) {
  FILE *f = fopen(path, "w");
  if (!f) return kafu_fail(err, KAFU_E_IO, "%s: %s", path, strerror(errno));
  bool first = true;
  fprintf(f, "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[");
  for (size_t i = 0; i < cfg->n_nodes; i++) {
    fprintf(f, "%s\n{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%zu,\"args\":{\"name\":",
            first ? "" : ",", i + 1);
    first = false;
    json_str(f, cfg->nodes[i].name);
    fprintf(f, "}}");
    fprintf(f, ",\n{\"name\":\"process_sort_index\",\"ph\":\"M\",\"pid\":%zu,\"args\":{\"sort_index\":%zu}}",
            i + 1, i);
  }
  /* Residency: from arrival (start or a migration's end) to departure. */
  const char *where = t->start_node;
  uint64_t since = t->start_us;
  char name[256];
  for (size_t i = 0; i <= t->n_migs; i++) {
    uint64_t until = i < t->n_migs ? t->migs[i].start_us : (t->end_us ? t->end_us : since);
    if (until < since) until = since;
    span(f, &first, node_index(cfg, where), 1, "running", "residency", since, until - since);
    if (i == t->n_migs) break;
    const kafu_node_migration *m = &t->migs[i];
    snprintf(name, sizeof name, "migrate %s -> %s (%s %s)", m->src, m->dst, m->reason, m->function);
    span(f, &first, node_index(cfg, m->src), 2, name, "migration", m->start_us, m->pause_us);
    fprintf(f, ",\n{\"name\":\"migration\",\"cat\":\"migration\",\"ph\":\"i\",\"s\":\"p\",\"pid\":%d,"
               "\"tid\":2,\"ts\":%" PRIu64 ",\"args\":{\"from\":",
            node_index(cfg, m->dst), m->end_us);
    json_str(f, m->src);
    fprintf(f, ",\"function\":");
    json_str(f, m->function);
    fprintf(f, ",\"raw_bytes\":%" PRIu64 ",\"wire_bytes\":%" PRIu64 ",\"pause_us\":%" PRIu64 "}}",
            m->raw_bytes, m->wire_bytes, m->pause_us);
    where = m->dst;
    since = m->end_us;
  }
  fprintf(f, "\n]}\n");
  if (fclose(f)) return kafu_fail(err, KAFU_E_IO, "%s: write failed", path);
  return KAFU_OK;
}

void kafu_node_trace_free(kafu_node_trace *t) {
  free(t->migs);
  memset(t, 0, sizeof *t);
}
