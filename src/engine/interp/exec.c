/* The interpreter's dispatch loop: runs compiled register-style code with
 * pc, fp and the memory base in locals. Wasm calls push a record on the
 * heap frame stack (never the C stack); only host calls recurse in C. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine/interp/interp.h"

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define MAX_HOST_NESTING 200 /* host -> wasm -> host ... re-entry depth (C stack) */

static inline uint32_t rotl32(uint32_t a, uint32_t b) { b &= 31; return (a << b) | (a >> ((32 - b) & 31)); }
static inline uint32_t rotr32(uint32_t a, uint32_t b) { b &= 31; return (a >> b) | (a << ((32 - b) & 31)); }
static inline uint64_t rotl64(uint64_t a, uint64_t b) { b &= 63; return (a << b) | (a >> ((64 - b) & 63)); }
static inline uint64_t rotr64(uint64_t a, uint64_t b) { b &= 63; return (a >> b) | (a << ((64 - b) & 63)); }

/* Wasm min/max: NaN if either is NaN, and -0 < +0. */
static inline float fmin32(float a, float b) {
  if (isnan(a) || isnan(b)) return a + b;
  if (a == 0 && b == 0) return signbit(a) ? a : b;
  return a < b ? a : b;
}
static inline float fmax32(float a, float b) {
  if (isnan(a) || isnan(b)) return a + b;
  if (a == 0 && b == 0) return signbit(a) ? b : a;
  return a > b ? a : b;
}
static inline double fmin64(double a, double b) {
  if (isnan(a) || isnan(b)) return a + b;
  if (a == 0 && b == 0) return signbit(a) ? a : b;
  return a < b ? a : b;
}
static inline double fmax64(double a, double b) {
  if (isnan(a) || isnan(b)) return a + b;
  if (a == 0 && b == 0) return signbit(a) ? b : a;
  return a > b ? a : b;
}

/* Saturating truncations: NaN -> 0, out of range -> the nearest bound. */
#define SAT(name, ft, it, lo, hi, minv, maxv) \
  static inline it name(ft x) { \
    if (isnan(x)) return 0; \
    if (x <= (ft)(lo)) return minv; \
    if (x >= (ft)(hi)) return maxv; \
    return (it)x; \
  }
SAT(sat_i32_f32, float, int32_t, -2147483904.0f, 2147483648.0f, INT32_MIN, INT32_MAX)
SAT(sat_u32_f32, float, uint32_t, -1.0f, 4294967296.0f, 0, UINT32_MAX)
SAT(sat_i32_f64, double, int32_t, -2147483649.0, 2147483648.0, INT32_MIN, INT32_MAX)
SAT(sat_u32_f64, double, uint32_t, -1.0, 4294967296.0, 0, UINT32_MAX)
SAT(sat_i64_f32, float, int64_t, -9223373136366403584.0f, 9223372036854775808.0f, INT64_MIN, INT64_MAX)
SAT(sat_u64_f32, float, uint64_t, -1.0f, 18446744073709551616.0f, 0, UINT64_MAX)
SAT(sat_i64_f64, double, int64_t, -9223372036854777856.0, 9223372036854775808.0, INT64_MIN, INT64_MAX)
SAT(sat_u64_f64, double, uint64_t, -1.0, 18446744073709551616.0, 0, UINT64_MAX)

void kafu_interp_func_label(const kafu_engine_module *mod, uint32_t fi, char *buf, size_t cap) {
  const char *name = kafu_wasm_func_name(mod->wm, fi);
  if (name) snprintf(buf, cap, "function %u (%.200s)", fi, name);
  else snprintf(buf, cap, "function %u", fi);
}

/* File offset of the instruction at code word `pc` of fn. */
static uint32_t pc_offset(const ifunc *fn, uint32_t pc) {
  uint32_t lo = 0, hi = fn->n_pcmap, best = 0;
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    if (fn->pcmap[2 * mid] <= pc) { best = fn->pcmap[2 * mid + 1]; lo = mid + 1; }
    else hi = mid;
  }
  return best;
}

static kafu_err trap_msg(interp_instance *inst, const ifunc *fn, const uint32_t *pc,
                         const char *what, kafu_error *err) {
  if (!fn || !fn->code) return kafu_fail(err, KAFU_E_TRAP, "trap: %s", what);
  char label[260];
  uint32_t fi = (uint32_t)(fn - inst->mod->funcs);
  kafu_interp_func_label(inst->mod, fi, label, sizeof label);
  return kafu_fail(err, KAFU_E_TRAP, "trap: %s in %s at 0x%x", what, label,
                   pc_offset(fn, (uint32_t)(pc - fn->code)));
}

/* Calls host import fi with args at `args`; results are written back there. */
static kafu_err call_host(interp_instance *inst, uint32_t fi, islot *args, kafu_error *err) {
  const kafu_engine_module *mod = inst->mod;
  const kafu_host_import *h = inst->hosts[fi];
  const kafu_wasm_functype *t = &mod->wm->types[mod->wm->func_types[fi]];
  kafu_slot in[KAFU_HOST_MAX_PARAMS], out[KAFU_HOST_MAX_RESULTS];
  for (uint32_t i = 0; i < t->n_params; i++)
    in[i] = (t->params[i] == 0x7f || t->params[i] == 0x7d) ? args[i].u32 : args[i].u64;
  memset(out, 0, sizeof out);
  if (h->fn(h->env, &inst->hdr, in, out) != 0) {
    return kafu_fail(err, KAFU_E_TRAP, "trap: host function %s.%s aborted the call", h->module, h->name);
  }
  for (uint32_t i = 0; i < t->n_results; i++) args[i].u64 = out[i];
  return KAFU_OK;
}

#if defined(__GNUC__) && !defined(KAFU_INTERP_SWITCH)
#define CASE(n) L_##n:
#define DISPATCH() goto *labels[*pc]
#else
#define CASE(n) case IOP_##n:
#define DISPATCH() goto dispatch
#endif
#define NEXT(n) do { pc += (n); DISPATCH(); } while (0)
#define R(k) fp[pc[k]]
#define TRAP(what) do { trap_what = (what); goto trap; } while (0)

kafu_err kafu_interp_exec(interp_instance *inst, uint32_t fi, islot *fp, kafu_error *err) {
  kafu_engine_module *mod = inst->mod;
  ifunc *funcs = mod->funcs;
  const ifunc *cur = &funcs[fi];
  const uint32_t *pc = NULL;
  const char *trap_what = NULL;
  uint32_t depth = inst->depth;
  const uint32_t entry_depth = depth;
  iframe *frames = inst->frames;
  islot *const stack_end = inst->stack_end;
  islot *globals = inst->globals;
  uint8_t *mem = inst->mem;
  uint64_t msize = inst->mem_size;
  kafu_err rc = KAFU_OK;

  if (!cur->code) return call_host(inst, fi, fp, err);
  /* Host re-entry recurses on the C stack: bound it separately. */
  if (inst->nesting >= MAX_HOST_NESTING || depth >= inst->max_depth ||
      fp + cur->frame_size > stack_end) {
    cur = NULL;
    trap_what = "call stack exhausted";
    goto trap;
  }
  frames[depth].ret_pc = NULL; /* entry marker: RETURN to it leaves the loop */
  frames[depth].fp = NULL;
  frames[depth].fn = NULL;
  depth++;
  memset(fp + cur->n_params, 0, (size_t)cur->n_locals * sizeof *fp);
  if (cur->n_consts) memcpy(fp + cur->n_params + cur->n_locals, cur->consts, (size_t)cur->n_consts * 8);
  pc = cur->code;
  inst->nesting++;

#if defined(__GNUC__) && !defined(KAFU_INTERP_SWITCH)
  static const void *const labels[IOP_COUNT] = {
#define XB(n, ...) &&L_##n,
#define XT(n) &&L_##n,
#define XM(n, w) &&L_##n,
#define XF(n, t, o) &&L_BR_IF_##n, &&L_BR_UNLESS_##n,
      KAFU_INTERP_BINOPS(XB) KAFU_INTERP_UNOPS(XB) KAFU_INTERP_TRAPBINOPS(XT)
          KAFU_INTERP_TRUNCS(XB) KAFU_INTERP_LOADS(XB) KAFU_INTERP_STORES(XB) KAFU_INTERP_MISC(XM)
              KAFU_INTERP_FUSED_CMPS(XF)
#undef XB
#undef XT
#undef XM
#undef XF
  };
  DISPATCH();
#else
dispatch:
  switch (*pc) {
#endif

  /* Numeric instructions straight from the X-macro tables. */
#define XB(n, ta, tr, expr) \
  CASE(n) { /* R[dst] := R[a] op R[b] */ \
    __typeof__(fp->ta) A = R(2).ta, B = R(3).ta; \
    (void)A; (void)B; \
    R(1).tr = (expr); \
    NEXT(4); \
  }
  KAFU_INTERP_BINOPS(XB)
#undef XB
#define XU(n, ta, tr, expr) \
  CASE(n) { /* R[dst] := f(R[a]) */ \
    __typeof__(fp->ta) A = R(2).ta; \
    R(1).tr = (expr); \
    NEXT(3); \
  }
  KAFU_INTERP_UNOPS(XU)
#undef XU
#define XC(n, ta, tr, lo, hi) \
  CASE(n) { /* R[dst] := trunc(R[a]), trapping outside (lo, hi) */ \
    __typeof__(fp->ta) A = R(2).ta; \
    if (UNLIKELY(isnan(A))) TRAP("invalid conversion to integer"); \
    if (UNLIKELY(!(A > (lo) && A < (hi)))) TRAP("integer overflow"); \
    R(1).tr = (__typeof__(fp->tr))A; \
    NEXT(3); \
  }
  KAFU_INTERP_TRUNCS(XC)
#undef XC
#define XL(n, ctype, tr, cast) \
  CASE(n) { /* R[dst] := mem[R[addr] + off] */ \
    uint64_t ea = (uint64_t)R(2).u32 + pc[3]; \
    if (UNLIKELY(ea + sizeof(ctype) > msize)) TRAP("out of bounds memory access"); \
    ctype v; \
    memcpy(&v, mem + ea, sizeof v); \
    R(1).tr = (cast)v; \
    NEXT(4); \
  }
  KAFU_INTERP_LOADS(XL)
#undef XL
#define XS(n, ctype, ta) \
  CASE(n) { /* mem[R[addr] + off] := R[val] */ \
    uint64_t ea = (uint64_t)R(1).u32 + pc[3]; \
    if (UNLIKELY(ea + sizeof(ctype) > msize)) TRAP("out of bounds memory access"); \
    ctype v = (ctype)R(2).ta; \
    memcpy(mem + ea, &v, sizeof v); \
    NEXT(4); \
  }
  KAFU_INTERP_STORES(XS)
#undef XS

  CASE(I32_DIV_S) {
    int32_t a = R(2).i32, b = R(3).i32;
    if (UNLIKELY(b == 0)) TRAP("integer divide by zero");
    if (UNLIKELY(a == INT32_MIN && b == -1)) TRAP("integer overflow");
    R(1).i32 = a / b;
    NEXT(4);
  }
  CASE(I32_DIV_U) {
    uint32_t a = R(2).u32, b = R(3).u32;
    if (UNLIKELY(b == 0)) TRAP("integer divide by zero");
    R(1).u32 = a / b;
    NEXT(4);
  }
  CASE(I32_REM_S) {
    int32_t a = R(2).i32, b = R(3).i32;
    if (UNLIKELY(b == 0)) TRAP("integer divide by zero");
    R(1).i32 = b == -1 ? 0 : a % b;
    NEXT(4);
  }
  CASE(I32_REM_U) {
    uint32_t a = R(2).u32, b = R(3).u32;
    if (UNLIKELY(b == 0)) TRAP("integer divide by zero");
    R(1).u32 = a % b;
    NEXT(4);
  }
  CASE(I64_DIV_S) {
    int64_t a = R(2).i64, b = R(3).i64;
    if (UNLIKELY(b == 0)) TRAP("integer divide by zero");
    if (UNLIKELY(a == INT64_MIN && b == -1)) TRAP("integer overflow");
    R(1).i64 = a / b;
    NEXT(4);
  }
  CASE(I64_DIV_U) {
    uint64_t a = R(2).u64, b = R(3).u64;
    if (UNLIKELY(b == 0)) TRAP("integer divide by zero");
    R(1).u64 = a / b;
    NEXT(4);
  }
  CASE(I64_REM_S) {
    int64_t a = R(2).i64, b = R(3).i64;
    if (UNLIKELY(b == 0)) TRAP("integer divide by zero");
    R(1).i64 = b == -1 ? 0 : a % b;
    NEXT(4);
  }
  CASE(I64_REM_U) {
    uint64_t a = R(2).u64, b = R(3).u64;
    if (UNLIKELY(b == 0)) TRAP("integer divide by zero");
    R(1).u64 = a % b;
    NEXT(4);
  }

  CASE(UNREACHABLE) { TRAP("unreachable"); }
  CASE(BR) { pc = cur->code + pc[1]; DISPATCH(); } /* pc := target */
  CASE(BR_IF) { /* if R[c] pc := target */
    if (R(1).u32) { pc = cur->code + pc[2]; DISPATCH(); }
    NEXT(3);
  }
  CASE(BR_UNLESS) { /* if !R[c] pc := target */
    if (!R(1).u32) { pc = cur->code + pc[2]; DISPATCH(); }
    NEXT(3);
  }
#define XF(n, t, o) \
  CASE(BR_IF_##n) { /* if R[a] o R[b] pc := target */ \
    if (R(1).t o R(2).t) { pc = cur->code + pc[3]; DISPATCH(); } \
    NEXT(4); \
  } \
  CASE(BR_UNLESS_##n) { /* if !(R[a] o R[b]) pc := target */ \
    if (!(R(1).t o R(2).t)) { pc = cur->code + pc[3]; DISPATCH(); } \
    NEXT(4); \
  }
  KAFU_INTERP_FUSED_CMPS(XF)
#undef XF
  CASE(BR_IF_I32_EQZ) { /* if R[a] == 0 pc := target */
    if (R(1).u32 == 0) { pc = cur->code + pc[2]; DISPATCH(); }
    NEXT(3);
  }
  CASE(BR_UNLESS_I32_EQZ) { /* if R[a] != 0 pc := target */
    if (R(1).u32 != 0) { pc = cur->code + pc[2]; DISPATCH(); }
    NEXT(3);
  }
  CASE(BR_TABLE) { /* pc := targets[min(R[i], n)] */
    uint32_t i = R(1).u32, n = pc[2];
    pc = cur->code + pc[3 + (i < n ? i : n)];
    DISPATCH();
  }
  CASE(RETURN) { /* pop the frame; the results are at fp[0..) */
    depth--;
    if (!frames[depth].ret_pc) goto done;
    pc = frames[depth].ret_pc;
    fp = frames[depth].fp;
    cur = frames[depth].fn;
    DISPATCH();
  }
  CASE(CALL) { /* enter funcs[f] with its frame at fp + off */
    const ifunc *callee = &funcs[pc[1]];
    islot *nfp = fp + pc[2];
    if (UNLIKELY(depth >= inst->max_depth || nfp + callee->frame_size > stack_end))
      TRAP("call stack exhausted");
    frames[depth].ret_pc = pc + 3;
    frames[depth].fp = fp;
    frames[depth].fn = cur;
    depth++;
    memset(nfp + callee->n_params, 0, (size_t)callee->n_locals * sizeof *nfp);
    if (callee->n_consts)
      memcpy(nfp + callee->n_params + callee->n_locals, callee->consts, (size_t)callee->n_consts * 8);
    fp = nfp;
    cur = callee;
    pc = callee->code;
    DISPATCH();
  }
  CASE(CALL_HOST) { /* host import f, args and results at fp + off */
    islot *saved_top = inst->stack_top;
    inst->stack_top = fp + cur->frame_size;
    inst->depth = depth;
    rc = call_host(inst, pc[1], fp + pc[2], err);
    inst->stack_top = saved_top;
    inst->depth = entry_depth;
    if (rc) goto host_failed;
    mem = inst->mem;
    msize = inst->mem_size;
    NEXT(3);
  }
  CASE(CALL_INDIRECT) { /* call table[R[i]] checking its type */
    const itable *t = &inst->tables[pc[2]];
    uint32_t i = R(3).u32;
    if (UNLIKELY(i >= t->size)) TRAP("undefined element");
    uint64_t ref = t->elems[i];
    if (UNLIKELY(!ref)) TRAP("uninitialized element");
    const ifunc *callee = &funcs[ref - 1];
    if (UNLIKELY(callee->canon_type != pc[1])) TRAP("indirect call type mismatch");
    islot *nfp = fp + pc[4];
    if (!callee->code) {
      islot *saved_top = inst->stack_top;
      inst->stack_top = fp + cur->frame_size;
      inst->depth = depth;
      rc = call_host(inst, (uint32_t)(ref - 1), nfp, err);
      inst->stack_top = saved_top;
      inst->depth = entry_depth;
      if (rc) goto host_failed;
      mem = inst->mem;
      msize = inst->mem_size;
      NEXT(5);
    }
    if (UNLIKELY(depth >= inst->max_depth || nfp + callee->frame_size > stack_end))
      TRAP("call stack exhausted");
    frames[depth].ret_pc = pc + 5;
    frames[depth].fp = fp;
    frames[depth].fn = cur;
    depth++;
    memset(nfp + callee->n_params, 0, (size_t)callee->n_locals * sizeof *nfp);
    if (callee->n_consts)
      memcpy(nfp + callee->n_params + callee->n_locals, callee->consts, (size_t)callee->n_consts * 8);
    fp = nfp;
    cur = callee;
    pc = callee->code;
    DISPATCH();
  }
  CASE(MOV) { R(1) = R(2); NEXT(3); } /* R[dst] := R[src] */
  CASE(CONST32) { R(1).u32 = pc[2]; NEXT(3); } /* R[dst] := k */
  CASE(CONST64) { R(1).u64 = (uint64_t)pc[2] | ((uint64_t)pc[3] << 32); NEXT(4); }
  CASE(SELECT) { R(1) = R(4).u32 ? R(2) : R(3); NEXT(5); } /* R[dst] := R[c] ? R[a] : R[b] */
  CASE(I32_ADD_K) { R(1).u32 = R(2).u32 + pc[3]; NEXT(4); } /* R[dst] := R[a] + k */
  CASE(GLOBAL_GET) { R(1) = globals[pc[2]]; NEXT(3); }
  CASE(GLOBAL_SET) { globals[pc[1]] = R(2); NEXT(3); }
  CASE(MEMORY_SIZE) { R(1).u32 = inst->mem_pages; NEXT(2); }
  CASE(MEMORY_GROW) { /* R[dst] := old pages or -1 */
    int64_t old = kafu_interp_grow(inst, R(2).u32);
    R(1).i32 = (int32_t)old;
    mem = inst->mem;
    msize = inst->mem_size;
    NEXT(3);
  }
  CASE(MEMORY_INIT) { /* mem[d..d+n) := data[seg][s..s+n) */
    const kafu_wasm_data *seg = &mod->wm->ext->datas[pc[1]];
    uint64_t len = inst->data_dropped[pc[1]] ? 0 : seg->len;
    uint64_t d = R(2).u32, s = R(3).u32, n = R(4).u32;
    if (UNLIKELY(s + n > len || d + n > msize)) TRAP("out of bounds memory access");
    if (n) memcpy(mem + d, seg->bytes + s, n);
    NEXT(5);
  }
  CASE(DATA_DROP) { inst->data_dropped[pc[1]] = true; NEXT(2); }
  CASE(MEMORY_COPY) { /* memmove(mem + d, mem + s, n) */
    uint64_t d = R(1).u32, s = R(2).u32, n = R(3).u32;
    if (UNLIKELY(s + n > msize || d + n > msize)) TRAP("out of bounds memory access");
    if (n) memmove(mem + d, mem + s, n);
    NEXT(4);
  }
  CASE(MEMORY_FILL) { /* memset(mem + d, v, n) */
    uint64_t d = R(1).u32, n = R(3).u32;
    if (UNLIKELY(d + n > msize)) TRAP("out of bounds memory access");
    if (n) memset(mem + d, (int)(R(2).u32 & 0xff), n);
    NEXT(4);
  }
  CASE(REF_IS_NULL) { R(1).u32 = R(2).u64 == 0; NEXT(3); }
  CASE(TABLE_GET) {
    const itable *t = &inst->tables[pc[2]];
    uint32_t i = R(3).u32;
    if (UNLIKELY(i >= t->size)) TRAP("out of bounds table access");
    R(1).u64 = t->elems[i];
    NEXT(4);
  }
  CASE(TABLE_SET) {
    itable *t = &inst->tables[pc[1]];
    uint32_t i = R(2).u32;
    if (UNLIKELY(i >= t->size)) TRAP("out of bounds table access");
    t->elems[i] = R(3).u64;
    NEXT(4);
  }
  CASE(TABLE_SIZE) { R(1).u32 = inst->tables[pc[2]].size; NEXT(3); }
  CASE(TABLE_GROW) {
    int64_t old = kafu_interp_table_grow(inst, pc[2], R(4).u32, R(3).u64);
    R(1).i32 = (int32_t)old;
    NEXT(5);
  }
  CASE(TABLE_FILL) {
    itable *t = &inst->tables[pc[1]];
    uint64_t i = R(2).u32, n = R(4).u32;
    uint64_t v = R(3).u64;
    if (UNLIKELY(i + n > t->size)) TRAP("out of bounds table access");
    for (uint64_t k = 0; k < n; k++) t->elems[i + k] = v;
    NEXT(5);
  }
  CASE(TABLE_INIT) { /* table[d..d+n) := elem[seg][s..s+n) */
    const kafu_wasm_elem *seg = &mod->wm->ext->elems[pc[1]];
    itable *t = &inst->tables[pc[2]];
    uint64_t len = inst->elem_dropped[pc[1]] ? 0 : seg->n_items;
    uint64_t d = R(3).u32, s = R(4).u32, n = R(5).u32;
    if (UNLIKELY(s + n > len || d + n > t->size)) TRAP("out of bounds table access");
    for (uint64_t k = 0; k < n; k++) {
      const kafu_wasm_constexpr *e = &seg->items[s + k];
      uint64_t ref = 0;
      if (e->op == KAFU_CONST_REF_FUNC) ref = e->value + 1;
      else if (e->op == KAFU_CONST_GLOBAL) ref = globals[e->value].u64;
      t->elems[d + k] = ref;
    }
    NEXT(6);
  }
  CASE(TABLE_COPY) {
    itable *dt = &inst->tables[pc[1]];
    const itable *st = &inst->tables[pc[2]];
    uint64_t d = R(3).u32, s = R(4).u32, n = R(5).u32;
    if (UNLIKELY(s + n > st->size || d + n > dt->size)) TRAP("out of bounds table access");
    if (n) memmove(dt->elems + d, st->elems + s, n * sizeof *dt->elems);
    NEXT(6);
  }
  CASE(ELEM_DROP) { inst->elem_dropped[pc[1]] = true; NEXT(2); }

#if !(defined(__GNUC__) && !defined(KAFU_INTERP_SWITCH))
  default: trap_what = "internal error: bad opcode"; goto trap;
  }
#endif

done:
  inst->depth = entry_depth;
  inst->nesting--;
  return KAFU_OK;
trap:
  inst->depth = entry_depth;
  if (pc) inst->nesting--; /* pc is set once the entry frame is pushed */
  return trap_msg(inst, cur, pc, trap_what, err);
host_failed:
  inst->depth = entry_depth;
  inst->nesting--;
  return rc;
}
