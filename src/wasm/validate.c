/* Wasm validation: module-level rules and the operand/control-stack typing
 * algorithm of the spec's appendix, run over every function body. */
#include "wasm/validate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

#define T_UNKNOWN 0 /* the bottom type produced in unreachable code */
#define T_FUNCREF 0x70
#define T_EXTERNREF 0x6f
#define MAX_PAGES 65536u

/* ONE_TYPE[t] == t: a stable one-element type list for single-value block types. */
static const uint8_t ONE_TYPE[256] = {[0x7f] = 0x7f, [0x7e] = 0x7e, [0x7d] = 0x7d,
                                      [0x7c] = 0x7c, [0x70] = 0x70, [0x6f] = 0x6f};

typedef struct ctrl {
  kafu_wasm_op op;
  uint32_t height;
  bool unreachable;
  uint32_t n_params, n_results;
  const uint8_t *params, *results;
} ctrl;

typedef struct val {
  const kafu_wasm_module *m;
  const struct kafu_wasm_module_ext *x;
  const kafu_wasm_visitor *v;
  kafu_error *err;
  const char *label;
  uint8_t *refs; /* per function: declared by a ref.func outside code */
  /* per function */
  uint32_t func;
  uint32_t n_locals;
  uint8_t *locals;
  uint8_t *vals;
  uint32_t n_vals, cap_vals;
  ctrl *ctrls;
  uint32_t n_ctrls, cap_ctrls;
  uint32_t *targets;
  uint32_t cap_targets;
  kafu_rd r;
  const kafu_wasm_body *body;
  size_t op_offset;
  kafu_wasm_op cur_op;
  bool failed;
} val;

const char *kafu_wasm_op_name(kafu_wasm_op op) {
  return op < KAFU_OP_COUNT ? kafu_wasm_opinfo_table[op].name : "?";
}

static const char *type_name(uint8_t t) {
  switch (t) {
  case 0x7f: return "i32";
  case 0x7e: return "i64";
  case 0x7d: return "f32";
  case 0x7c: return "f64";
  case 0x70: return "funcref";
  case 0x6f: return "externref";
  }
  return "unknown";
}

__attribute__((format(printf, 2, 3))) static kafu_err vfail(val *s, const char *fmt, ...) {
  if (s->failed) return KAFU_E_INPUT;
  s->failed = true;
  char what[300];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (s->body) {
    const char *fname = kafu_wasm_func_name(s->m, s->func);
    char fn[200];
    if (fname) snprintf(fn, sizeof fn, "function %u (%.150s)", s->func, fname);
    else snprintf(fn, sizeof fn, "function %u", s->func);
    if (s->cur_op < KAFU_OP_COUNT)
      kafu_fail(s->err, KAFU_E_INPUT, "%s: %s: %s in %s at offset 0x%zx", s->label, fn, what,
                kafu_wasm_op_name(s->cur_op), s->op_offset);
    else
      kafu_fail(s->err, KAFU_E_INPUT, "%s: %s: %s at offset 0x%zx", s->label, fn, what, s->op_offset);
  } else {
    kafu_fail(s->err, KAFU_E_INPUT, "%s: %s", s->label, what);
  }
  return KAFU_E_INPUT;
}

/* ---- operand and control stacks ---- */

static bool push(val *s, uint8_t t) {
  if (s->n_vals == s->cap_vals) {
    uint32_t cap = s->cap_vals ? s->cap_vals * 2 : 64;
    uint8_t *p = realloc(s->vals, cap);
    if (!p) { vfail(s, "out of memory"); return false; }
    s->vals = p;
    s->cap_vals = cap;
  }
  s->vals[s->n_vals++] = t;
  return true;
}

static uint8_t pop(val *s) {
  ctrl *c = &s->ctrls[s->n_ctrls - 1];
  if (s->n_vals == c->height) {
    if (c->unreachable) return T_UNKNOWN;
    vfail(s, "type mismatch: operand stack underflow");
    return T_UNKNOWN;
  }
  return s->vals[--s->n_vals];
}

static uint8_t pop_expect(val *s, uint8_t want) {
  uint8_t got = pop(s);
  if (s->failed) return got;
  if (got != want && got != T_UNKNOWN && want != T_UNKNOWN) {
    vfail(s, "type mismatch: expected %s, got %s", type_name(want), type_name(got));
    return want;
  }
  return got == T_UNKNOWN ? want : got;
}

static void pop_types(val *s, uint32_t n, const uint8_t *types) {
  for (uint32_t i = n; i-- > 0 && !s->failed;) pop_expect(s, types[i]);
}

static void push_types(val *s, uint32_t n, const uint8_t *types) {
  for (uint32_t i = 0; i < n && !s->failed; i++) push(s, types[i]);
}

static ctrl *push_ctrl(val *s, kafu_wasm_op op, uint32_t np, const uint8_t *pt, uint32_t nr,
                       const uint8_t *rt) {
  if (s->n_ctrls == s->cap_ctrls) {
    uint32_t cap = s->cap_ctrls ? s->cap_ctrls * 2 : 16;
    ctrl *p = realloc(s->ctrls, cap * sizeof *p);
    if (!p) { vfail(s, "out of memory"); return NULL; }
    s->ctrls = p;
    s->cap_ctrls = cap;
  }
  ctrl *c = &s->ctrls[s->n_ctrls++];
  memset(c, 0, sizeof *c);
  c->op = op;
  c->height = s->n_vals;
  c->n_params = np;
  c->params = pt;
  c->n_results = nr;
  c->results = rt;
  push_types(s, np, pt);
  return c;
}

static void set_unreachable(val *s) {
  ctrl *c = &s->ctrls[s->n_ctrls - 1];
  s->n_vals = c->height;
  c->unreachable = true;
}

static void label_types(const ctrl *c, uint32_t *n, const uint8_t **t) {
  if (c->op == KAFU_OP_LOOP) { *n = c->n_params; *t = c->params; }
  else { *n = c->n_results; *t = c->results; }
}

/* ---- immediates ---- */

static uint32_t imm_u32(val *s) {
  uint32_t v = (uint32_t)kafu_rd_uleb(&s->r, 32);
  if (s->r.bad) vfail(s, "malformed or truncated immediate");
  return v;
}

static uint8_t imm_byte(val *s) {
  uint8_t b = kafu_rd_u8(&s->r);
  if (s->r.bad) vfail(s, "unexpected end of function");
  return b;
}

static const kafu_wasm_functype *func_type(const kafu_wasm_module *m, uint32_t f) {
  return &m->types[m->func_types[f]];
}

/* ---- module-level checks ---- */

static uint8_t global_type(const val *s, uint32_t g) { return s->x->globals[g].type; }

/* Types a constant expression; only imported globals may be read. */
static bool const_ok(val *s, const kafu_wasm_constexpr *c, uint8_t want, const char *where) {
  uint8_t t = 0;
  switch (c->op) {
  case KAFU_CONST_I32: t = 0x7f; break;
  case KAFU_CONST_I64: t = 0x7e; break;
  case KAFU_CONST_F32: t = 0x7d; break;
  case KAFU_CONST_F64: t = 0x7c; break;
  case KAFU_CONST_REF_NULL: t = (uint8_t)c->value; break;
  case KAFU_CONST_REF_FUNC:
    if (c->value >= s->m->n_funcs) {
      vfail(s, "%s: unknown function %llu at offset 0x%zx", where, (unsigned long long)c->value, c->offset);
      return false;
    }
    t = T_FUNCREF;
    break;
  case KAFU_CONST_GLOBAL:
    if (c->value >= s->x->n_global_imports) {
      vfail(s, "%s: unknown global %llu at offset 0x%zx", where, (unsigned long long)c->value, c->offset);
      return false;
    }
    if (s->x->globals[c->value].is_mutable) {
      vfail(s, "%s: constant expression required at offset 0x%zx", where, c->offset);
      return false;
    }
    t = global_type(s, (uint32_t)c->value);
    break;
  }
  if (t != want) {
    vfail(s, "%s: type mismatch in constant expression at offset 0x%zx", where, c->offset);
    return false;
  }
  return true;
}

static bool limits_ok(val *s, const kafu_wasm_limits *l, uint64_t bound, const char *what) {
  if (l->min > bound) { vfail(s, "%s size must be at most %llu", what, (unsigned long long)bound); return false; }
  if (l->has_max && l->max > bound) { vfail(s, "%s size must be at most %llu", what, (unsigned long long)bound); return false; }
  if (l->has_max && l->min > l->max) { vfail(s, "%s size minimum must not be greater than maximum", what); return false; }
  return true;
}

static kafu_err validate_module(val *s) {
  const kafu_wasm_module *m = s->m;
  const struct kafu_wasm_module_ext *x = s->x;
  for (uint32_t i = 0; i < m->n_imports; i++)
    if (m->imports[i].kind == KAFU_EXT_FUNC && m->imports[i].type_index >= m->n_types)
      return vfail(s, "import %u: unknown type %u", i, m->imports[i].type_index);
  for (uint32_t f = m->n_func_imports; f < m->n_funcs; f++)
    if (m->func_types[f] >= m->n_types) return vfail(s, "function %u: unknown type %u", f, m->func_types[f]);
  for (uint32_t i = 0; i < x->n_tables; i++)
    if (!limits_ok(s, &x->tables[i].limits, UINT32_MAX, "table")) return KAFU_E_INPUT;
  if (x->n_memories > 1) return vfail(s, "multiple memories");
  for (uint32_t i = 0; i < x->n_memories; i++)
    if (!limits_ok(s, &x->memories[i].limits, MAX_PAGES, "memory")) return KAFU_E_INPUT;
  for (uint32_t g = x->n_global_imports; g < x->n_globals; g++) {
    char where[32];
    snprintf(where, sizeof where, "global %u", g);
    if (!const_ok(s, &x->globals[g].init, x->globals[g].type, where)) return KAFU_E_INPUT;
    if (x->globals[g].init.op == KAFU_CONST_REF_FUNC) s->refs[x->globals[g].init.value] = 1;
  }
  for (uint32_t i = 0; i < m->n_exports; i++) {
    const kafu_wasm_export *e = &m->exports[i];
    uint32_t bound = e->kind == KAFU_EXT_FUNC ? m->n_funcs
                     : e->kind == KAFU_EXT_TABLE ? x->n_tables
                     : e->kind == KAFU_EXT_MEMORY ? x->n_memories
                                                   : x->n_globals;
    if (e->index >= bound) return vfail(s, "export \"%s\": unknown index %u", e->name, e->index);
    if (e->kind == KAFU_EXT_FUNC) s->refs[e->index] = 1;
  }
  if (x->has_start) {
    if (x->start >= m->n_funcs) return vfail(s, "unknown start function %u", x->start);
    const kafu_wasm_functype *t = func_type(m, x->start);
    if (t->n_params || t->n_results) return vfail(s, "start function %u must have type [] -> []", x->start);
  }
  for (uint32_t i = 0; i < x->n_elems; i++) {
    const kafu_wasm_elem *e = &x->elems[i];
    char where[40];
    snprintf(where, sizeof where, "element segment %u", i);
    if (e->mode == KAFU_SEG_ACTIVE) {
      if (e->table >= x->n_tables) return vfail(s, "%s: unknown table %u", where, e->table);
      if (x->tables[e->table].elem != e->type) return vfail(s, "%s: type mismatch with table %u", where, e->table);
      if (!const_ok(s, &e->offset, 0x7f, where)) return KAFU_E_INPUT;
    }
    for (uint32_t k = 0; k < e->n_items; k++) {
      if (!const_ok(s, &e->items[k], e->type, where)) return KAFU_E_INPUT;
      if (e->items[k].op == KAFU_CONST_REF_FUNC) s->refs[e->items[k].value] = 1;
    }
  }
  for (uint32_t i = 0; i < x->n_datas; i++) {
    const kafu_wasm_data *d = &x->datas[i];
    if (d->mode != KAFU_SEG_ACTIVE) continue;
    char where[40];
    snprintf(where, sizeof where, "data segment %u", i);
    if (d->memory >= x->n_memories) return vfail(s, "%s: unknown memory %u", where, d->memory);
    if (!const_ok(s, &d->offset, 0x7f, where)) return KAFU_E_INPUT;
  }
  return KAFU_OK;
}

/* ---- function bodies ---- */

static bool need_memory(val *s) {
  if (s->x->n_memories == 0) { vfail(s, "unknown memory 0"); return false; }
  return true;
}

static bool need_table(val *s, uint32_t t) {
  if (t >= s->x->n_tables) { vfail(s, "unknown table %u", t); return false; }
  return true;
}

static bool block_type(val *s, ctrl *tmp, uint32_t *np, const uint8_t **pt, uint32_t *nr,
                       const uint8_t **rt) {
  int64_t bt = kafu_rd_sleb(&s->r, 33);
  if (s->r.bad) { vfail(s, "malformed block type"); return false; }
  *np = *nr = 0;
  *pt = *rt = NULL;
  if (bt == -64) return true; /* 0x40: empty */
  if (bt < 0) {
    uint8_t t = (uint8_t)(bt & 0x7f);
    if (t != 0x7f && t != 0x7e && t != 0x7d && t != 0x7c && t != 0x70 && t != 0x6f) {
      vfail(s, "malformed block type");
      return false;
    }
    (void)tmp;
    *nr = 1;
    *rt = &ONE_TYPE[t];
    return true;
  }
  if ((uint64_t)bt >= s->m->n_types) { vfail(s, "unknown type %lld", (long long)bt); return false; }
  const kafu_wasm_functype *ft = &s->m->types[bt];
  *np = ft->n_params;
  *pt = ft->params;
  *nr = ft->n_results;
  *rt = ft->results;
  return true;
}

static kafu_err validate_body(val *s, uint32_t fi) {
  const kafu_wasm_module *m = s->m;
  const kafu_wasm_body *body = &s->x->bodies[fi - m->n_func_imports];
  const kafu_wasm_functype *ft = func_type(m, fi);
  s->func = fi;
  s->body = body;
  s->cur_op = KAFU_OP_BLOCK;
  s->op_offset = body->code_offset;
  s->n_vals = s->n_ctrls = 0;
  uint64_t nl = (uint64_t)ft->n_params + body->n_locals;
  s->n_locals = (uint32_t)nl;
  free(s->locals);
  s->locals = malloc(nl ? nl : 1);
  if (!s->locals) return vfail(s, "out of memory");
  memcpy(s->locals, ft->params, ft->n_params);
  memcpy(s->locals + ft->n_params, body->locals, body->n_locals);
  s->r = kafu_rd_init(s->x->bytes, s->x->len);
  s->r.p = body->code;
  s->r.end = body->code + body->code_len;

  if (s->v && s->v->func_begin) {
    kafu_err rc = s->v->func_begin(s->v->ud, fi);
    if (rc) { s->failed = true; return rc; }
  }
  ctrl *fc = push_ctrl(s, KAFU_OP_BLOCK, 0, NULL, ft->n_results, ft->results);
  if (!fc) return KAFU_E_INPUT;

  static int16_t byte_op[256], fc_op[18];
  static bool tables_ready;
  if (!tables_ready) {
    for (int i = 0; i < 256; i++) byte_op[i] = -1;
    for (int i = 0; i < KAFU_OP_COUNT; i++) {
      const kafu_wasm_opinfo *oi = &kafu_wasm_opinfo_table[i];
      if (oi->prefix == 0) byte_op[oi->code] = (int16_t)i;
      else fc_op[oi->code] = (int16_t)i;
    }
    tables_ready = true;
  }

  while (s->n_ctrls > 0) {
    if (kafu_rd_left(&s->r) == 0) return vfail(s, "unexpected end of function body");
    s->op_offset = kafu_rd_offset(&s->r);
    s->cur_op = KAFU_OP_COUNT; /* not decoded yet */
    uint8_t b = kafu_rd_u8(&s->r);
    int op;
    if (b == 0xfc) {
      uint32_t sub = (uint32_t)kafu_rd_uleb(&s->r, 32);
      if (s->r.bad) return vfail(s, "malformed opcode");
      if (sub >= 18) return vfail(s, "illegal opcode 0xfc %u", sub);
      op = fc_op[sub];
    } else {
      op = byte_op[b];
      if (op < 0) return vfail(s, "illegal opcode 0x%02x", b);
    }
    s->cur_op = (kafu_wasm_op)op;
    const kafu_wasm_opinfo *oi = &kafu_wasm_opinfo_table[op];
    kafu_wasm_instr in = {.op = (kafu_wasm_op)op, .offset = s->op_offset};
    ctrl *top = &s->ctrls[s->n_ctrls - 1];
    uint32_t height = s->n_vals;
    bool dead = top->unreachable;

    /* Decode immediates first (they never depend on the stack). */
    ctrl blk = {0};
    uint32_t np = 0, nr = 0;
    const uint8_t *pt = NULL, *rt = NULL;
    switch (oi->imm) {
    case KAFU_IMM_NONE: break;
    case KAFU_IMM_BLOCK:
      if (!block_type(s, &blk, &np, &pt, &nr, &rt)) return KAFU_E_INPUT;
      in.bt_params = np;
      in.bt_results = nr;
      break;
    case KAFU_IMM_LABEL:
    case KAFU_IMM_FUNC:
    case KAFU_IMM_LOCAL:
    case KAFU_IMM_GLOBAL:
    case KAFU_IMM_TABLE:
    case KAFU_IMM_DATA:
    case KAFU_IMM_ELEM: in.a = imm_u32(s); break;
    case KAFU_IMM_BR_TABLE: {
      uint32_t n = imm_u32(s);
      if (s->failed) return KAFU_E_INPUT;
      if (n > kafu_rd_left(&s->r)) return vfail(s, "br_table length %u out of bounds", n);
      if (n + 1 > s->cap_targets) {
        uint32_t *p = realloc(s->targets, ((size_t)n + 1) * sizeof *p);
        if (!p) return vfail(s, "out of memory");
        s->targets = p;
        s->cap_targets = n + 1;
      }
      for (uint32_t i = 0; i <= n && !s->failed; i++) s->targets[i] = imm_u32(s);
      in.n_targets = n;
      in.targets = s->targets;
      break;
    }
    case KAFU_IMM_CALL_INDIRECT:
      in.a = imm_u32(s);
      in.b = imm_u32(s);
      break;
    case KAFU_IMM_SELECT_T: {
      uint32_t n = imm_u32(s);
      if (s->failed) return KAFU_E_INPUT;
      if (n != 1) return vfail(s, "invalid result arity %u", n);
      uint8_t t = imm_byte(s);
      if (!(t == 0x7f || t == 0x7e || t == 0x7d || t == 0x7c || t == 0x70 || t == 0x6f))
        return vfail(s, "malformed value type 0x%02x", t);
      in.bits = t;
      break;
    }
    case KAFU_IMM_MEM:
      in.a = imm_u32(s);
      in.b = imm_u32(s);
      break;
    case KAFU_IMM_MEMIDX:
      if (imm_byte(s) != 0 && !s->failed) return vfail(s, "zero byte expected");
      break;
    case KAFU_IMM_I32: in.bits = (uint32_t)(int32_t)kafu_rd_sleb(&s->r, 32); break;
    case KAFU_IMM_I64: in.bits = (uint64_t)kafu_rd_sleb(&s->r, 64); break;
    case KAFU_IMM_F32: in.bits = kafu_rd_u32le(&s->r); break;
    case KAFU_IMM_F64: in.bits = kafu_rd_u64le(&s->r); break;
    case KAFU_IMM_REFTYPE: {
      uint8_t t = imm_byte(s);
      if (!s->failed && t != 0x70 && t != 0x6f) return vfail(s, "malformed reference type 0x%02x", t);
      in.bits = t;
      break;
    }
    case KAFU_IMM_MEMORY_INIT:
      in.a = imm_u32(s);
      if (imm_byte(s) != 0 && !s->failed) return vfail(s, "zero byte expected");
      break;
    case KAFU_IMM_MEMORY_COPY:
      if ((imm_byte(s) | imm_byte(s)) != 0 && !s->failed) return vfail(s, "zero byte expected");
      break;
    case KAFU_IMM_TABLE_INIT:
    case KAFU_IMM_TABLE_COPY:
      in.a = imm_u32(s);
      in.b = imm_u32(s);
      break;
    }
    if (s->r.bad && !s->failed) return vfail(s, "unexpected end of function body");
    if (s->failed) return KAFU_E_INPUT;

    /* Index checks that the visitor relies on come before it sees the op. */
    switch (oi->imm) {
    case KAFU_IMM_LABEL:
      if (in.a >= s->n_ctrls) return vfail(s, "unknown label %u", in.a);
      break;
    case KAFU_IMM_BR_TABLE:
      for (uint32_t i = 0; i <= in.n_targets; i++)
        if (in.targets[i] >= s->n_ctrls) return vfail(s, "unknown label %u", in.targets[i]);
      break;
    case KAFU_IMM_FUNC:
      if (in.a >= m->n_funcs) return vfail(s, "unknown function %u", in.a);
      break;
    case KAFU_IMM_LOCAL:
      if (in.a >= s->n_locals) return vfail(s, "unknown local %u", in.a);
      break;
    case KAFU_IMM_GLOBAL:
      if (in.a >= s->x->n_globals) return vfail(s, "unknown global %u", in.a);
      break;
    case KAFU_IMM_TABLE:
      if (!need_table(s, in.a)) return KAFU_E_INPUT;
      break;
    case KAFU_IMM_CALL_INDIRECT:
      if (!need_table(s, in.b)) return KAFU_E_INPUT;
      if (in.a >= m->n_types) return vfail(s, "unknown type %u", in.a);
      if (s->x->tables[in.b].elem != T_FUNCREF) return vfail(s, "type mismatch: call_indirect through a non-funcref table");
      break;
    case KAFU_IMM_MEM:
      if (!need_memory(s)) return KAFU_E_INPUT;
      if (in.a >= 32 || (1u << in.a) > oi->size) return vfail(s, "alignment must not be larger than natural");
      break;
    case KAFU_IMM_MEMIDX:
    case KAFU_IMM_MEMORY_COPY:
      if (!need_memory(s)) return KAFU_E_INPUT;
      break;
    case KAFU_IMM_MEMORY_INIT:
    case KAFU_IMM_DATA:
      if (oi->imm == KAFU_IMM_MEMORY_INIT && !need_memory(s)) return KAFU_E_INPUT;
      if (!s->x->has_data_count) return vfail(s, "data count section required");
      if (in.a >= s->x->data_count) return vfail(s, "unknown data segment %u", in.a);
      break;
    case KAFU_IMM_ELEM:
      if (in.a >= s->x->n_elems) return vfail(s, "unknown elem segment %u", in.a);
      break;
    case KAFU_IMM_TABLE_INIT:
      if (in.a >= s->x->n_elems) return vfail(s, "unknown elem segment %u", in.a);
      if (!need_table(s, in.b)) return KAFU_E_INPUT;
      if (s->x->tables[in.b].elem != s->x->elems[in.a].type) return vfail(s, "type mismatch: element segment and table types differ");
      break;
    case KAFU_IMM_TABLE_COPY:
      if (!need_table(s, in.a) || !need_table(s, in.b)) return KAFU_E_INPUT;
      if (s->x->tables[in.a].elem != s->x->tables[in.b].elem) return vfail(s, "type mismatch: table types differ");
      break;
    default: break;
    }
    if (op == KAFU_OP_REF_FUNC && !s->refs[in.a]) return vfail(s, "undeclared function reference %u", in.a);

    /* Typing. The visitor sees the instruction only once it typed correctly,
     * so engines never compile invalid code. */
    if (oi->p1 || oi->p2 || oi->r) {
      if (oi->p2) pop_expect(s, oi->p2);
      if (oi->p1) pop_expect(s, oi->p1);
      if (oi->r) push(s, oi->r);
      if (s->failed) return KAFU_E_INPUT;
      goto visit;
    }
    switch ((kafu_wasm_op)op) {
    case KAFU_OP_UNREACHABLE: set_unreachable(s); break;
    case KAFU_OP_NOP: break;
    case KAFU_OP_BLOCK:
    case KAFU_OP_LOOP:
    case KAFU_OP_IF: {
      if (op == KAFU_OP_IF) pop_expect(s, 0x7f);
      pop_types(s, np, pt);
      if (s->failed) return KAFU_E_INPUT;
      if (!push_ctrl(s, (kafu_wasm_op)op, np, pt, nr, rt)) return KAFU_E_INPUT;
      break;
    }
    case KAFU_OP_ELSE: {
      ctrl *c = &s->ctrls[s->n_ctrls - 1];
      if (c->op != KAFU_OP_IF) return vfail(s, "else without matching if");
      pop_types(s, c->n_results, c->results);
      if (s->failed) return KAFU_E_INPUT;
      if (s->n_vals != c->height) return vfail(s, "type mismatch: values remaining on stack at end of block");
      c->op = KAFU_OP_ELSE;
      c->unreachable = false;
      push_types(s, c->n_params, c->params);
      break;
    }
    case KAFU_OP_END: {
      ctrl *c = &s->ctrls[s->n_ctrls - 1];
      pop_types(s, c->n_results, c->results);
      if (s->failed) return KAFU_E_INPUT;
      if (s->n_vals != c->height) return vfail(s, "type mismatch: values remaining on stack at end of block");
      if (c->op == KAFU_OP_IF) {
        /* An if without else behaves as if the else passed its params through. */
        if (c->n_params != c->n_results || (c->n_params && memcmp(c->params, c->results, c->n_params)))
          return vfail(s, "type mismatch: if without else must have matching param and result types");
      }
      s->n_ctrls--;
      if (s->n_ctrls > 0) push_types(s, c->n_results, c->results);
      break;
    }
    case KAFU_OP_BR: {
      uint32_t n;
      const uint8_t *t;
      label_types(&s->ctrls[s->n_ctrls - 1 - in.a], &n, &t);
      pop_types(s, n, t);
      set_unreachable(s);
      break;
    }
    case KAFU_OP_BR_IF: {
      pop_expect(s, 0x7f);
      uint32_t n;
      const uint8_t *t;
      label_types(&s->ctrls[s->n_ctrls - 1 - in.a], &n, &t);
      pop_types(s, n, t);
      push_types(s, n, t);
      break;
    }
    case KAFU_OP_BR_TABLE: {
      pop_expect(s, 0x7f);
      uint32_t dn;
      const uint8_t *dt;
      label_types(&s->ctrls[s->n_ctrls - 1 - in.targets[in.n_targets]], &dn, &dt);
      for (uint32_t i = 0; i < in.n_targets && !s->failed; i++) {
        uint32_t n;
        const uint8_t *t;
        label_types(&s->ctrls[s->n_ctrls - 1 - in.targets[i]], &n, &t);
        if (n != dn) return vfail(s, "type mismatch: br_table targets have different arities");
        /* Check the top n values against this label without consuming them. */
        uint8_t saved[64];
        uint32_t k = n < 64 ? n : 64;
        uint32_t popped = 0;
        for (uint32_t j = n; j-- > 0 && !s->failed;) {
          uint8_t got = pop(s);
          if (!s->failed && got != t[j] && got != T_UNKNOWN)
            return vfail(s, "type mismatch: expected %s, got %s", type_name(t[j]), type_name(got));
          if (popped < k) saved[popped] = got;
          popped++;
        }
        if (s->failed) return KAFU_E_INPUT;
        /* Re-push: what was popped (unknowns stay unknown only where consumed). */
        for (uint32_t j = popped; j-- > 0;) push(s, j < k ? saved[j] : T_UNKNOWN);
        /* Values beyond the frame height were materialized; trim back. */
      }
      pop_types(s, dn, dt);
      set_unreachable(s);
      break;
    }
    case KAFU_OP_RETURN:
      pop_types(s, ft->n_results, ft->results);
      set_unreachable(s);
      break;
    case KAFU_OP_CALL: {
      const kafu_wasm_functype *t = func_type(m, in.a);
      pop_types(s, t->n_params, t->params);
      push_types(s, t->n_results, t->results);
      break;
    }
    case KAFU_OP_CALL_INDIRECT: {
      const kafu_wasm_functype *t = &m->types[in.a];
      pop_expect(s, 0x7f);
      pop_types(s, t->n_params, t->params);
      push_types(s, t->n_results, t->results);
      break;
    }
    case KAFU_OP_DROP: pop(s); break;
    case KAFU_OP_SELECT: {
      pop_expect(s, 0x7f);
      uint8_t t1 = pop(s), t2 = pop(s);
      if (s->failed) return KAFU_E_INPUT;
      bool num1 = t1 == T_UNKNOWN || (t1 >= 0x7c && t1 <= 0x7f);
      bool num2 = t2 == T_UNKNOWN || (t2 >= 0x7c && t2 <= 0x7f);
      if (!num1 || !num2) return vfail(s, "type mismatch: select without type needs numeric operands");
      if (t1 != t2 && t1 != T_UNKNOWN && t2 != T_UNKNOWN) return vfail(s, "type mismatch: select operands differ");
      push(s, t1 == T_UNKNOWN ? t2 : t1);
      break;
    }
    case KAFU_OP_SELECT_T: {
      pop_expect(s, 0x7f);
      pop_expect(s, (uint8_t)in.bits);
      pop_expect(s, (uint8_t)in.bits);
      push(s, (uint8_t)in.bits);
      break;
    }
    case KAFU_OP_LOCAL_GET: push(s, s->locals[in.a]); break;
    case KAFU_OP_LOCAL_SET: pop_expect(s, s->locals[in.a]); break;
    case KAFU_OP_LOCAL_TEE:
      pop_expect(s, s->locals[in.a]);
      push(s, s->locals[in.a]);
      break;
    case KAFU_OP_GLOBAL_GET: push(s, global_type(s, in.a)); break;
    case KAFU_OP_GLOBAL_SET:
      if (!s->x->globals[in.a].is_mutable) return vfail(s, "global is immutable");
      pop_expect(s, global_type(s, in.a));
      break;
    case KAFU_OP_TABLE_GET:
      pop_expect(s, 0x7f);
      push(s, s->x->tables[in.a].elem);
      break;
    case KAFU_OP_TABLE_SET:
      pop_expect(s, s->x->tables[in.a].elem);
      pop_expect(s, 0x7f);
      break;
    case KAFU_OP_REF_NULL: push(s, (uint8_t)in.bits); break;
    case KAFU_OP_REF_IS_NULL: {
      uint8_t t = pop(s);
      if (!s->failed && t != T_UNKNOWN && t != T_FUNCREF && t != T_EXTERNREF)
        return vfail(s, "type mismatch: ref.is_null needs a reference");
      push(s, 0x7f);
      break;
    }
    case KAFU_OP_REF_FUNC: push(s, T_FUNCREF); break;
    case KAFU_OP_MEMORY_INIT:
    case KAFU_OP_MEMORY_COPY:
    case KAFU_OP_MEMORY_FILL:
    case KAFU_OP_TABLE_INIT:
    case KAFU_OP_TABLE_COPY:
      pop_expect(s, 0x7f);
      pop_expect(s, 0x7f);
      pop_expect(s, 0x7f);
      break;
    case KAFU_OP_DATA_DROP:
    case KAFU_OP_ELEM_DROP: break;
    case KAFU_OP_TABLE_GROW:
      pop_expect(s, 0x7f);
      pop_expect(s, s->x->tables[in.a].elem);
      push(s, 0x7f);
      break;
    case KAFU_OP_TABLE_SIZE: push(s, 0x7f); break;
    case KAFU_OP_TABLE_FILL:
      pop_expect(s, 0x7f);
      pop_expect(s, s->x->tables[in.a].elem);
      pop_expect(s, 0x7f);
      break;
    default: return vfail(s, "unhandled opcode");
    }
    if (s->failed) return KAFU_E_INPUT;
  visit:
    if (s->v && s->v->instr) {
      kafu_err rc = s->v->instr(s->v->ud, &in, height, dead);
      if (rc) { s->failed = true; return rc; }
    }
  }
  if (kafu_rd_left(&s->r) != 0) {
    s->op_offset = kafu_rd_offset(&s->r);
    s->cur_op = KAFU_OP_COUNT;
    return vfail(s, "section size mismatch: code after the function's final end");
  }
  if (s->v && s->v->func_end) {
    kafu_err rc = s->v->func_end(s->v->ud, fi);
    if (rc) { s->failed = true; return rc; }
  }
  return KAFU_OK;
}

kafu_err kafu_wasm_validate(const kafu_wasm_module *m, const kafu_wasm_visitor *visitor,
                            kafu_error *err) {
  val s = {.m = m, .x = m->ext, .v = visitor, .err = err};
  s.label = m->ext->label ? m->ext->label : "module";
  s.refs = calloc(m->n_funcs ? m->n_funcs : 1, 1);
  if (!s.refs) return kafu_fail(err, KAFU_E_NOMEM, "%s: out of memory", s.label);
  kafu_err rc = validate_module(&s);
  for (uint32_t f = m->n_func_imports; !rc && f < m->n_funcs; f++) rc = validate_body(&s, f);
  free(s.refs);
  free(s.locals);
  free(s.vals);
  free(s.ctrls);
  free(s.targets);
  return rc;
}
