/* The Wasm binary decoder: turns hostile bytes into a kafu_wasm_module
 * (structure only; function bodies are validated by validate.c). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "wasm/module.h"

/* Hard limits against hostile inputs that would make us allocate a lot. */
#define MAX_COUNT 1000000u
#define MAX_LOCALS 50000u
#define MAX_PAGES 65536u

static const char *const SECTION_NAMES[] = {"custom", "type",   "import", "function",
                                            "table",  "memory", "global", "export",
                                            "start",  "element", "code",  "data",
                                            "datacount"};

typedef struct dec {
  kafu_rd r;
  const char *label;
  kafu_error *err;
  kafu_wasm_module *m;
  struct kafu_wasm_module_ext *x;
  int section; /* current section id, -1 before any */
  bool failed;
} dec;

__attribute__((format(printf, 2, 3))) static kafu_err dfail(dec *d, const char *fmt, ...) {
  if (d->failed) return KAFU_E_INPUT;
  d->failed = true;
  char what[300];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (d->section >= 0 && d->section <= 12)
    kafu_fail(d->err, KAFU_E_INPUT, "%s: section %d (%s): %s at offset 0x%zx", d->label,
              d->section, SECTION_NAMES[d->section], what, kafu_rd_offset(&d->r));
  else
    kafu_fail(d->err, KAFU_E_INPUT, "%s: %s at offset 0x%zx", d->label, what,
              kafu_rd_offset(&d->r));
  return KAFU_E_INPUT;
}

static uint32_t u32(dec *d) {
  uint32_t v = (uint32_t)kafu_rd_uleb(&d->r, 32);
  if (d->r.bad) dfail(d, "truncated or malformed integer");
  return v;
}

static uint8_t byte(dec *d) {
  uint8_t v = kafu_rd_u8(&d->r);
  if (d->r.bad) dfail(d, "unexpected end");
  return v;
}

/* A vector count, bounded both by MAX_COUNT and by the bytes left (each
 * element takes at least `min_elem_bytes`). */
static uint32_t count(dec *d, size_t min_elem_bytes) {
  uint32_t n = u32(d);
  if (d->failed) return 0;
  if (n > MAX_COUNT || (min_elem_bytes && (size_t)n > kafu_rd_left(&d->r) / min_elem_bytes)) {
    dfail(d, "count %u too large", n);
    return 0;
  }
  return n;
}

static bool utf8_valid(const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    if (c < 0x80) { i++; continue; }
    size_t len;
    uint32_t cp;
    if ((c & 0xe0) == 0xc0) { len = 2; cp = c & 0x1f; }
    else if ((c & 0xf0) == 0xe0) { len = 3; cp = c & 0x0f; }
    else if ((c & 0xf8) == 0xf0) { len = 4; cp = c & 0x07; }
    else return false;
    if (i + len > n) return false;
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += len;
  }
  return true;
}

static char *name(dec *d) {
  uint32_t n = u32(d);
  if (d->failed) return NULL;
  const uint8_t *p = kafu_rd_bytes(&d->r, n);
  if (!p) { dfail(d, "name length %u out of bounds", n); return NULL; }
  if (!utf8_valid(p, n)) { dfail(d, "malformed UTF-8 encoding"); return NULL; }
  char *s = malloc((size_t)n + 1);
  if (!s) { dfail(d, "out of memory"); return NULL; }
  memcpy(s, p, n);
  s[n] = '\0';
  return s;
}

static bool is_numtype(uint8_t t) { return t == 0x7f || t == 0x7e || t == 0x7d || t == 0x7c; }
static bool is_reftype(uint8_t t) { return t == 0x70 || t == 0x6f; }
static bool is_valtype(uint8_t t) { return is_numtype(t) || is_reftype(t); }

static kafu_wasm_valtype valtype(dec *d) {
  uint8_t t = byte(d);
  if (!d->failed && !is_valtype(t)) {
    d->r.p--; /* point the message at the offending byte */
    dfail(d, "malformed value type 0x%02x", t);
  }
  return t;
}

static void *xcalloc(dec *d, size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size);
  if (!p) dfail(d, "out of memory");
  return p;
}

static void limits(dec *d, kafu_wasm_limits *l, uint64_t max_allowed, const char *what) {
  uint8_t flag = byte(d);
  if (d->failed) return;
  if (flag > 1) { dfail(d, "malformed limits flags 0x%02x", flag); return; }
  l->min = u32(d);
  l->has_max = flag == 1;
  if (l->has_max) l->max = u32(d);
  if (d->failed) return;
  (void)max_allowed;
  (void)what;
}

static void table_type(dec *d, kafu_wasm_table *t) {
  t->elem = byte(d);
  if (!d->failed && !is_reftype(t->elem)) { dfail(d, "malformed reference type 0x%02x", t->elem); return; }
  limits(d, &t->limits, UINT32_MAX, "table");
}

static void global_type(dec *d, kafu_wasm_valtype *t, bool *mut) {
  *t = valtype(d);
  uint8_t m = byte(d);
  if (!d->failed && m > 1) dfail(d, "malformed mutability 0x%02x", m);
  *mut = m == 1;
}

static void const_expr(dec *d, kafu_wasm_constexpr *c) {
  c->offset = kafu_rd_offset(&d->r);
  c->op = byte(d);
  if (d->failed) return;
  switch (c->op) {
  case KAFU_CONST_I32: c->value = (uint32_t)(int32_t)kafu_rd_sleb(&d->r, 32); break;
  case KAFU_CONST_I64: c->value = (uint64_t)kafu_rd_sleb(&d->r, 64); break;
  case KAFU_CONST_F32: c->value = kafu_rd_u32le(&d->r); break;
  case KAFU_CONST_F64: c->value = kafu_rd_u64le(&d->r); break;
  case KAFU_CONST_GLOBAL: c->value = u32(d); break;
  case KAFU_CONST_REF_FUNC: c->value = u32(d); break;
  case KAFU_CONST_REF_NULL:
    c->value = byte(d);
    if (!d->failed && !is_reftype((uint8_t)c->value)) dfail(d, "malformed reference type");
    break;
  default: dfail(d, "constant expression required (opcode 0x%02x)", c->op); return;
  }
  if (d->r.bad) { dfail(d, "truncated constant expression"); return; }
  uint8_t end = byte(d);
  if (!d->failed && end != 0x0b) dfail(d, "constant expression required (expected end)");
}

static void sec_type(dec *d) {
  kafu_wasm_module *m = d->m;
  m->n_types = count(d, 3);
  m->types = xcalloc(d, m->n_types, sizeof *m->types);
  for (uint32_t i = 0; i < m->n_types && !d->failed; i++) {
    uint8_t form = byte(d);
    if (!d->failed && form != 0x60) { dfail(d, "malformed function type form 0x%02x", form); return; }
    kafu_wasm_functype *ft = &m->types[i];
    for (int pass = 0; pass < 2 && !d->failed; pass++) {
      uint32_t n = count(d, 1);
      kafu_wasm_valtype *v = xcalloc(d, n, 1);
      if (pass == 0) { ft->n_params = n; ft->params = v; }
      else { ft->n_results = n; ft->results = v; }
      for (uint32_t k = 0; k < n && !d->failed; k++) v[k] = valtype(d);
    }
  }
}

static void sec_import(dec *d) {
  kafu_wasm_module *m = d->m;
  struct kafu_wasm_module_ext *x = d->x;
  m->n_imports = count(d, 4);
  m->imports = xcalloc(d, m->n_imports, sizeof *m->imports);
  /* First pass decodes; counts per kind drive the index spaces. */
  for (uint32_t i = 0; i < m->n_imports && !d->failed; i++) {
    kafu_wasm_import *im = &m->imports[i];
    im->module = name(d);
    if (d->failed) return;
    im->name = name(d);
    if (d->failed) return;
    uint8_t kind = byte(d);
    if (d->failed) return;
    im->kind = kind;
    switch (kind) {
    case KAFU_EXT_FUNC:
      im->type_index = u32(d);
      m->n_func_imports++;
      break;
    case KAFU_EXT_TABLE: {
      kafu_wasm_table t = {0};
      table_type(d, &t);
      im->elem = t.elem;
      im->limits = t.limits;
      x->n_tables++;
      break;
    }
    case KAFU_EXT_MEMORY:
      limits(d, &im->limits, MAX_PAGES, "memory");
      x->n_memories++;
      break;
    case KAFU_EXT_GLOBAL:
      global_type(d, &im->gtype, &im->gmutable);
      x->n_globals++;
      x->n_global_imports++;
      break;
    default: dfail(d, "malformed import kind 0x%02x", kind); return;
    }
  }
  if (d->failed) return;
  x->tables = xcalloc(d, x->n_tables, sizeof *x->tables);
  x->memories = xcalloc(d, x->n_memories, sizeof *x->memories);
  x->globals = xcalloc(d, x->n_globals, sizeof *x->globals);
  m->func_types = xcalloc(d, m->n_func_imports, sizeof *m->func_types);
  if (d->failed) return;
  uint32_t nt = 0, nm = 0, ng = 0, nf = 0;
  for (uint32_t i = 0; i < m->n_imports; i++) {
    kafu_wasm_import *im = &m->imports[i];
    switch (im->kind) {
    case KAFU_EXT_FUNC: m->func_types[nf++] = im->type_index; break;
    case KAFU_EXT_TABLE:
      x->tables[nt].elem = im->elem;
      x->tables[nt].limits = im->limits;
      x->tables[nt++].imported = true;
      break;
    case KAFU_EXT_MEMORY:
      x->memories[nm].limits = im->limits;
      x->memories[nm++].imported = true;
      break;
    case KAFU_EXT_GLOBAL:
      x->globals[ng].type = im->gtype;
      x->globals[ng].is_mutable = im->gmutable;
      x->globals[ng++].imported = true;
      break;
    }
  }
  m->n_funcs = nf;
}

static bool grow(dec *d, void **arr, uint32_t have, uint32_t add, size_t size) {
  void *p = realloc(*arr, ((size_t)have + add + 1) * size);
  if (!p) { dfail(d, "out of memory"); return false; }
  memset((char *)p + (size_t)have * size, 0, ((size_t)add + 1) * size);
  *arr = p;
  return true;
}

static void sec_function(dec *d) {
  kafu_wasm_module *m = d->m;
  uint32_t n = count(d, 1);
  if (d->failed || !grow(d, (void **)&m->func_types, m->n_funcs, n, sizeof *m->func_types)) return;
  for (uint32_t i = 0; i < n && !d->failed; i++) m->func_types[m->n_funcs + i] = u32(d);
  m->n_funcs += n;
  d->x->n_bodies = n;
}

static void sec_table(dec *d) {
  struct kafu_wasm_module_ext *x = d->x;
  uint32_t n = count(d, 3);
  if (d->failed || !grow(d, (void **)&x->tables, x->n_tables, n, sizeof *x->tables)) return;
  for (uint32_t i = 0; i < n && !d->failed; i++) table_type(d, &x->tables[x->n_tables++]);
}

static void sec_memory(dec *d) {
  struct kafu_wasm_module_ext *x = d->x;
  uint32_t n = count(d, 2);
  if (d->failed || !grow(d, (void **)&x->memories, x->n_memories, n, sizeof *x->memories)) return;
  for (uint32_t i = 0; i < n && !d->failed; i++)
    limits(d, &x->memories[x->n_memories++].limits, MAX_PAGES, "memory");
}

static void sec_global(dec *d) {
  struct kafu_wasm_module_ext *x = d->x;
  uint32_t n = count(d, 4);
  if (d->failed || !grow(d, (void **)&x->globals, x->n_globals, n, sizeof *x->globals)) return;
  for (uint32_t i = 0; i < n && !d->failed; i++) {
    kafu_wasm_global *g = &x->globals[x->n_globals++];
    global_type(d, &g->type, &g->is_mutable);
    if (!d->failed) const_expr(d, &g->init);
  }
}

static int raw_name_cmp(const void *a, const void *b) {
  const kafu_rd *x = a, *y = b; /* start = name bytes, end = one past */
  size_t lx = (size_t)(x->end - x->start), ly = (size_t)(y->end - y->start);
  int c = memcmp(x->start, y->start, lx < ly ? lx : ly);
  return c ? c : (lx > ly) - (lx < ly);
}

static void sec_export(dec *d) {
  kafu_wasm_module *m = d->m;
  m->n_exports = count(d, 3);
  m->exports = xcalloc(d, m->n_exports, sizeof *m->exports);
  /* Names may hold NUL bytes, so duplicates are found on the raw bytes. */
  kafu_rd *raw = xcalloc(d, m->n_exports, sizeof *raw);
  for (uint32_t i = 0; i < m->n_exports && !d->failed; i++) {
    kafu_wasm_export *e = &m->exports[i];
    const uint8_t *at = d->r.p;
    e->name = name(d);
    if (d->failed) break;
    kafu_rd nr = kafu_rd_init(at, (size_t)(d->r.p - at));
    (void)kafu_rd_uleb(&nr, 32);
    raw[i].start = nr.p;
    raw[i].end = d->r.p;
    uint8_t kind = byte(d);
    if (!d->failed && kind > 3) { dfail(d, "malformed export kind 0x%02x", kind); break; }
    e->kind = kind;
    e->index = u32(d);
  }
  if (!d->failed && m->n_exports > 1) {
    qsort(raw, m->n_exports, sizeof *raw, raw_name_cmp);
    for (uint32_t i = 1; i < m->n_exports; i++)
      if (!raw_name_cmp(&raw[i - 1], &raw[i])) {
        dfail(d, "duplicate export name");
        break;
      }
  }
  free(raw);
}

static void sec_elem(dec *d) {
  struct kafu_wasm_module_ext *x = d->x;
  x->n_elems = count(d, 2);
  x->elems = xcalloc(d, x->n_elems, sizeof *x->elems);
  for (uint32_t i = 0; i < x->n_elems && !d->failed; i++) {
    kafu_wasm_elem *e = &x->elems[i];
    uint32_t flags = u32(d);
    if (d->failed) return;
    if (flags > 7) { dfail(d, "malformed elements segment kind %u", flags); return; }
    e->type = 0x70;
    e->mode = (flags & 1) ? ((flags & 2) ? KAFU_SEG_DECLARATIVE : KAFU_SEG_PASSIVE) : KAFU_SEG_ACTIVE;
    if (!(flags & 1)) {
      if (flags & 2) e->table = u32(d);
      const_expr(d, &e->offset);
    }
    bool exprs = flags & 4;
    if (flags & 3) { /* explicit elemkind / reftype */
      uint8_t t = byte(d);
      if (d->failed) return;
      if (exprs) {
        if (!is_reftype(t)) { dfail(d, "malformed reference type 0x%02x", t); return; }
        e->type = t;
      } else if (t != 0x00) {
        dfail(d, "malformed element kind 0x%02x", t);
        return;
      }
    }
    e->n_items = count(d, 1);
    e->items = xcalloc(d, e->n_items, sizeof *e->items);
    for (uint32_t k = 0; k < e->n_items && !d->failed; k++) {
      if (exprs) {
        const_expr(d, &e->items[k]);
      } else {
        e->items[k].offset = kafu_rd_offset(&d->r);
        e->items[k].op = KAFU_CONST_REF_FUNC;
        e->items[k].value = u32(d);
      }
    }
  }
}

static void sec_datacount(dec *d) {
  d->x->has_data_count = true;
  d->x->data_count = u32(d);
}

static void sec_start(dec *d) {
  d->x->has_start = true;
  d->x->start = u32(d);
}

static void sec_code(dec *d) {
  kafu_wasm_module *m = d->m;
  struct kafu_wasm_module_ext *x = d->x;
  uint32_t n = count(d, 2);
  if (d->failed) return;
  if (n != x->n_bodies) { dfail(d, "function and code section have inconsistent lengths"); return; }
  x->bodies = xcalloc(d, n, sizeof *x->bodies);
  for (uint32_t i = 0; i < n && !d->failed; i++) {
    kafu_wasm_body *b = &x->bodies[i];
    uint32_t size = u32(d);
    if (d->failed) return;
    const uint8_t *start = kafu_rd_bytes(&d->r, size);
    if (!start) { dfail(d, "function %u body size %u out of bounds", m->n_func_imports + i, size); return; }
    kafu_rd body = kafu_rd_init(start, size);
    uint32_t n_groups = (uint32_t)kafu_rd_uleb(&body, 32);
    uint64_t total = 0;
    const uint8_t *groups = body.p;
    for (uint32_t g = 0; g < n_groups && !body.bad; g++) {
      total += kafu_rd_uleb(&body, 32);
      uint8_t t = kafu_rd_u8(&body);
      if (!body.bad && !is_valtype(t)) {
        d->r.p = body.p - 1;
        dfail(d, "function %u: malformed local type 0x%02x", m->n_func_imports + i, t);
        return;
      }
      if (total > MAX_LOCALS) {
        d->r.p = body.p;
        dfail(d, "function %u: too many locals", m->n_func_imports + i);
        return;
      }
    }
    if (body.bad) {
      d->r.p = start;
      dfail(d, "function %u: malformed locals", m->n_func_imports + i);
      return;
    }
    b->n_locals = (uint32_t)total;
    b->locals = xcalloc(d, total, 1);
    if (d->failed) return;
    kafu_rd again = kafu_rd_init(groups, (size_t)(body.p - groups));
    uint32_t at = 0;
    for (uint32_t g = 0; g < n_groups; g++) {
      uint32_t cnt = (uint32_t)kafu_rd_uleb(&again, 32);
      uint8_t t = kafu_rd_u8(&again);
      memset(b->locals + at, t, cnt);
      at += cnt;
    }
    b->code = body.p;
    b->code_len = kafu_rd_left(&body);
    b->code_offset = (size_t)(body.p - d->r.start);
    if (b->code_len == 0 || b->code[b->code_len - 1] != 0x0b) {
      d->r.p = start + size;
      dfail(d, "function %u: section size mismatch (body must end with end)", m->n_func_imports + i);
      return;
    }
  }
}

static void sec_data(dec *d) {
  struct kafu_wasm_module_ext *x = d->x;
  x->n_datas = count(d, 1);
  if (d->failed) return;
  if (x->has_data_count && x->data_count != x->n_datas) {
    dfail(d, "data count and data section have inconsistent lengths");
    return;
  }
  x->datas = xcalloc(d, x->n_datas, sizeof *x->datas);
  for (uint32_t i = 0; i < x->n_datas && !d->failed; i++) {
    kafu_wasm_data *s = &x->datas[i];
    uint32_t flags = u32(d);
    if (d->failed) return;
    if (flags > 2) { dfail(d, "malformed data segment kind %u", flags); return; }
    s->mode = flags == 1 ? KAFU_SEG_PASSIVE : KAFU_SEG_ACTIVE;
    if (flags == 2) s->memory = u32(d);
    if (flags != 1) const_expr(d, &s->offset);
    s->len = u32(d);
    if (d->failed) return;
    s->bytes = kafu_rd_bytes(&d->r, s->len);
    if (!s->bytes) { dfail(d, "data segment %u: unexpected end of section or function", i); return; }
  }
}

/* The "name" custom section: only function names are kept, for messages.
 * Errors in it are ignored (custom sections never make a module invalid). */
static void parse_names(dec *d, const uint8_t *p, size_t len) {
  kafu_wasm_module *m = d->m;
  kafu_rd r = kafu_rd_init(p, len);
  while (kafu_rd_left(&r) && !r.bad) {
    uint8_t id = kafu_rd_u8(&r);
    uint32_t size = (uint32_t)kafu_rd_uleb(&r, 32);
    const uint8_t *sub = kafu_rd_bytes(&r, size);
    if (!sub) return;
    if (id != 1) continue;
    kafu_rd s = kafu_rd_init(sub, size);
    uint32_t n = (uint32_t)kafu_rd_uleb(&s, 32);
    if (!d->x->func_names && m->n_funcs) {
      d->x->func_names = calloc(m->n_funcs, sizeof(char *));
      if (!d->x->func_names) return;
    }
    for (uint32_t i = 0; i < n && !s.bad; i++) {
      uint32_t idx = (uint32_t)kafu_rd_uleb(&s, 32);
      uint32_t nl = (uint32_t)kafu_rd_uleb(&s, 32);
      const uint8_t *str = kafu_rd_bytes(&s, nl);
      if (!str || idx >= m->n_funcs || d->x->func_names[idx]) continue;
      char *c = malloc((size_t)nl + 1);
      if (!c) return;
      memcpy(c, str, nl);
      c[nl] = '\0';
      d->x->func_names[idx] = c;
    }
  }
}

static void sec_custom(dec *d, const uint8_t *end) {
  kafu_wasm_module *m = d->m;
  char *nm = name(d);
  if (d->failed) return;
  if (d->r.p > end) { free(nm); dfail(d, "custom section name out of bounds"); return; }
  kafu_wasm_custom *c = realloc(m->customs, ((size_t)m->n_customs + 1) * sizeof *c);
  if (!c) { free(nm); dfail(d, "out of memory"); return; }
  m->customs = c;
  c = &m->customs[m->n_customs++];
  c->name = nm;
  c->payload = d->r.p;
  c->len = (size_t)(end - d->r.p);
  d->r.p = end;
  if (!strcmp(nm, "name")) parse_names(d, c->payload, c->len);
}

/* Section order rank: data count (12) sits between element (9) and code (10). */
static int section_rank(int id) {
  static const int rank[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 10};
  return rank[id];
}

kafu_err kafu_wasm_decode(const uint8_t *bytes, size_t len, const char *label,
                          kafu_wasm_module **out, kafu_error *err) {
  *out = NULL;
  if (!label) label = "module";
  dec d = {.r = kafu_rd_init(bytes, len), .label = label, .err = err, .section = -1};
  d.m = calloc(1, sizeof *d.m);
  if (!d.m) return kafu_fail(err, KAFU_E_NOMEM, "%s: out of memory", label);
  d.x = d.m->ext = calloc(1, sizeof *d.x);
  if (!d.x) { free(d.m); return kafu_fail(err, KAFU_E_NOMEM, "%s: out of memory", label); }
  d.x->label = strdup(label);
  d.x->bytes = bytes;
  d.x->len = len;

  const uint8_t *magic = kafu_rd_bytes(&d.r, 4);
  if (!magic || memcmp(magic, "\0asm", 4)) { dfail(&d, "magic header not detected"); goto out; }
  uint32_t version = kafu_rd_u32le(&d.r);
  if (d.r.bad) { dfail(&d, "unexpected end"); goto out; }
  if (version != 1) { dfail(&d, "unknown binary version %u", version); goto out; }

  int last_rank = 0;
  bool have_function = false, have_code = false;
  while (!d.failed && kafu_rd_left(&d.r)) {
    d.section = -1;
    uint8_t id = byte(&d);
    if (d.failed) break;
    if (id > 12) { dfail(&d, "malformed section id %u", id); break; }
    d.section = id;
    uint32_t size = u32(&d);
    if (d.failed) break;
    if (size > kafu_rd_left(&d.r)) { dfail(&d, "section size %u out of bounds (unexpected end)", size); break; }
    const uint8_t *end = d.r.p + size;
    if (id != 0) {
      if (section_rank(id) <= last_rank) { dfail(&d, "unexpected content after last section (order)"); break; }
      last_rank = section_rank(id);
    }
    /* Decode within the section's bounds. */
    const uint8_t *saved_end = d.r.end;
    d.r.end = end;
    switch (id) {
    case 0: sec_custom(&d, end); break;
    case 1: sec_type(&d); break;
    case 2: sec_import(&d); break;
    case 3: sec_function(&d); have_function = true; break;
    case 4: sec_table(&d); break;
    case 5: sec_memory(&d); break;
    case 6: sec_global(&d); break;
    case 7: sec_export(&d); break;
    case 8: sec_start(&d); break;
    case 9: sec_elem(&d); break;
    case 10: sec_code(&d); have_code = true; break;
    case 11: sec_data(&d); break;
    case 12: sec_datacount(&d); break;
    }
    if (d.failed) break;
    if (d.r.bad) { dfail(&d, "unexpected end of section"); break; }
    if (d.r.p != end) { dfail(&d, "section size mismatch"); break; }
    d.r.end = saved_end;
  }
  d.section = -1;
  if (!d.failed) {
    uint32_t n_bodies = d.m->n_funcs - d.m->n_func_imports;
    if (have_function && n_bodies && !have_code) dfail(&d, "function and code section have inconsistent lengths");
    (void)have_code;
  }
  if (!d.failed && d.x->has_data_count && d.x->data_count && !d.x->datas)
    dfail(&d, "data count and data section have inconsistent lengths");
out:
  if (d.failed) {
    kafu_wasm_module_free(d.m);
    return KAFU_E_INPUT;
  }
  *out = d.m;
  return KAFU_OK;
}

void kafu_wasm_module_free(kafu_wasm_module *m) {
  if (!m) return;
  for (uint32_t i = 0; i < m->n_types && m->types; i++) {
    free(m->types[i].params);
    free(m->types[i].results);
  }
  free(m->types);
  for (uint32_t i = 0; i < m->n_imports && m->imports; i++) {
    free(m->imports[i].module);
    free(m->imports[i].name);
  }
  free(m->imports);
  free(m->func_types);
  for (uint32_t i = 0; i < m->n_exports && m->exports; i++) free(m->exports[i].name);
  free(m->exports);
  for (uint32_t i = 0; i < m->n_customs; i++) free(m->customs[i].name);
  free(m->customs);
  struct kafu_wasm_module_ext *x = m->ext;
  if (x) {
    free(x->tables);
    free(x->memories);
    free(x->globals);
    for (uint32_t i = 0; i < x->n_elems && x->elems; i++) free(x->elems[i].items);
    free(x->elems);
    free(x->datas);
    for (uint32_t i = 0; i < x->n_bodies && x->bodies; i++) free(x->bodies[i].locals);
    free(x->bodies);
    if (x->func_names)
      for (uint32_t i = 0; i < m->n_funcs; i++) free(x->func_names[i]);
    free(x->func_names);
    free(x->label);
    free(x);
  }
  free(m);
}

const kafu_wasm_export *kafu_wasm_find_export(const kafu_wasm_module *m, const char *nm,
                                              kafu_wasm_extkind kind) {
  for (uint32_t i = 0; i < m->n_exports; i++)
    if (m->exports[i].kind == kind && !strcmp(m->exports[i].name, nm)) return &m->exports[i];
  return NULL;
}

const kafu_wasm_custom *kafu_wasm_find_custom(const kafu_wasm_module *m, const char *nm) {
  for (uint32_t i = 0; i < m->n_customs; i++)
    if (!strcmp(m->customs[i].name, nm)) return &m->customs[i];
  return NULL;
}

const char *kafu_wasm_func_name(const kafu_wasm_module *m, uint32_t func_index) {
  if (!m->ext || !m->ext->func_names || func_index >= m->n_funcs) return NULL;
  return m->ext->func_names[func_index];
}
