/* Compiles validated Wasm into the interpreter's register-style code: every
 * operand names a frame slot (the Wasm operand stack height is static, so
 * stack values get fixed slots), branch targets are resolved, immediates are
 * decoded. It runs as the validator's visitor, in the same pass.
 *
 * local.get and constants are deferred: the stack entry remembers where the
 * value already lives, so `local.get a; local.get b; i32.add` becomes one
 * add reading the locals directly. Deferred entries are materialized before
 * anything that could change what they refer to (local.set of that local,
 * block boundaries, calls). */
#include <stdlib.h>
#include <string.h>

#include "engine/interp/interp.h"
#include "wasm/validate.h"

#define NONE UINT32_MAX
#define KSRC (UINT32_MAX - 1) /* src[] marker: a deferred constant */

typedef struct cblock {
  kafu_wasm_op kind; /* BLOCK, LOOP, IF, or ELSE once the else arm started */
  bool dead;         /* opened in unreachable code: nothing is emitted for it */
  uint32_t base;     /* operand height where the block's params start */
  uint32_t n_params, n_results;
  uint32_t loop_pc;
  uint32_t patch;      /* head of the forward-branch patch chain (threaded through code words) */
  uint32_t else_patch; /* IF: position of the BR_UNLESS target word */
  uint32_t spill;      /* IF with params: first spill index */
} cblock;

typedef struct comp {
  kafu_engine_module *mod;
  const kafu_wasm_module *wm;
  kafu_error *err;
  ifunc *fn;
  uint32_t fi;
  uint32_t *code;
  uint32_t len, cap;
  uint32_t *pcmap;
  uint32_t n_pcmap, cap_pcmap;
  cblock *blocks;
  uint32_t n_blocks, cap_blocks;
  uint32_t *src;   /* per operand height: the slot holding the value, or KSRC */
  uint64_t *kval;  /* per operand height: deferred constant */
  uint8_t *kwide;  /* per operand height: constant needs 64 bits */
  uint32_t cap_src;
  uint32_t nl, max_h, n_spill;
  uint32_t *spill_fix;
  uint32_t n_spill_fix, cap_spill_fix;
  uint32_t last_op_pos; /* position of the last emitted instruction eligible for peepholes */
  uint64_t kpool[KAFU_INTERP_KPOOL]; /* constants read as operands straight from frame slots */
  uint32_t n_kpool, kbase;
  bool oom;
} comp;

/* Which internal op implements a Wasm opcode directly (0 = none, else iop + 1). */
static const uint16_t DIRECT[KAFU_OP_COUNT] = {
#define XB(n, ...) [KAFU_OP_##n] = IOP_##n + 1,
#define XT(n) [KAFU_OP_##n] = IOP_##n + 1,
    KAFU_INTERP_BINOPS(XB) KAFU_INTERP_UNOPS(XB) KAFU_INTERP_TRAPBINOPS(XT)
        KAFU_INTERP_TRUNCS(XB) KAFU_INTERP_LOADS(XB) KAFU_INTERP_STORES(XB)
#undef XB
#undef XT
};

static bool grow_arr(comp *c, void **arr, uint32_t *cap, uint32_t need, size_t elem) {
  if (need <= *cap) return true;
  uint32_t ncap = *cap ? *cap : 64;
  while (ncap < need) ncap *= 2;
  void *p = kafu_interp_realloc(*arr, (size_t)*cap * elem, (size_t)ncap * elem);
  if (!p) { c->oom = true; return false; }
  *arr = p;
  *cap = ncap;
  return true;
}

static uint32_t here(const comp *c) { return c->len; }

static void emit(comp *c, uint32_t w) {
  if (!grow_arr(c, (void **)&c->code, &c->cap, c->len + 1, sizeof(uint32_t))) return;
  c->code[c->len++] = w;
}

/* Starts an instruction; peepholes only ever look at the latest one. */
static uint32_t emit_op(comp *c, kafu_iop op) {
  uint32_t pos = here(c);
  emit(c, op);
  c->last_op_pos = NONE;
  return pos;
}

static void label_here(comp *c) { c->last_op_pos = NONE; }

static uint32_t S(const comp *c, uint32_t h) { return c->nl + h; }

static bool ensure_h(comp *c, uint32_t h) {
  if (h < c->cap_src) return true;
  uint32_t old = c->cap_src;
  uint32_t ncap = old ? old : 64;
  while (ncap <= h) ncap *= 2;
  uint32_t *s = kafu_interp_realloc(c->src, old * sizeof *s, ncap * sizeof *s);
  if (!s) { c->oom = true; return false; }
  c->src = s;
  uint64_t *k = kafu_interp_realloc(c->kval, old * sizeof *k, ncap * sizeof *k);
  if (!k) { c->oom = true; return false; }
  c->kval = k;
  uint8_t *w = kafu_interp_realloc(c->kwide, old, ncap);
  if (!w) { c->oom = true; return false; }
  c->kwide = w;
  c->cap_src = ncap;
  return true;
}

static void set_canon(comp *c, uint32_t h) {
  if (ensure_h(c, h)) c->src[h] = S(c, h);
}

static void emit_const(comp *c, uint32_t dst, uint64_t v, bool wide) {
  if (wide) {
    emit_op(c, IOP_CONST64);
    emit(c, dst);
    emit(c, (uint32_t)v);
    emit(c, (uint32_t)(v >> 32));
  } else {
    emit_op(c, IOP_CONST32);
    emit(c, dst);
    emit(c, (uint32_t)v);
  }
}

/* Copies the value at height h into slot dst (no-op if already there). */
static void emit_copy(comp *c, uint32_t dst, uint32_t h) {
  uint32_t s = c->src[h];
  if (s == KSRC) emit_const(c, dst, c->kval[h], c->kwide[h]);
  else if (s != dst) {
    emit_op(c, IOP_MOV);
    emit(c, dst);
    emit(c, s);
  }
}

static void materialize(comp *c, uint32_t from, uint32_t to) {
  for (uint32_t h = from; h < to; h++) {
    if (c->src[h] != S(c, h)) {
      emit_copy(c, S(c, h), h);
      c->src[h] = S(c, h);
    }
  }
}

/* The slot to read the operand at height h from. Constants come from the
 * frame's constant pool (filled on function entry) while it has room. */
static uint32_t opnd(comp *c, uint32_t h) {
  if (c->src[h] == KSRC) {
    uint64_t k = c->kwide[h] ? c->kval[h] : (uint32_t)c->kval[h];
    for (uint32_t i = 0; i < c->n_kpool; i++)
      if (c->kpool[i] == k) return c->kbase + i;
    if (c->n_kpool < KAFU_INTERP_KPOOL) {
      c->kpool[c->n_kpool] = k;
      return c->kbase + c->n_kpool++;
    }
    materialize(c, h, h + 1);
  }
  return c->src[h];
}

static void pcmap_add(comp *c, size_t offset) {
  if (!grow_arr(c, (void **)&c->pcmap, &c->cap_pcmap, c->n_pcmap + 2, sizeof(uint32_t))) return;
  c->pcmap[c->n_pcmap++] = here(c);
  c->pcmap[c->n_pcmap++] = (uint32_t)offset;
}

static cblock *push_block(comp *c) {
  if (!grow_arr(c, (void **)&c->blocks, &c->cap_blocks, c->n_blocks + 1, sizeof(cblock))) return NULL;
  cblock *b = &c->blocks[c->n_blocks++];
  memset(b, 0, sizeof *b);
  b->patch = b->else_patch = NONE;
  return b;
}

/* Emits a jump-target word for block b (resolved now for loops, later otherwise). */
static void emit_target(comp *c, cblock *b) {
  if (b->kind == KAFU_OP_LOOP) {
    emit(c, b->loop_pc);
  } else {
    uint32_t pos = here(c);
    emit(c, b->patch);
    b->patch = pos;
  }
}

static void patch_chain(comp *c, uint32_t head, uint32_t target) {
  while (head != NONE && !c->oom) {
    uint32_t next = c->code[head];
    c->code[head] = target;
    head = next;
  }
}

/* Values a branch to b carries. */
static uint32_t arity(const cblock *b) { return b->kind == KAFU_OP_LOOP ? b->n_params : b->n_results; }

static bool is_func_level(const comp *c, const cblock *b) { return b == &c->blocks[0]; }

/* Does a branch at height h to b need value moves? */
static bool needs_moves(const comp *c, const cblock *b, uint32_t h) {
  uint32_t n = arity(b);
  for (uint32_t i = 0; i < n; i++)
    if (c->src[h - n + i] != S(c, b->base + i)) return true;
  return false;
}

static void emit_moves(comp *c, const cblock *b, uint32_t h) {
  uint32_t n = arity(b);
  for (uint32_t i = 0; i < n; i++) emit_copy(c, S(c, b->base + i), h - n + i);
}

/* Return sequence: results from the top of the stack to fp[0..n). The values
 * were materialized first, so ascending copies never clobber a source. */
static void emit_return(comp *c, uint32_t h) {
  uint32_t n = c->fn->n_results;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t s = c->src[h - n + i];
    if (s != i) {
      emit_op(c, IOP_MOV);
      emit(c, i);
      emit(c, s);
    }
  }
  emit_op(c, IOP_RETURN);
}

/* Unconditional branch at height h to block b. */
static void emit_br(comp *c, cblock *b, uint32_t h) {
  if (is_func_level(c, b)) {
    materialize(c, h - c->fn->n_results, h);
    emit_return(c, h);
    return;
  }
  emit_moves(c, b, h);
  emit_op(c, IOP_BR);
  emit_target(c, b);
}

static kafu_err on_begin(void *ud, uint32_t fi) {
  comp *c = ud;
  const kafu_wasm_module *wm = c->wm;
  ifunc *fn = &c->mod->funcs[fi];
  const kafu_wasm_body *body = &wm->ext->bodies[fi - wm->n_func_imports];
  c->fn = fn;
  c->fi = fi;
  c->len = c->n_pcmap = c->n_blocks = c->n_spill = c->n_spill_fix = 0;
  c->code = NULL;
  c->cap = 0;
  c->pcmap = NULL;
  c->cap_pcmap = 0;
  c->max_h = 0;
  c->last_op_pos = NONE;
  fn->n_locals = body->n_locals;
  c->kbase = fn->n_params + fn->n_locals;
  c->n_kpool = 0;
  c->nl = c->kbase + KAFU_INTERP_KPOOL;
  cblock *b = push_block(c);
  if (!b) return kafu_fail(c->err, KAFU_E_NOMEM, "out of memory compiling function %u", fi);
  b->kind = KAFU_OP_BLOCK;
  b->n_results = fn->n_results;
  return KAFU_OK;
}

/* Fused compare-and-branch: `cmp; br_if` (when_true) or `cmp; if` (!when_true)
 * become one instruction when the comparison was the last thing emitted and
 * its result is only the branch condition. Leaves the target word unwritten:
 * returns the position where it goes, or NONE if nothing was fused. */
static uint32_t fuse_branch(comp *c, uint32_t cond_slot, bool when_true) {
  static const uint16_t FUSED_IF[IOP_COUNT] = {
#define XF(n, t, o) [IOP_##n] = IOP_BR_IF_##n + 1,
      KAFU_INTERP_FUSED_CMPS(XF)
#undef XF
  };
  static const uint16_t FUSED_UNLESS[IOP_COUNT] = {
#define XF(n, t, o) [IOP_##n] = IOP_BR_UNLESS_##n + 1,
      KAFU_INTERP_FUSED_CMPS(XF)
#undef XF
  };
  uint32_t p = c->last_op_pos;
  if (p == NONE || c->oom) return NONE;
  uint32_t op = c->code[p];
  if (c->code[p + 1] != cond_slot) return NONE;
  uint16_t fused = when_true ? FUSED_IF[op] : FUSED_UNLESS[op];
  if (fused && p + 4 == here(c)) { /* [cmp, dst, a, b] -> [br, a, b, target] */
    c->code[p] = fused - 1u;
    c->code[p + 1] = c->code[p + 2];
    c->code[p + 2] = c->code[p + 3];
    c->last_op_pos = NONE;
    return p + 3;
  }
  if (op == IOP_I32_EQZ && p + 3 == here(c)) { /* [eqz, dst, a] -> [br, a, target] */
    c->code[p] = when_true ? IOP_BR_IF_I32_EQZ : IOP_BR_UNLESS_I32_EQZ;
    c->code[p + 1] = c->code[p + 2];
    c->last_op_pos = NONE;
    return p + 2;
  }
  return NONE;
}

/* `cmp; br_if b` fused into one instruction, if possible. */
static bool fuse_br_if(comp *c, uint32_t cond_slot, cblock *b) {
  uint32_t at = fuse_branch(c, cond_slot, true);
  if (at == NONE) return false;
  c->len = at;
  emit_target(c, b);
  return true;
}

static kafu_err on_instr(void *ud, const kafu_wasm_instr *in, uint32_t h, bool dead) {
  comp *c = ud;
  if (h > c->max_h) c->max_h = h;
  if (!ensure_h(c, h + 2)) goto oom;
  cblock *top = &c->blocks[c->n_blocks - 1];
  kafu_wasm_op op = in->op;

  /* Structure first: it must be tracked even in dead code. */
  if (op == KAFU_OP_BLOCK || op == KAFU_OP_LOOP || op == KAFU_OP_IF) {
    bool live = !dead && !top->dead;
    if (live) pcmap_add(c, in->offset);
    uint32_t cond_slot = 0;
    if (live && op == KAFU_OP_IF) {
      cond_slot = opnd(c, h - 1);
      h--;
    }
    if (live) materialize(c, 0, h);
    cblock *b = push_block(c);
    if (!b) goto oom;
    b->kind = op;
    b->dead = !live;
    b->n_params = in->bt_params;
    b->n_results = in->bt_results;
    if (!live) return KAFU_OK;
    b->base = h - in->bt_params;
    if (op == KAFU_OP_LOOP) {
      label_here(c);
      b->loop_pc = here(c);
    } else if (op == KAFU_OP_IF) {
      if (b->n_params) { /* the else arm needs the params the then arm consumes */
        b->spill = c->n_spill;
        c->n_spill += b->n_params;
        for (uint32_t i = 0; i < b->n_params; i++) {
          emit_op(c, IOP_MOV);
          if (!grow_arr(c, (void **)&c->spill_fix, &c->cap_spill_fix, c->n_spill_fix + 1, sizeof(uint32_t))) goto oom;
          c->spill_fix[c->n_spill_fix++] = here(c);
          emit(c, b->spill + i);
          emit(c, S(c, b->base + i));
        }
      }
      uint32_t at = b->n_params ? NONE : fuse_branch(c, cond_slot, false);
      if (at != NONE) {
        c->len = at;
      } else {
        emit_op(c, IOP_BR_UNLESS);
        emit(c, cond_slot);
      }
      b->else_patch = here(c);
      emit(c, NONE);
    }
    return c->oom ? KAFU_E_NOMEM : KAFU_OK;
  }
  if (op == KAFU_OP_ELSE) {
    if (top->dead) return KAFU_OK;
    pcmap_add(c, in->offset);
    if (!dead) {
      materialize(c, top->base, h);
      emit_op(c, IOP_BR);
      emit_target(c, top);
    }
    label_here(c);
    if (!c->oom) c->code[top->else_patch] = here(c);
    top->else_patch = NONE;
    for (uint32_t i = 0; i < top->n_params; i++) {
      emit_op(c, IOP_MOV);
      emit(c, S(c, top->base + i));
      if (!grow_arr(c, (void **)&c->spill_fix, &c->cap_spill_fix, c->n_spill_fix + 1, sizeof(uint32_t))) goto oom;
      c->spill_fix[c->n_spill_fix++] = here(c);
      emit(c, top->spill + i);
    }
    for (uint32_t i = 0; i < top->n_params; i++) set_canon(c, top->base + i);
    top->kind = KAFU_OP_ELSE;
    return c->oom ? KAFU_E_NOMEM : KAFU_OK;
  }
  if (op == KAFU_OP_END) {
    cblock b = *top;
    c->n_blocks--;
    if (b.dead) return KAFU_OK;
    pcmap_add(c, in->offset);
    if (c->n_blocks == 0) { /* the function's own end */
      if (!dead) {
        materialize(c, 0, h);
        emit_return(c, h);
      }
      return c->oom ? KAFU_E_NOMEM : KAFU_OK;
    }
    if (!dead) materialize(c, b.base, h);
    label_here(c);
    if (b.else_patch != NONE && !c->oom) c->code[b.else_patch] = here(c);
    patch_chain(c, b.patch, here(c));
    if (!ensure_h(c, b.base + b.n_results)) goto oom;
    for (uint32_t i = 0; i < b.n_results; i++) set_canon(c, b.base + i);
    if (b.base + b.n_results > c->max_h) c->max_h = b.base + b.n_results;
    return c->oom ? KAFU_E_NOMEM : KAFU_OK;
  }
  if (dead || top->dead) return KAFU_OK;

  pcmap_add(c, in->offset);
  const kafu_wasm_module *wm = c->wm;
  uint16_t direct = DIRECT[op];
  if (direct) {
    kafu_iop iop = (kafu_iop)(direct - 1);
    const kafu_wasm_opinfo *oi = &kafu_wasm_opinfo_table[op];
    if (oi->imm == KAFU_IMM_MEM) {
      if (oi->r) { /* load */
        uint32_t a = opnd(c, h - 1);
        c->last_op_pos = NONE;
        uint32_t pos = here(c);
        emit(c, iop);
        emit(c, S(c, h - 1));
        emit(c, a);
        emit(c, in->b);
        c->last_op_pos = pos;
        set_canon(c, h - 1);
      } else {
        uint32_t a = opnd(c, h - 2), v = opnd(c, h - 1);
        emit_op(c, iop);
        emit(c, a);
        emit(c, v);
        emit(c, in->b);
      }
    } else if (oi->p2) { /* binary */
      uint32_t pos;
      if (iop == IOP_I32_ADD && c->src[h - 1] == KSRC) {
        uint32_t a = opnd(c, h - 2);
        pos = here(c);
        emit(c, IOP_I32_ADD_K);
        emit(c, S(c, h - 2));
        emit(c, a);
        emit(c, (uint32_t)c->kval[h - 1]);
      } else if (iop == IOP_I32_SUB && c->src[h - 1] == KSRC) {
        uint32_t a = opnd(c, h - 2);
        pos = here(c);
        emit(c, IOP_I32_ADD_K);
        emit(c, S(c, h - 2));
        emit(c, a);
        emit(c, (uint32_t)(0u - (uint32_t)c->kval[h - 1]));
      } else {
        uint32_t a = opnd(c, h - 2), b = opnd(c, h - 1);
        pos = here(c);
        emit(c, iop);
        emit(c, S(c, h - 2));
        emit(c, a);
        emit(c, b);
      }
      c->last_op_pos = pos;
      set_canon(c, h - 2);
    } else { /* unary */
      uint32_t a = opnd(c, h - 1);
      uint32_t pos = here(c);
      emit(c, iop);
      emit(c, S(c, h - 1));
      emit(c, a);
      c->last_op_pos = pos;
      set_canon(c, h - 1);
    }
    return c->oom ? KAFU_E_NOMEM : KAFU_OK;
  }

  switch (op) {
  case KAFU_OP_UNREACHABLE: emit_op(c, IOP_UNREACHABLE); break;
  case KAFU_OP_NOP: break;
  case KAFU_OP_BR: emit_br(c, &c->blocks[c->n_blocks - 1 - in->a], h); break;
  case KAFU_OP_BR_IF: {
    cblock *b = &c->blocks[c->n_blocks - 1 - in->a];
    uint32_t cond = opnd(c, h - 1);
    h--;
    if (is_func_level(c, b)) materialize(c, h - c->fn->n_results, h);
    if (!is_func_level(c, b) && !needs_moves(c, b, h)) {
      if (fuse_br_if(c, cond, b)) break;
      emit_op(c, IOP_BR_IF);
      emit(c, cond);
      emit_target(c, b);
    } else {
      emit_op(c, IOP_BR_UNLESS);
      emit(c, cond);
      uint32_t skip = here(c);
      emit(c, NONE);
      emit_br(c, b, h);
      label_here(c);
      if (!c->oom) c->code[skip] = here(c);
    }
    break;
  }
  case KAFU_OP_BR_TABLE: {
    uint32_t idx = opnd(c, h - 1);
    h--;
    /* A return through br_table: results must not alias locals being overwritten. */
    for (uint32_t i = 0; i <= in->n_targets; i++)
      if (is_func_level(c, &c->blocks[c->n_blocks - 1 - in->targets[i]])) {
        materialize(c, h - c->fn->n_results, h);
        break;
      }
    emit_op(c, IOP_BR_TABLE);
    emit(c, idx);
    emit(c, in->n_targets);
    uint32_t table = here(c);
    for (uint32_t i = 0; i <= in->n_targets; i++) emit(c, NONE);
    for (uint32_t i = 0; i <= in->n_targets && !c->oom; i++) {
      cblock *b = &c->blocks[c->n_blocks - 1 - in->targets[i]];
      if (!is_func_level(c, b) && !needs_moves(c, b, h)) {
        if (b->kind == KAFU_OP_LOOP) c->code[table + i] = b->loop_pc;
        else {
          c->code[table + i] = b->patch;
          b->patch = table + i;
        }
      } else {
        c->code[table + i] = here(c);
        emit_br(c, b, h);
      }
    }
    break;
  }
  case KAFU_OP_RETURN:
    materialize(c, h - c->fn->n_results, h);
    emit_return(c, h);
    break;
  case KAFU_OP_CALL:
  case KAFU_OP_CALL_INDIRECT: {
    const kafu_wasm_functype *t = op == KAFU_OP_CALL ? &wm->types[wm->func_types[in->a]] : &wm->types[in->a];
    uint32_t idx = 0;
    if (op == KAFU_OP_CALL_INDIRECT) {
      idx = opnd(c, h - 1);
      h--;
    }
    uint32_t base = h - t->n_params;
    materialize(c, base, h);
    if (op == KAFU_OP_CALL) {
      emit_op(c, in->a < wm->n_func_imports ? IOP_CALL_HOST : IOP_CALL);
      emit(c, in->a);
      emit(c, S(c, base));
    } else {
      emit_op(c, IOP_CALL_INDIRECT);
      emit(c, c->mod->canon[in->a]);
      emit(c, in->b);
      emit(c, idx);
      emit(c, S(c, base));
    }
    if (!ensure_h(c, base + t->n_results)) goto oom;
    for (uint32_t i = 0; i < t->n_results; i++) set_canon(c, base + i);
    if (base + t->n_results > c->max_h) c->max_h = base + t->n_results;
    break;
  }
  case KAFU_OP_DROP: break;
  case KAFU_OP_SELECT:
  case KAFU_OP_SELECT_T: {
    uint32_t a = opnd(c, h - 3), b = opnd(c, h - 2), cond = opnd(c, h - 1);
    uint32_t pos = emit_op(c, IOP_SELECT);
    emit(c, S(c, h - 3));
    emit(c, a);
    emit(c, b);
    emit(c, cond);
    c->last_op_pos = pos;
    set_canon(c, h - 3);
    break;
  }
  case KAFU_OP_LOCAL_GET: c->src[h] = in->a; break;
  case KAFU_OP_LOCAL_SET:
  case KAFU_OP_LOCAL_TEE: {
    uint32_t x = in->a;
    /* Entries still reading the old value of x get it copied out first. */
    for (uint32_t i = 0; i + 1 < h; i++)
      if (c->src[i] == x) {
        emit_copy(c, S(c, i), i);
        c->src[i] = S(c, i);
      }
    uint32_t p = c->last_op_pos;
    if (p != NONE && !c->oom && c->src[h - 1] == S(c, h - 1) && c->code[p + 1] == S(c, h - 1)) {
      c->code[p + 1] = x; /* retarget the producer straight into the local */
    } else if (c->src[h - 1] == KSRC) {
      emit_const(c, x, c->kval[h - 1], c->kwide[h - 1]);
    } else if (c->src[h - 1] != x) {
      emit_op(c, IOP_MOV);
      emit(c, x);
      emit(c, c->src[h - 1]);
    }
    c->last_op_pos = NONE;
    if (op == KAFU_OP_LOCAL_TEE) c->src[h - 1] = x;
    break;
  }
  case KAFU_OP_GLOBAL_GET: {
    uint32_t pos = emit_op(c, IOP_GLOBAL_GET);
    emit(c, S(c, h));
    emit(c, in->a);
    c->last_op_pos = pos;
    set_canon(c, h);
    break;
  }
  case KAFU_OP_GLOBAL_SET: {
    uint32_t v = opnd(c, h - 1);
    emit_op(c, IOP_GLOBAL_SET);
    emit(c, in->a);
    emit(c, v);
    break;
  }
  case KAFU_OP_I32_CONST:
  case KAFU_OP_F32_CONST:
    c->src[h] = KSRC;
    c->kval[h] = (uint32_t)in->bits;
    c->kwide[h] = 0;
    break;
  case KAFU_OP_I64_CONST:
  case KAFU_OP_F64_CONST:
    c->src[h] = KSRC;
    c->kval[h] = in->bits;
    c->kwide[h] = 1;
    break;
  case KAFU_OP_REF_NULL:
  case KAFU_OP_REF_FUNC:
    c->src[h] = KSRC;
    c->kval[h] = op == KAFU_OP_REF_NULL ? 0 : (uint64_t)in->a + 1;
    c->kwide[h] = 1;
    break;
  case KAFU_OP_REF_IS_NULL: {
    uint32_t a = opnd(c, h - 1);
    emit_op(c, IOP_REF_IS_NULL);
    emit(c, S(c, h - 1));
    emit(c, a);
    set_canon(c, h - 1);
    break;
  }
  case KAFU_OP_MEMORY_SIZE:
    emit_op(c, IOP_MEMORY_SIZE);
    emit(c, S(c, h));
    set_canon(c, h);
    break;
  case KAFU_OP_MEMORY_GROW: {
    uint32_t n = opnd(c, h - 1);
    emit_op(c, IOP_MEMORY_GROW);
    emit(c, S(c, h - 1));
    emit(c, n);
    set_canon(c, h - 1);
    break;
  }
  case KAFU_OP_MEMORY_INIT:
  case KAFU_OP_MEMORY_COPY:
  case KAFU_OP_MEMORY_FILL:
  case KAFU_OP_TABLE_INIT:
  case KAFU_OP_TABLE_COPY:
  case KAFU_OP_TABLE_FILL: {
    uint32_t d = opnd(c, h - 3), s = opnd(c, h - 2), n = opnd(c, h - 1);
    switch (op) {
    case KAFU_OP_MEMORY_INIT: emit_op(c, IOP_MEMORY_INIT); emit(c, in->a); break;
    case KAFU_OP_MEMORY_COPY: emit_op(c, IOP_MEMORY_COPY); break;
    case KAFU_OP_MEMORY_FILL: emit_op(c, IOP_MEMORY_FILL); break;
    case KAFU_OP_TABLE_INIT: emit_op(c, IOP_TABLE_INIT); emit(c, in->a); emit(c, in->b); break;
    case KAFU_OP_TABLE_COPY: emit_op(c, IOP_TABLE_COPY); emit(c, in->a); emit(c, in->b); break;
    default: emit_op(c, IOP_TABLE_FILL); emit(c, in->a); break;
    }
    emit(c, d);
    emit(c, s);
    emit(c, n);
    break;
  }
  case KAFU_OP_DATA_DROP:
  case KAFU_OP_ELEM_DROP:
    emit_op(c, op == KAFU_OP_DATA_DROP ? IOP_DATA_DROP : IOP_ELEM_DROP);
    emit(c, in->a);
    break;
  case KAFU_OP_TABLE_GET: {
    uint32_t i = opnd(c, h - 1);
    emit_op(c, IOP_TABLE_GET);
    emit(c, S(c, h - 1));
    emit(c, in->a);
    emit(c, i);
    set_canon(c, h - 1);
    break;
  }
  case KAFU_OP_TABLE_SET: {
    uint32_t i = opnd(c, h - 2), v = opnd(c, h - 1);
    emit_op(c, IOP_TABLE_SET);
    emit(c, in->a);
    emit(c, i);
    emit(c, v);
    break;
  }
  case KAFU_OP_TABLE_SIZE:
    emit_op(c, IOP_TABLE_SIZE);
    emit(c, S(c, h));
    emit(c, in->a);
    set_canon(c, h);
    break;
  case KAFU_OP_TABLE_GROW: {
    uint32_t v = opnd(c, h - 2), n = opnd(c, h - 1);
    emit_op(c, IOP_TABLE_GROW);
    emit(c, S(c, h - 2));
    emit(c, in->a);
    emit(c, v);
    emit(c, n);
    set_canon(c, h - 2);
    break;
  }
  default:
    return kafu_fail(c->err, KAFU_E_INTERNAL, "interp: no translation for %s", kafu_wasm_op_name(op));
  }
  return c->oom ? KAFU_E_NOMEM : KAFU_OK;
oom:
  return kafu_fail(c->err, KAFU_E_NOMEM, "out of memory compiling function %u", c->fi);
}

static kafu_err on_end(void *ud, uint32_t fi) {
  comp *c = ud;
  if (c->oom) return kafu_fail(c->err, KAFU_E_NOMEM, "out of memory compiling function %u", fi);
  uint32_t spill_base = c->nl + c->max_h + 1;
  for (uint32_t i = 0; i < c->n_spill_fix; i++) c->code[c->spill_fix[i]] += spill_base;
  ifunc *fn = c->fn;
  fn->frame_size = spill_base + c->n_spill;
  /* Shrink code and pc map to their exact sizes (they live as long as the
   * module, and freeing tells the allocation hook the true old size). All
   * allocations come first, so a failure leaves everything owned by c. */
  uint32_t *code = kafu_interp_realloc(c->code, (size_t)c->cap * 4, (size_t)c->len * 4 + 4);
  if (!code) return kafu_fail(c->err, KAFU_E_NOMEM, "out of memory compiling function %u", fi);
  c->code = code;
  c->cap = c->len + 1;
  uint32_t *pcmap = kafu_interp_realloc(c->pcmap, (size_t)c->cap_pcmap * 4, (size_t)c->n_pcmap * 4 + 4);
  if (!pcmap) return kafu_fail(c->err, KAFU_E_NOMEM, "out of memory compiling function %u", fi);
  c->pcmap = pcmap;
  c->cap_pcmap = c->n_pcmap + 1;
  uint64_t *consts = NULL;
  if (c->n_kpool) {
    consts = kafu_interp_realloc(NULL, 0, (size_t)c->n_kpool * 8);
    if (!consts) return kafu_fail(c->err, KAFU_E_NOMEM, "out of memory compiling function %u", fi);
    memcpy(consts, c->kpool, (size_t)c->n_kpool * 8);
  }
  /* Transfer ownership to the function. */
  fn->consts = consts;
  fn->n_consts = c->n_kpool;
  fn->code = c->code;
  fn->code_len = c->len;
  fn->pcmap = c->pcmap;
  fn->n_pcmap = c->n_pcmap / 2;
  c->code = NULL;
  c->cap = 0;
  c->pcmap = NULL;
  c->cap_pcmap = 0;
  return KAFU_OK;
}

kafu_err kafu_interp_compile(kafu_engine_module *mod, kafu_error *err) {
  const kafu_wasm_module *wm = mod->wm;
  comp c = {.mod = mod, .wm = wm, .err = err};
  kafu_wasm_visitor v = {.ud = &c, .func_begin = on_begin, .instr = on_instr, .func_end = on_end};
  kafu_err rc = kafu_wasm_validate(wm, &v, err);
  IFREE(c.code, (size_t)c.cap * 4);
  IFREE(c.pcmap, (size_t)c.cap_pcmap * 4);
  IFREE(c.blocks, (size_t)c.cap_blocks * sizeof(cblock));
  IFREE(c.src, (size_t)c.cap_src * 4);
  IFREE(c.kval, (size_t)c.cap_src * 8);
  IFREE(c.kwide, (size_t)c.cap_src);
  IFREE(c.spill_fix, (size_t)c.cap_spill_fix * 4);
  return rc;
}

void kafu_interp_free_code(kafu_engine_module *mod) {
  if (!mod->funcs) return;
  for (uint32_t i = 0; i < mod->wm->n_funcs; i++) {
    ifunc *f = &mod->funcs[i];
    IFREE(f->code, ((size_t)f->code_len + 1) * 4);
    IFREE(f->pcmap, (size_t)f->n_pcmap * 8 + 4);
    IFREE(f->consts, (size_t)f->n_consts * 8);
    f->code = NULL;
    f->pcmap = NULL;
    f->consts = NULL;
  }
}
