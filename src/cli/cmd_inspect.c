/* kafu inspect: shows a module's kafu section (sites, nodes, state region,
 * instrumented functions, code size) as text or as the JSON of docs/inspect-json.md. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "snapify/meta.h"
#include "util/file.h"

#define CMD "inspect"

static void usage(FILE *out) {
  fprintf(out,
          "usage: kafu inspect APP.wasm [--json]\n"
          "\n"
          "Shows the migration sites, nodes, state region, instrumented functions and the\n"
          "code size before and after snapify, from the module's kafu section.\n"
          "\n"
          "options:\n"
          "      --json   machine-readable output (format: docs/inspect-json.md)\n"
          "  -h, --help   show this help\n");
}

static const char *kind_name(kafu_site_kind kind) {
  switch (kind) {
  case KAFU_SITE_DEST: return "dest";
  case KAFU_SITE_OFFLOAD: return "offload";
  case KAFU_SITE_POINT: return "point";
  }
  return "unknown";
}

/* JSON string: ", \ and control bytes escaped; bytes >= 0x80 as \u00XX so the
 * output is valid JSON whatever the (hostile) names hold. */
static void json_str(FILE *out, const char *s) {
  fputc('"', out);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(out, "\\%c", *p);
    else if (*p < 0x20 || *p >= 0x7f) fprintf(out, "\\u%04x", *p);
    else fputc(*p, out);
  }
  fputc('"', out);
}

/* Distinct node names in first-appearance order (borrowed from m). */
static size_t collect_nodes(const kafu_meta *m, const char **nodes) {
  size_t n = 0;
  for (size_t i = 0; i < m->n_sites; i++) {
    const char *node = m->sites[i].node;
    if (!node[0]) continue;
    size_t k = 0;
    while (k < n && strcmp(nodes[k], node)) k++;
    if (k == n) nodes[n++] = node;
  }
  return n;
}

static double size_ratio(const kafu_meta *m) {
  return m->code_size_before ? (double)m->code_size_after / m->code_size_before : 0.0;
}

static void print_json(FILE *out, const char *path, const kafu_meta *m, bool found,
                       const char **nodes, size_t n_nodes) {
  fprintf(out, "{\n  \"format\": 1,\n  \"file\": ");
  json_str(out, path);
  fprintf(out, ",\n  \"kafu_section\": %s", found ? "true" : "false");
  if (!found) {
    fprintf(out, "\n}\n");
    return;
  }
  fprintf(out, ",\n  \"snapified\": %s,\n  \"policy\": \"%s\",\n  \"sites\": [",
          (m->flags & KAFU_META_FLAG_SNAPIFIED) ? "true" : "false",
          (m->flags & KAFU_META_FLAG_ALWAYS) ? "always" : "kafu");
  for (size_t i = 0; i < m->n_sites; i++) {
    const kafu_site *s = &m->sites[i];
    fprintf(out, "%s\n    {\"id\": %zu, \"kind\": \"%s\", \"func\": ", i ? "," : "", i,
            kind_name(s->kind));
    json_str(out, s->func);
    fprintf(out, ", \"node\": ");
    json_str(out, s->node);
    fprintf(out, ", \"file\": ");
    json_str(out, s->file);
    fprintf(out, ", \"line\": %u}", s->line);
  }
  fprintf(out, "%s],\n  \"nodes\": [", m->n_sites ? "\n  " : "");
  for (size_t i = 0; i < n_nodes; i++) {
    fprintf(out, "%s", i ? ", " : "");
    json_str(out, nodes[i]);
  }
  fprintf(out,
          "],\n  \"state_region\": {\"base\": %u, \"size\": %u, \"host_allocated\": %s, "
          "\"globals\": %u},\n",
          m->state_base, m->state_size, m->state_base ? "false" : "true", m->n_globals);
  fprintf(out, "  \"functions\": {\"total\": %u, \"instrumented\": %u, \"instrumented_names\": [",
          m->n_funcs, m->n_instrumented);
  for (uint32_t i = 0; i < m->n_instrumented; i++) {
    fprintf(out, "%s", i ? ", " : "");
    json_str(out, m->instrumented[i]);
  }
  fprintf(out, "]},\n  \"code_size\": {\"before\": %u, \"after\": %u, \"ratio\": %.4f}\n}\n",
          m->code_size_before, m->code_size_after, size_ratio(m));
}

static void print_text(FILE *out, const char *path, const kafu_meta *m, bool found,
                       const char **nodes, size_t n_nodes) {
  if (!found) {
    fprintf(out, "%s: no kafu section (not built by kafu cc or snapify)\n", path);
    return;
  }
  fprintf(out, "%s: %s, policy %s\n", path,
          (m->flags & KAFU_META_FLAG_SNAPIFIED) ? "snapified" : "not snapified yet",
          (m->flags & KAFU_META_FLAG_ALWAYS) ? "always" : "kafu");
  fprintf(out, "sites: %zu\n", m->n_sites);
  for (size_t i = 0; i < m->n_sites; i++) {
    const kafu_site *s = &m->sites[i];
    fprintf(out, "  %3zu  %-7s  %-24s", i, kind_name(s->kind), s->func);
    if (s->node[0]) fprintf(out, "  -> %s", s->node);
    if (s->file[0]) fprintf(out, "  (%s:%u)", s->file, s->line);
    fputc('\n', out);
  }
  fprintf(out, "nodes:");
  for (size_t i = 0; i < n_nodes; i++) fprintf(out, "%s %s", i ? "," : "", nodes[i]);
  fprintf(out, "%s\n", n_nodes ? "" : " (none)");
  if (m->state_base)
    fprintf(out, "state region: 0x%x, %u bytes (support library), %u globals saved\n",
            m->state_base, m->state_size, m->n_globals);
  else
    fprintf(out, "state region: reserved by the host, %u bytes, %u globals saved\n", m->state_size,
            m->n_globals);
  if (!(m->flags & KAFU_META_FLAG_SNAPIFIED)) return;
  fprintf(out, "instrumented: %u of %u functions\n", m->n_instrumented, m->n_funcs);
  for (uint32_t i = 0; i < m->n_instrumented; i++) fprintf(out, "  %s\n", m->instrumented[i]);
  fprintf(out, "code size: %u -> %u bytes (%.3fx)\n", m->code_size_before, m->code_size_after,
          size_ratio(m));
}

int kafu_cmd_inspect(int argc, char **argv) {
  static const struct option long_opts[] = {
      {"json", no_argument, NULL, 'j'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  bool json = false;
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
    switch (c) {
    case 'j': json = true; break;
    case 'h': usage(stdout); return 0;
    default: return kafu_cli_usage_error(CMD, "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind >= argc) return kafu_cli_usage_error(CMD, "missing module");
  if (argc - optind > 1) return kafu_cli_usage_error(CMD, "more than one module");
  const char *path = argv[optind];
  uint8_t *bytes = NULL;
  size_t len = 0;
  kafu_error err = {0};
  kafu_meta meta = {0};
  bool found = false;
  const char **nodes = NULL;
  int status = 0;
  if (kafu_file_read(path, &bytes, &len, &err) != KAFU_OK) {
    status = kafu_cli_report(CMD, &err);
    goto out;
  }
  if (kafu_meta_read(bytes, len, &meta, &found, &err) != KAFU_OK) {
    kafu_error_prefix(&err, path);
    status = kafu_cli_report(CMD, &err);
    goto out;
  }
  nodes = calloc(meta.n_sites + 1, sizeof *nodes);
  if (!nodes) {
    status = kafu_cli_report(CMD, &(kafu_error){KAFU_E_NOMEM, "out of memory"});
    goto out;
  }
  size_t n_nodes = collect_nodes(&meta, nodes);
  if (json)
    print_json(stdout, path, &meta, found, nodes, n_nodes);
  else
    print_text(stdout, path, &meta, found, nodes, n_nodes);
out:
  free(nodes);
  free(bytes);
  kafu_meta_free(&meta);
  return status;
}
