/* Reads @llvm.global.annotations from clang's textual LLVM IR (LLVM 14):
 * each entry names the annotated global, the annotation string, the file and
 * the line. Only what kafu cc needs is parsed; the IR comes from our own
 * clang run, but a malformed table still gives an error, never a crash. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc/annot.h"

#define NAME_MAX_LEN 1024

static const char *macro_name(kafu_site_kind kind) {
  return kind == KAFU_SITE_DEST ? "KAFU_DEST" : "KAFU_MAY_OFFLOAD";
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = tolower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* Decodes an IR quoted string body starting after the opening quote, with
 * \XX and \\ escapes, stopping at the closing quote or a \00. Returns the
 * position after the closing quote, or NULL if unterminated. */
static const char *decode_quoted(const char *p, char *out, size_t cap) {
  size_t n = 0;
  bool stopped = false;
  while (*p && *p != '"' && *p != '\n') {
    int c = (unsigned char)*p++;
    if (c == '\\') {
      if (*p == '\\') {
        p++;
      } else {
        int hi = hexval(p[0]), lo = hi >= 0 ? hexval(p[1]) : -1;
        if (hi < 0 || lo < 0) return NULL;
        c = hi * 16 + lo;
        p += 2;
      }
    }
    if (c == 0) stopped = true;
    if (!stopped && n + 1 < cap) out[n++] = (char)c;
  }
  if (cap) out[n] = '\0';
  return *p == '"' ? p + 1 : NULL;
}

/* Parses a global name at p ('@' then plain chars or a quoted string) into
 * out. Returns the position after it, or NULL. */
static const char *parse_global_name(const char *p, char *out, size_t cap) {
  if (*p != '@') return NULL;
  p++;
  if (*p == '"') return decode_quoted(p + 1, out, cap);
  size_t n = 0;
  while (isalnum((unsigned char)*p) || *p == '$' || *p == '.' || *p == '_' || *p == '-') {
    if (n + 1 < cap) out[n++] = *p;
    p++;
  }
  if (cap) out[n] = '\0';
  return n ? p : NULL;
}

/* Returns the position after the bracket group opening at p, skipping
 * quoted strings, or NULL if it does not close. */
static const char *skip_group(const char *p) {
  int depth = 0;
  for (; *p; p++) {
    if (*p == '"') {
      p++;
      while (*p && *p != '"') p++;
      if (!*p) return NULL;
    } else if (*p == '[' || *p == '{' || *p == '(' || *p == '<') {
      depth++;
    } else if (*p == ']' || *p == '}' || *p == ')' || *p == '>') {
      if (--depth == 0) return p + 1;
    }
  }
  return NULL;
}

static const char *skip_space(const char *p) {
  while (*p == ' ' || *p == '\t') p++;
  return p;
}

/* Finds the line that starts with `prefix` ("define " or "@name = "). */
static const char *find_line(const char *ir, bool (*match)(const char *line, const void *arg),
                             const void *arg) {
  const char *line = ir;
  while (*line) {
    if (match(line, arg)) return line;
    const char *nl = strchr(line, '\n');
    if (!nl) break;
    line = nl + 1;
  }
  return NULL;
}

static bool line_defines_global(const char *line, const void *arg) {
  char name[NAME_MAX_LEN];
  if (*line != '@') return false;
  const char *end = parse_global_name(line, name, sizeof name);
  return end && !strcmp(name, (const char *)arg) && !strncmp(skip_space(end), "= ", 2);
}

static bool line_defines_function(const char *line, const void *arg) {
  if (strncmp(line, "define ", 7) != 0) return false;
  const char *nl = strchr(line, '\n');
  const char *at = strchr(line, '@');
  if (!at || (nl && at > nl)) return false;
  char name[NAME_MAX_LEN];
  return parse_global_name(at, name, sizeof name) && !strcmp(name, (const char *)arg);
}

/* Reads the c"..." initializer of string constant @name into out. */
static bool read_string_constant(const char *ir, const char *name, char *out, size_t cap) {
  const char *line = find_line(ir, line_defines_global, name);
  if (!line) return false;
  const char *nl = strchr(line, '\n');
  const char *c = strstr(line, " c\"");
  if (!c || (nl && c > nl)) return false;
  return decode_quoted(c + 3, out, cap) != NULL;
}

/* One parsed table entry. */
typedef struct {
  char target[NAME_MAX_LEN], text_name[NAME_MAX_LEN], file_name[NAME_MAX_LEN];
  uint32_t line;
} raw_entry;

/* Parses the fields of one struct value `{ ... }` spanning [p, end). */
static bool parse_entry(const char *p, const char *end, raw_entry *e) {
  const char *field[5];
  int n_fields = 0, depth = 0;
  field[n_fields++] = p + 1;
  for (const char *q = p + 1; q < end - 1; q++) {
    if (*q == '"') {
      q++;
      while (q < end && *q != '"') q++;
    } else if (strchr("[{(<", *q)) {
      depth++;
    } else if (strchr("]})>", *q)) {
      depth--;
    } else if (*q == ',' && depth == 0 && n_fields < 5) {
      field[n_fields++] = q + 1;
    }
  }
  if (n_fields < 4) return false;
  char *names[3] = {e->target, e->text_name, e->file_name};
  for (int i = 0; i < 3; i++) {
    const char *at = strchr(field[i], '@');
    if (!at || at >= field[i + 1] || !parse_global_name(at, names[i], NAME_MAX_LEN)) return false;
  }
  const char *num = strstr(field[3], "i32 ");
  if (!num || num >= end) return false;
  e->line = (uint32_t)strtoul(num + 4, NULL, 10);
  return true;
}

/* Checks one Kafu entry against the IR and the entries already found. */
static kafu_err check_entry(const char *ir, const char *src, const raw_entry *e,
                            kafu_site_kind kind, const char *fn, const char *node,
                            const char *file, kafu_cc_annots *out, size_t first,
                            bool *duplicate, kafu_error *err) {
  *duplicate = false;
  if (!find_line(ir, line_defines_function, e->target))
    return kafu_fail(err, KAFU_E_INPUT, "%s:%u: %s on '%s', which is not a function definition",
                     file, e->line, macro_name(kind), e->target);
  if (!node[0])
    return kafu_fail(err, KAFU_E_INPUT, "%s:%u: %s on function '%s' has an empty node name", file,
                     e->line, macro_name(kind), e->target);
  if (fn[0] && strcmp(fn, e->target) != 0)
    return kafu_fail(err, KAFU_E_INPUT, "%s:%u: %s(%s, \"%s\") is written on function '%s'", file,
                     e->line, macro_name(kind), fn, node, e->target);
  for (size_t i = first; i < out->n; i++) {
    const kafu_cc_annot *a = &out->v[i];
    if (a->kind != kind || strcmp(a->func, e->target) != 0) continue;
    if (strcmp(a->node, node) != 0)
      return kafu_fail(err, KAFU_E_INPUT, "%s:%u: function '%s' has two %s annotations (%s, %s)",
                       file, e->line, e->target, macro_name(kind), a->node, node);
    *duplicate = true;
  }
  (void)src;
  return KAFU_OK;
}

kafu_err kafu_cc_annot_from_ir(const char *ir, const char *src, kafu_cc_annots *out,
                               kafu_error *err) {
  static const char table_name[] = "llvm.global.annotations";
  const char *line = find_line(ir, line_defines_global, table_name);
  if (!line) return KAFU_OK; /* no annotations at all */
  size_t first = out->n;
  raw_entry *e = malloc(sizeof *e);
  if (!e) return kafu_fail(err, KAFU_E_NOMEM, "out of memory");
  kafu_err rc = KAFU_OK;
  char text[NAME_MAX_LEN], file[NAME_MAX_LEN], fn[NAME_MAX_LEN], node[NAME_MAX_LEN];
  const char *p = strstr(line, " global ");
  const char *nl = strchr(line, '\n');
  if (!p || (nl && p > nl)) goto malformed;
  p = skip_space(p + 8);
  if (*p != '[' || !(p = skip_group(p))) goto malformed; /* the array type */
  p = skip_space(p);
  if (*p != '[') goto malformed;
  p++;
  for (;;) {
    p = skip_space(p);
    if (*p == ']') break;
    if (*p != '{' || !(p = skip_group(p))) goto malformed; /* element type */
    p = skip_space(p);
    const char *value = p;
    if (*p != '{' || !(p = skip_group(p))) goto malformed;
    if (!parse_entry(value, p, e)) goto malformed;
    p = skip_space(p);
    if (*p == ',') p++;
    kafu_site_kind kind;
    if (!read_string_constant(ir, e->text_name, text, sizeof text) ||
        !read_string_constant(ir, e->file_name, file, sizeof file))
      goto malformed;
    if (!kafu_cc_annot_split(text, &kind, fn, sizeof fn, node, sizeof node)) continue;
    bool duplicate;
    rc = check_entry(ir, src, e, kind, fn, node, file, out, first, &duplicate, err);
    if (rc) goto out;
    if (duplicate) continue;
    rc = kafu_cc_annots_add(out, KAFU_ANNOT_DEF, kind, e->target, node, file, e->line, err);
    if (rc) goto out;
  }
  goto out;
malformed:
  rc = kafu_fail(err, KAFU_E_INPUT, "%s: cannot parse @llvm.global.annotations in clang's IR",
                 src);
out:
  free(e);
  return rc;
}
