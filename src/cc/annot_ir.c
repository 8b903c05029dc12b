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
      while (*p && *p != '"')
        p++;
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
  while (*p == ' ' || *p == '\t')
    p++;
  return p;
}

/* The IR's global definitions and defined functions, sorted by name, so
 * that each annotation costs a binary search rather than a scan. */
typedef struct ir_symbol {
  char *name;       /* owned, decoded */
  const char *line; /* borrowed: the defining line */
} ir_symbol;

typedef struct ir_index {
  size_t n_globals, n_funcs, cap_globals, cap_funcs;
  ir_symbol *globals, *funcs;
  bool failed;
} ir_index;

static int symbol_cmp(const void *a, const void *b) {
  return strcmp(((const ir_symbol *)a)->name, ((const ir_symbol *)b)->name);
}

static void index_add(ir_index *x, bool func, const char *name, const char *line) {
  size_t *n = func ? &x->n_funcs : &x->n_globals, *cap = func ? &x->cap_funcs : &x->cap_globals;
  ir_symbol **v = func ? &x->funcs : &x->globals;
  if (*n == *cap) {
    size_t grown = *cap ? *cap * 2 : 64;
    ir_symbol *bigger = realloc(*v, grown * sizeof *bigger);
    if (!bigger) {
      x->failed = true;
      return;
    }
    *v = bigger;
    *cap = grown;
  }
  char *copy = strdup(name);
  if (!copy) {
    x->failed = true;
    return;
  }
  (*v)[(*n)++] = (ir_symbol){copy, line};
}

static void index_free(ir_index *x) {
  for (size_t i = 0; i < x->n_globals; i++)
    free(x->globals[i].name);
  for (size_t i = 0; i < x->n_funcs; i++)
    free(x->funcs[i].name);
  free(x->globals);
  free(x->funcs);
}

/* One pass over the IR: "@name = ..." lines and "define ... @name(" lines. */
static void index_build(ir_index *x, const char *ir) {
  char name[NAME_MAX_LEN];
  for (const char *line = ir; *line && !x->failed;) {
    const char *nl = strchr(line, '\n');
    if (*line == '@') {
      const char *end = parse_global_name(line, name, sizeof name);
      if (end && !strncmp(skip_space(end), "= ", 2)) index_add(x, false, name, line);
    } else if (!strncmp(line, "define ", 7)) {
      const char *at = strchr(line, '@');
      if (at && (!nl || at < nl) && parse_global_name(at, name, sizeof name))
        index_add(x, true, name, line);
    }
    if (!nl) break;
    line = nl + 1;
  }
  if (x->n_globals) qsort(x->globals, x->n_globals, sizeof *x->globals, symbol_cmp);
  if (x->n_funcs) qsort(x->funcs, x->n_funcs, sizeof *x->funcs, symbol_cmp);
}

static const char *index_find(const ir_index *x, bool func, const char *name) {
  ir_symbol key = {(char *)name, NULL};
  if (!(func ? x->n_funcs : x->n_globals)) return NULL;
  const ir_symbol *hit = bsearch(&key, func ? x->funcs : x->globals,
                                 func ? x->n_funcs : x->n_globals, sizeof key, symbol_cmp);
  return hit ? hit->line : NULL;
}

/* Reads the c"..." initializer of string constant @name into out. */
static bool read_string_constant(const ir_index *x, const char *name, char *out, size_t cap) {
  const char *line = index_find(x, false, name);
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
      while (q < end && *q != '"')
        q++;
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
static kafu_err check_entry(const ir_index *x, const char *src, const raw_entry *e,
                            kafu_site_kind kind, const char *fn, const char *node, const char *file,
                            kafu_cc_annots *out, size_t first, bool *duplicate, kafu_error *err) {
  *duplicate = false;
  if (!index_find(x, true, e->target))
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
  static const char table_name[] = "@llvm.global.annotations = ";
  const char *line = !strncmp(ir, table_name, strlen(table_name))
                         ? ir
                         : strstr(ir, "\n@llvm.global.annotations = ");
  if (!line) return KAFU_OK; /* no annotations at all */
  if (*line == '\n') line++;
  size_t first = out->n;
  ir_index x;
  memset(&x, 0, sizeof x);
  raw_entry *e = malloc(sizeof *e);
  if (!e) return kafu_fail(err, KAFU_E_NOMEM, "out of memory");
  kafu_err rc = KAFU_OK;
  index_build(&x, ir);
  if (x.failed) {
    rc = kafu_fail(err, KAFU_E_NOMEM, "out of memory");
    goto out;
  }
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
    if (!read_string_constant(&x, e->text_name, text, sizeof text) ||
        !read_string_constant(&x, e->file_name, file, sizeof file))
      goto malformed;
    if (!kafu_cc_annot_split(text, &kind, fn, sizeof fn, node, sizeof node)) continue;
    bool duplicate;
    rc = check_entry(&x, src, e, kind, fn, node, file, out, first, &duplicate, err);
    if (rc) goto out;
    if (duplicate) continue;
    /* clang calls `int main(int, char **)` __main_argc_argv in IR; the
     * linked module and the source both say main */
    const char *target = strcmp(e->target, "__main_argc_argv") ? e->target : "main";
    rc = kafu_cc_annots_add(out, KAFU_ANNOT_DEF, kind, target, node, file, e->line, err);
    if (rc) goto out;
  }
  goto out;
malformed:
  rc = kafu_fail(err, KAFU_E_INPUT, "%s: cannot parse @llvm.global.annotations in clang's IR", src);
out:
  index_free(&x);
  free(e);
  return rc;
}
