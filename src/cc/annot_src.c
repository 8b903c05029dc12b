/* Finds Kafu annotations in clang -E output that the IR cannot show: those
 * on prototypes, on variables or types, and on definitions the compiler never
 * emitted (an unused static function). A light C declaration scanner reads
 * from each annotate("kafu_...") to the end of its declaration; the IR stays
 * the authority for everything it does show. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc/annot.h"

#define TEXT_MAX 1024

typedef enum { DECL_UNKNOWN, DECL_DEF, DECL_PROTO, DECL_OTHER } decl_kind;

typedef struct {
  decl_kind kind;
  char name[TEXT_MAX];
} decl_info;

static const char *macro_name(kafu_site_kind kind) {
  return kind == KAFU_SITE_DEST ? "KAFU_DEST" : "KAFU_MAY_OFFLOAD";
}

static bool is_ident_start(int c) {
  return isalpha(c) || c == '_' || c == '$';
}
static bool is_ident_char(int c) {
  return isalnum(c) || c == '_' || c == '$';
}

/* Skips a string or character literal starting at p (the quote). */
static const char *skip_literal(const char *p) {
  char quote = *p++;
  while (*p && *p != quote && *p != '\n') {
    if (*p == '\\' && p[1]) p++;
    p++;
  }
  return *p == quote ? p + 1 : p;
}

/* Skips whitespace and line-marker lines ("# 12 "file""). */
static const char *skip_blank(const char *p) {
  for (;;) {
    while (*p == ' ' || *p == '\t' || *p == '\r')
      p++;
    if (*p == '\n') {
      p++;
      while (*p == ' ' || *p == '\t')
        p++;
      if (*p == '#') {
        const char *nl = strchr(p, '\n');
        p = nl ? nl : p + strlen(p);
      }
      continue;
    }
    return p;
  }
}

/* Skips a balanced (...) group starting at p, if p is at '('. */
static const char *skip_parens(const char *p) {
  int depth = 0;
  while (*p) {
    if (*p == '"' || *p == '\'') {
      p = skip_literal(p);
      continue;
    }
    if (*p == '(') depth++;
    if (*p == ')' && --depth == 0) return p + 1;
    p++;
  }
  return p;
}

/* Reads the adjacent string literals at p (C concatenation) into out. */
static const char *read_strings(const char *p, char *out, size_t cap) {
  size_t n = 0;
  p = skip_blank(p);
  while (*p == '"') {
    p++;
    while (*p && *p != '"' && *p != '\n') {
      char c = *p++;
      if (c == '\\' && *p) c = *p++;
      if (n + 1 < cap) out[n++] = c;
    }
    if (*p == '"') p++;
    p = skip_blank(p);
  }
  out[n] = '\0';
  return p;
}

static bool is_attribute_keyword(const char *id, size_t len) {
  static const char *const words[] = {"__attribute__", "__attribute",  "__declspec",
                                      "__asm__",       "__asm",        "asm",
                                      "_Alignas",      "__extension__"};
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
    if (strlen(words[i]) == len && !memcmp(words[i], id, len)) return true;
  return false;
}

static void set_name(char *dst, const char *src, size_t len) {
  if (len >= TEXT_MAX) len = TEXT_MAX - 1;
  memcpy(dst, src, len);
  dst[len] = '\0';
}

/* Classifies the declaration that follows position p (just after the
 * annotate(...) attribute's own closing parentheses, inside the attribute
 * list at depth 2). */
static void scan_declaration(const char *p, decl_info *out) {
  int depth = 2;
  bool saw_paren = false, last_was_ident = false;
  const char *last_id = NULL, *cand = NULL;
  size_t last_len = 0, cand_len = 0;
  char asm_name[TEXT_MAX] = "";
  out->kind = DECL_UNKNOWN;
  out->name[0] = '\0';
  /* Leave the enclosing __attribute__((...)). */
  while (*p && depth > 0) {
    if (*p == '"' || *p == '\'') {
      p = skip_literal(p);
      continue;
    }
    if (*p == '(') depth++;
    if (*p == ')') depth--;
    p++;
  }
  for (;;) {
    p = skip_blank(p);
    int c = (unsigned char)*p;
    if (!c) return;
    if (is_ident_start(c)) {
      const char *id = p;
      while (is_ident_char((unsigned char)*p))
        p++;
      size_t len = (size_t)(p - id);
      if (is_attribute_keyword(id, len)) {
        p = skip_blank(p);
        /* An asm label renames the symbol: int f(void) __asm__("g"). */
        if (*p == '(' && depth == 0 && saw_paren && id[0] == '_' && strstr(id, "asm") == id + 2)
          read_strings(p + 1, asm_name, sizeof asm_name);
        if (*p == '(') p = skip_parens(p);
        last_was_ident = false;
        continue;
      }
      if (depth == 0) {
        last_id = id;
        last_len = len;
      }
      last_was_ident = true;
      continue;
    }
    if (c == '"' || c == '\'') {
      p = skip_literal(p);
      last_was_ident = false;
      continue;
    }
    if (c == '(' || c == '[') {
      if (c == '(' && depth == 0 && !saw_paren) {
        saw_paren = true;
        if (last_was_ident) {
          cand = last_id;
          cand_len = last_len;
        }
      }
      depth++;
    } else if (c == ')' || c == ']') {
      if (depth > 0) depth--;
    } else if (depth == 0 && (c == '{' || c == ';' || c == '=' || c == ',')) {
      if (saw_paren && cand) {
        out->kind = c == '{' ? DECL_DEF : (c == '=' ? DECL_OTHER : DECL_PROTO);
        if (asm_name[0])
          set_name(out->name, asm_name, strlen(asm_name));
        else
          set_name(out->name, cand, cand_len);
      } else {
        out->kind = DECL_OTHER;
        if (last_id) set_name(out->name, last_id, last_len);
      }
      return;
    }
    last_was_ident = false;
    p++;
  }
}

static bool ir_has(const kafu_cc_annots *ir_found, const char *func, kafu_site_kind kind) {
  for (size_t i = 0; i < ir_found->n; i++)
    if (ir_found->v[i].kind == kind && !strcmp(ir_found->v[i].func, func)) return true;
  return false;
}

/* Handles one annotate("kafu_...") occurrence at `hit` found at file:line. */
static kafu_err handle_hit(const char *hit, const char *file, uint32_t line,
                           const kafu_cc_annots *ir_found, kafu_cc_annots *out, kafu_error *err) {
  char text[TEXT_MAX], fn[TEXT_MAX], node[TEXT_MAX];
  kafu_site_kind kind;
  const char *p = read_strings(hit + strlen("annotate("), text, sizeof text);
  if (!kafu_cc_annot_split(text, &kind, fn, sizeof fn, node, sizeof node)) return KAFU_OK;
  if (*p == ')') p++;
  decl_info decl;
  scan_declaration(p, &decl);
  const char *what = decl.name[0] ? decl.name : "?";
  switch (decl.kind) {
  case DECL_UNKNOWN: return KAFU_OK; /* cannot tell: the IR checks stand */
  case DECL_OTHER:
    return kafu_fail(err, KAFU_E_INPUT, "%s:%u: %s on '%s', which is not a function definition",
                     file, line, macro_name(kind), what);
  case DECL_DEF:
  case DECL_PROTO: break;
  }
  if (!node[0])
    return kafu_fail(err, KAFU_E_INPUT, "%s:%u: %s on function '%s' has an empty node name", file,
                     line, macro_name(kind), what);
  if (fn[0] && strcmp(fn, decl.name) != 0)
    return kafu_fail(err, KAFU_E_INPUT, "%s:%u: %s(%s, \"%s\") is written on function '%s'", file,
                     line, macro_name(kind), fn, node, what);
  if (ir_has(ir_found, decl.name, kind)) return KAFU_OK;
  return kafu_cc_annots_add(out, decl.kind == DECL_DEF ? KAFU_ANNOT_DROPPED : KAFU_ANNOT_PROTO,
                            kind, decl.name, node, file, line, err);
}

/* Parses a line marker `# N "file" ...` at p into *line and file. */
static void parse_marker(const char *p, uint32_t *line, char *file, size_t cap) {
  p++;
  while (*p == ' ')
    p++;
  if (!isdigit((unsigned char)*p)) return;
  unsigned long n = strtoul(p, (char **)&p, 10);
  while (*p == ' ')
    p++;
  if (*p != '"') return;
  read_strings(p, file, cap);
  *line = (uint32_t)n;
}

/* Advances the line cursor (*p at a line start, *line its number, file its
 * name) over the lines before `target`, following line markers. */
static void advance_lines(const char **p, const char *target, uint32_t *line, char *file,
                          size_t cap) {
  while (*p < target) {
    const char *nl = strchr(*p, '\n');
    if (!nl || nl >= target) return;
    const char *q = *p;
    while (*q == ' ' || *q == '\t')
      q++;
    if (*q == '#')
      parse_marker(q, line, file, cap); /* the marker names the line that follows */
    else
      (*line)++;
    *p = nl + 1;
  }
}

kafu_err kafu_cc_annot_from_source(const char *pre, const char *src, const kafu_cc_annots *ir_found,
                                   kafu_cc_annots *out, kafu_error *err) {
  static const char needle[] = "annotate(";
  char file[TEXT_MAX];
  snprintf(file, sizeof file, "%s", src);
  uint32_t line = 1;
  const char *line_start = pre;
  for (const char *hit = pre; (hit = strstr(hit, needle)); hit++) {
    const char *after = hit + strlen(needle);
    while (*after == ' ')
      after++;
    if (strncmp(after, "\"kafu_", 6) != 0) continue;
    advance_lines(&line_start, hit, &line, file, sizeof file);
    kafu_err rc = handle_hit(hit, file, line, ir_found, out, err);
    if (rc) return rc;
  }
  return KAFU_OK;
}
