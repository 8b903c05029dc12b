/* snapify's own call graph over Binaryen IR: direct calls by name, indirect
 * calls resolved by signature against the functions placed in tables. Used to
 * find where polls go (callees of MAY_OFFLOAD functions) and which functions
 * Asyncify must instrument (callers of kafu.* imports). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapify/internal.h"

static size_t hash_name(const char *s) {
  size_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

long kafu_snapify_graph_find(const kafu_snapify_graph *g, const char *name) {
  if (!g->n_slots || !name) return -1;
  for (size_t i = hash_name(name) & (g->n_slots - 1);; i = (i + 1) & (g->n_slots - 1)) {
    size_t v = g->slots[i];
    if (!v) return -1;
    if (!strcmp(g->funcs[v - 1].name, name)) return (long)(v - 1);
  }
}

static bool index_names(kafu_snapify_graph *g) {
  size_t n_slots = 16;
  while (n_slots < 2 * g->n_funcs + 2) n_slots *= 2;
  g->slots = calloc(n_slots, sizeof *g->slots);
  if (!g->slots) return false;
  g->n_slots = n_slots;
  for (size_t f = 0; f < g->n_funcs; f++) {
    size_t i = hash_name(g->funcs[f].name) & (n_slots - 1);
    while (g->slots[i]) i = (i + 1) & (n_slots - 1);
    g->slots[i] = f + 1;
  }
  return true;
}

static bool collect_table(kafu_snapify_graph *g, BinaryenModuleRef mod) {
  size_t total = 0;
  BinaryenIndex n_segs = BinaryenGetNumElementSegments(mod);
  for (BinaryenIndex s = 0; s < n_segs; s++)
    total += BinaryenElementSegmentGetLength(BinaryenGetElementSegmentByIndex(mod, s));
  g->table = calloc(total ? total : 1, sizeof *g->table);
  if (!g->table) return false;
  for (BinaryenIndex s = 0; s < n_segs; s++) {
    BinaryenElementSegmentRef seg = BinaryenGetElementSegmentByIndex(mod, s);
    BinaryenIndex len = BinaryenElementSegmentGetLength(seg);
    for (BinaryenIndex i = 0; i < len; i++) {
      long f = kafu_snapify_graph_find(g, BinaryenElementSegmentGetData(seg, i));
      if (f >= 0 && !g->funcs[f].imported) g->table[g->n_table++] = (size_t)f;
    }
  }
  return true;
}

kafu_err kafu_snapify_graph_build(BinaryenModuleRef mod, kafu_snapify_graph *g,
                                  kafu_error *err) {
  memset(g, 0, sizeof *g);
  BinaryenIndex n = BinaryenGetNumFunctions(mod);
  g->funcs = calloc(n ? n : 1, sizeof *g->funcs);
  if (!g->funcs) return kafu_fail(err, KAFU_E_NOMEM, "out of memory");
  g->n_funcs = n;
  for (BinaryenIndex i = 0; i < n; i++) {
    BinaryenFunctionRef ref = BinaryenGetFunctionByIndex(mod, i);
    kafu_snapify_func *f = &g->funcs[i];
    const char *imp = BinaryenFunctionImportGetModule(ref);
    f->name = BinaryenFunctionGetName(ref);
    f->imported = imp && imp[0];
    if (f->imported) continue;
    kafu_err rc = kafu_snapify_walk(BinaryenFunctionGetBody(ref), &f->scan, err);
    if (rc != KAFU_OK) {
      char *human = kafu_snapify_name_unescape(f->name);
      char prefix[300];
      snprintf(prefix, sizeof prefix, "function '%s'", human ? human : f->name);
      free(human);
      kafu_error_prefix(err, prefix);
      kafu_snapify_graph_free(g);
      return rc;
    }
  }
  if (!index_names(g) || !collect_table(g, mod)) {
    kafu_snapify_graph_free(g);
    return kafu_fail(err, KAFU_E_NOMEM, "out of memory");
  }
  return KAFU_OK;
}

void kafu_snapify_graph_free(kafu_snapify_graph *g) {
  for (size_t i = 0; i < g->n_funcs; i++) kafu_snapify_scan_free(&g->funcs[i].scan);
  free(g->funcs);
  free(g->slots);
  free(g->table);
  memset(g, 0, sizeof *g);
}

static bool same_signature(BinaryenModuleRef mod, const char *name, BinaryenType params,
                           BinaryenType results) {
  BinaryenFunctionRef ref = BinaryenGetFunction(mod, name);
  return ref && BinaryenFunctionGetParams(ref) == params &&
         BinaryenFunctionGetResults(ref) == results;
}

void kafu_snapify_graph_close_callees(kafu_snapify_graph *g, BinaryenModuleRef mod) {
  /* worklist of marked functions whose callees are not yet marked */
  size_t *work = malloc((g->n_funcs + 1) * sizeof *work);
  size_t n_work = 0;
  if (!work) return;
  for (size_t i = 0; i < g->n_funcs; i++)
    if (g->funcs[i].mark) work[n_work++] = i;
  while (n_work > 0) {
    kafu_snapify_func *f = &g->funcs[work[--n_work]];
    for (size_t c = 0; c < f->scan.n_callees; c++) {
      long t = kafu_snapify_graph_find(g, f->scan.callees[c]);
      if (t >= 0 && !g->funcs[t].mark) {
        g->funcs[t].mark = true;
        work[n_work++] = (size_t)t;
      }
    }
    for (size_t k = 0; k < f->scan.n_indirect; k++) {
      for (size_t e = 0; e < g->n_table; e++) {
        kafu_snapify_func *t = &g->funcs[g->table[e]];
        if (t->mark ||
            !same_signature(mod, t->name, f->scan.ind_params[k], f->scan.ind_results[k]))
          continue;
        t->mark = true;
        work[n_work++] = g->table[e];
      }
    }
  }
  free(work);
}

void kafu_snapify_graph_close_callers(kafu_snapify_graph *g, BinaryenModuleRef mod) {
  bool changed = true;
  while (changed) {
    changed = false;
    for (size_t i = 0; i < g->n_funcs; i++) {
      kafu_snapify_func *f = &g->funcs[i];
      if (f->mark || f->imported) continue;
      for (size_t c = 0; c < f->scan.n_callees && !f->mark; c++) {
        long t = kafu_snapify_graph_find(g, f->scan.callees[c]);
        if (t >= 0 && g->funcs[t].mark) f->mark = true;
      }
      for (size_t k = 0; k < f->scan.n_indirect && !f->mark; k++) {
        for (size_t e = 0; e < g->n_table && !f->mark; e++) {
          kafu_snapify_func *t = &g->funcs[g->table[e]];
          if (t->mark &&
              same_signature(mod, t->name, f->scan.ind_params[k], f->scan.ind_results[k]))
            f->mark = true;
        }
      }
      if (f->mark) changed = true;
    }
  }
}
