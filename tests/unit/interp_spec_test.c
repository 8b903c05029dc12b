/* Spec-style conformance runner for the interpreter: converts each
 * each tests/spec .wast file with wabt's wast2json and executes its commands
 * (module, register, action, assert_return, assert_trap, assert_exhaustion,
 * assert_invalid, assert_malformed, assert_unlinkable, assert_uninstantiable).
 *
 * Without arguments it is a cmocka test over tests/spec. With arguments
 * (`interp_spec_test file.wast...`) it runs those files and prints a
 * per-file summary, e.g. for the official testsuite checked out locally. */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/engine.h"
#include "engine/interp/interp_api.h"
#include "util/file.h"
#include "wasm/module.h"

/* ---- a minimal JSON reader (wast2json output only) ---- */

typedef enum { J_NULL, J_STR, J_NUM, J_ARR, J_OBJ, J_BOOL } jkind;
typedef struct json {
  jkind kind;
  char *str; /* J_STR; J_NUM keeps its text here too */
  struct json **items;
  char **keys; /* J_OBJ */
  size_t n;
} json;

static void jfree(json *j) {
  if (!j) return;
  free(j->str);
  for (size_t i = 0; i < j->n; i++) {
    jfree(j->items[i]);
    if (j->keys) free(j->keys[i]);
  }
  free(j->items);
  free(j->keys);
  free(j);
}

static void skip_ws(const char **p) {
  while (**p == ' ' || **p == '\n' || **p == '\r' || **p == '\t') (*p)++;
}

static char *jstring(const char **p) {
  (*p)++; /* opening quote */
  size_t cap = 16, n = 0;
  char *s = malloc(cap);
  while (**p && **p != '"') {
    char ch = **p;
    if (ch == '\\') {
      (*p)++;
      ch = **p;
      if (ch == 'n') ch = '\n';
      else if (ch == 't') ch = '\t';
      else if (ch == 'u') { /* \uXXXX (with surrogate pairs) to UTF-8 */
        unsigned cp = (unsigned)strtoul((char[]){(*p)[1], (*p)[2], (*p)[3], (*p)[4], 0}, NULL, 16);
        *p += 4;
        if (cp >= 0xd800 && cp < 0xdc00 && (*p)[1] == '\\' && (*p)[2] == 'u') {
          unsigned lo = (unsigned)strtoul((char[]){(*p)[3], (*p)[4], (*p)[5], (*p)[6], 0}, NULL, 16);
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          *p += 6;
        }
        char u[4];
        size_t k = 0;
        if (cp < 0x80) u[k++] = (char)cp;
        else if (cp < 0x800) { u[k++] = (char)(0xc0 | (cp >> 6)); u[k++] = (char)(0x80 | (cp & 0x3f)); }
        else if (cp < 0x10000) {
          u[k++] = (char)(0xe0 | (cp >> 12));
          u[k++] = (char)(0x80 | ((cp >> 6) & 0x3f));
          u[k++] = (char)(0x80 | (cp & 0x3f));
        } else {
          u[k++] = (char)(0xf0 | (cp >> 18));
          u[k++] = (char)(0x80 | ((cp >> 12) & 0x3f));
          u[k++] = (char)(0x80 | ((cp >> 6) & 0x3f));
          u[k++] = (char)(0x80 | (cp & 0x3f));
        }
        if (n + k + 2 > cap) s = realloc(s, cap = (cap + k) * 2);
        memcpy(s + n, u, k);
        n += k;
        (*p)++;
        continue;
      }
    }
    if (n + 2 > cap) s = realloc(s, cap *= 2);
    s[n++] = ch;
    (*p)++;
  }
  if (**p == '"') (*p)++;
  s[n] = '\0';
  return s;
}

static json *jparse(const char **p) {
  skip_ws(p);
  json *j = calloc(1, sizeof *j);
  if (**p == '{' || **p == '[') {
    bool obj = **p == '{';
    j->kind = obj ? J_OBJ : J_ARR;
    (*p)++;
    for (;;) {
      skip_ws(p);
      if (**p == '}' || **p == ']') { (*p)++; break; }
      if (**p == ',') { (*p)++; continue; }
      if (!**p) break;
      char *key = NULL;
      if (obj) {
        key = jstring(p);
        skip_ws(p);
        if (**p == ':') (*p)++;
      }
      j->items = realloc(j->items, (j->n + 1) * sizeof *j->items);
      if (obj) j->keys = realloc(j->keys, (j->n + 1) * sizeof *j->keys);
      j->items[j->n] = jparse(p);
      if (obj) j->keys[j->n] = key;
      j->n++;
    }
  } else if (**p == '"') {
    j->kind = J_STR;
    j->str = jstring(p);
  } else {
    const char *s = *p;
    while (**p && !strchr(",]} \n\r\t", **p)) (*p)++;
    j->kind = J_NUM;
    j->str = strndup(s, (size_t)(*p - s));
  }
  return j;
}

static json *jget(const json *j, const char *key) {
  if (!j || j->kind != J_OBJ) return NULL;
  for (size_t i = 0; i < j->n; i++)
    if (!strcmp(j->keys[i], key)) return j->items[i];
  return NULL;
}

static const char *jstr(const json *j, const char *key) {
  json *v = jget(j, key);
  return v && v->str ? v->str : NULL;
}

/* ---- running ---- */

#define MAX_INST 4096

typedef struct named {
  char *name; /* NULL for anonymous */
  kafu_engine_module *mod;
  kafu_engine_instance *inst;
} named;

typedef struct bridge { /* a registered module's function export, imported by later modules */
  kafu_engine_instance *inst;
  char *module, *field;
  size_t n_params, n_results;
} bridge;

#define MAX_BRIDGES 1024

typedef struct runner {
  const kafu_engine_ops *ops;
  const char *dir;
  const char *wast;
  named insts[MAX_INST];
  size_t n_insts;
  kafu_engine_instance *current;
  kafu_host_import imports[512];
  size_t n_imports;
  bridge bridges[MAX_BRIDGES];
  size_t n_bridges;
  char *files[MAX_INST]; /* per instance: its .wasm file, to learn export types */
  int passed, failed, skipped;
  bool verbose;
} runner;

static int host_print(void *env, kafu_engine_instance *inst, const kafu_slot *args, kafu_slot *res) {
  (void)env, (void)inst, (void)args, (void)res;
  return 0;
}


static int host_bridge(void *env, kafu_engine_instance *inst, const kafu_slot *args, kafu_slot *res) {
  (void)inst;
  bridge *b = env;
  kafu_error err = {0};
  return kafu_instance_call(b->inst, b->field, args, b->n_params, res, b->n_results, &err) != KAFU_OK;
}

static void add_import(runner *r, const char *module, const char *name, const char *sig_params,
                       const char *sig_results, kafu_host_fn fn, void *env) {
  if (r->n_imports >= sizeof r->imports / sizeof r->imports[0]) return;
  kafu_host_import *h = &r->imports[r->n_imports++];
  memset(h, 0, sizeof *h);
  h->module = module;
  h->name = name;
  for (const char *c = sig_params; *c; c++)
    h->params[h->n_params++] = *c == 'i' ? KAFU_I32 : *c == 'I' ? KAFU_I64 : *c == 'f' ? KAFU_F32 : KAFU_F64;
  for (const char *c = sig_results; *c; c++)
    h->results[h->n_results++] = *c == 'i' ? KAFU_I32 : *c == 'I' ? KAFU_I64 : *c == 'f' ? KAFU_F32 : KAFU_F64;
  h->fn = fn;
  h->env = env;
}

static void spectest_imports(runner *r) {
  r->n_imports = 0;
  add_import(r, "spectest", "print", "", "", host_print, NULL);
  add_import(r, "spectest", "print_i32", "i", "", host_print, NULL);
  add_import(r, "spectest", "print_i64", "I", "", host_print, NULL);
  add_import(r, "spectest", "print_f32", "f", "", host_print, NULL);
  add_import(r, "spectest", "print_f64", "d", "", host_print, NULL);
  add_import(r, "spectest", "print_i32_f32", "if", "", host_print, NULL);
  add_import(r, "spectest", "print_f64_f64", "dd", "", host_print, NULL);
}

static kafu_engine_instance *find_inst(runner *r, const char *name) {
  if (!name) return r->current;
  for (size_t i = r->n_insts; i-- > 0;)
    if (r->insts[i].name && !strcmp(r->insts[i].name, name)) return r->insts[i].inst;
  return NULL;
}

static kafu_err load_file(runner *r, const char *file, kafu_engine_module **mod,
                          kafu_engine_instance **inst, kafu_error *err) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", r->dir, file);
  uint8_t *bytes = NULL;
  size_t len = 0;
  kafu_err rc = kafu_file_read(path, &bytes, &len, err);
  if (rc) return rc;
  *mod = NULL;
  if (inst) *inst = NULL;
  rc = r->ops->load(bytes, len, file, mod, err);
  free(bytes);
  if (rc || !inst) return rc;
  rc = r->ops->instantiate(*mod, r->imports, r->n_imports, inst, err);
  if (rc) return rc;
  return kafu_interp_run_start(*inst, err);
}

static bool parse_value(const json *v, uint64_t *out, bool *any_nan) {
  const char *type = jstr(v, "type"), *val = jstr(v, "value");
  *any_nan = false;
  if (!type) return false;
  if (!val) { /* e.g. a funcref without value */
    *out = 0;
    return true;
  }
  if (!strncmp(val, "nan:", 4)) {
    *any_nan = true;
    *out = 0;
    return true;
  }
  if (!strcmp(val, "null")) {
    *out = 0;
    return true;
  }
  uint64_t x = strtoull(val, NULL, 10);
  if (!strcmp(type, "externref") || !strcmp(type, "funcref")) x += 1;
  *out = x;
  return true;
}

static bool is_nan_bits(const char *type, uint64_t bits) {
  if (!strcmp(type, "f32")) return ((bits >> 23) & 0xff) == 0xff && (bits & 0x7fffff);
  return ((bits >> 52) & 0x7ff) == 0x7ff && (bits & 0xfffffffffffffull);
}

/* Runs an action; returns the engine's code, results in res. */
static kafu_err do_action(runner *r, const json *act, kafu_slot *res, size_t *n_res, size_t want,
                          kafu_error *err) {
  kafu_engine_instance *inst = find_inst(r, jstr(act, "module"));
  if (!inst) return kafu_fail(err, KAFU_E_INPUT, "no module instance");
  const char *type = jstr(act, "type"), *field = jstr(act, "field");
  if (type && !strcmp(type, "get")) {
    *n_res = 1;
    return kafu_interp_get_global(inst, field, &res[0], err);
  }
  json *args = jget(act, "args");
  kafu_slot a[64];
  size_t na = 0;
  for (size_t i = 0; args && i < args->n && na < 64; i++) {
    bool nan;
    parse_value(args->items[i], &a[na++], &nan);
  }
  *n_res = want;
  return kafu_instance_call(inst, field, a, na, res, want, err);
}

#define FAIL(...) do { spec_fail(r, line, __VA_ARGS__); return; } while (0)

__attribute__((format(printf, 3, 4))) static void spec_fail(runner *r, long line, const char *fmt, ...) {
  r->failed++;
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s:%ld: ", r->wast, line);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
}

static void run_command(runner *r, const json *cmd) {
  const char *type = jstr(cmd, "type");
  json *jline = jget(cmd, "line");
  long line = jline && jline->str ? atol(jline->str) : 0;
  kafu_error err = {0};
  if (!type) return;
  if (!strcmp(type, "module")) {
    kafu_engine_module *mod;
    kafu_engine_instance *inst;
    kafu_err rc = load_file(r, jstr(cmd, "filename"), &mod, &inst, &err);
    if (rc) {
      if (inst) r->ops->instance_free(inst);
      if (mod) r->ops->module_free(mod);
      r->current = NULL;
      FAIL("module failed: %s", err.msg);
    }
    if (r->n_insts == MAX_INST) FAIL("too many modules");
    named *n = &r->insts[r->n_insts++];
    n->name = jstr(cmd, "name") ? strdup(jstr(cmd, "name")) : NULL;
    n->mod = mod;
    n->inst = inst;
    r->files[r->n_insts - 1] = strdup(jstr(cmd, "filename"));
    r->current = inst;
    r->passed++;
  } else if (!strcmp(type, "register")) {
    /* Function exports only: each becomes a host import bridging into the instance. */
    kafu_engine_instance *inst = find_inst(r, jstr(cmd, "name"));
    const char *as = jstr(cmd, "as");
    named *n = NULL;
    for (size_t i = 0; i < r->n_insts; i++)
      if (r->insts[i].inst == inst) n = &r->insts[i];
    if (!n || !as) FAIL("register: unknown module");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", r->dir, r->files[n - r->insts]);
    uint8_t *bytes;
    size_t len;
    kafu_wasm_module *wm;
    if (kafu_file_read(path, &bytes, &len, &err)) FAIL("%s", err.msg);
    if (kafu_wasm_decode(bytes, len, path, &wm, &err)) { free(bytes); FAIL("%s", err.msg); }
    for (uint32_t i = 0; i < wm->n_exports; i++) {
      const kafu_wasm_export *e = &wm->exports[i];
      if (e->kind != KAFU_EXT_FUNC || r->n_bridges == MAX_BRIDGES) continue;
      const kafu_wasm_functype *t = &wm->types[wm->func_types[e->index]];
      if (t->n_params > KAFU_HOST_MAX_PARAMS || t->n_results > KAFU_HOST_MAX_RESULTS) continue;
      bridge *b = &r->bridges[r->n_bridges++];
      b->inst = inst;
      b->module = strdup(as);
      b->field = strdup(e->name);
      b->n_params = t->n_params;
      b->n_results = t->n_results;
      if (r->n_imports >= sizeof r->imports / sizeof r->imports[0]) continue;
      kafu_host_import *h = &r->imports[r->n_imports++];
      memset(h, 0, sizeof *h);
      h->module = b->module;
      h->name = b->field;
      h->n_params = (uint8_t)t->n_params;
      h->n_results = (uint8_t)t->n_results;
      for (uint32_t k = 0; k < t->n_params; k++) h->params[k] = (kafu_valtype)t->params[k];
      for (uint32_t k = 0; k < t->n_results; k++) h->results[k] = (kafu_valtype)t->results[k];
      h->fn = host_bridge;
      h->env = b;
    }
    kafu_wasm_module_free(wm);
    free(bytes);
    r->passed++;
  } else if (!strcmp(type, "action")) {
    kafu_slot res[16];
    size_t nres;
    json *exp = jget(cmd, "expected");
    size_t want = exp ? exp->n : 0;
    if (do_action(r, jget(cmd, "action"), res, &nres, want, &err)) FAIL("action failed: %s", err.msg);
    r->passed++;
  } else if (!strcmp(type, "assert_return")) {
    kafu_slot res[16];
    size_t nres;
    json *exp = jget(cmd, "expected");
    size_t want = exp ? exp->n : 0;
    if (want > 16) FAIL("too many results");
    if (do_action(r, jget(cmd, "action"), res, &nres, want, &err)) FAIL("%s", err.msg);
    for (size_t i = 0; i < want; i++) {
      uint64_t e;
      bool any_nan;
      parse_value(exp->items[i], &e, &any_nan);
      const char *ty = jstr(exp->items[i], "type");
      const char *val = jstr(exp->items[i], "value");
      if (any_nan) {
        if (!is_nan_bits(ty, res[i])) FAIL("result %zu: expected NaN, got 0x%llx", i, (unsigned long long)res[i]);
        if (!strcmp(val, "nan:canonical")) {
          uint64_t payload = !strcmp(ty, "f32") ? (res[i] & 0x7fffff) : (res[i] & 0xfffffffffffffull);
          uint64_t canon = !strcmp(ty, "f32") ? 0x400000 : 0x8000000000000ull;
          if (payload != canon) FAIL("result %zu: expected canonical NaN, got 0x%llx", i, (unsigned long long)res[i]);
        }
      } else if (!strcmp(ty, "funcref") && val && strcmp(val, "null")) {
        if (res[i] == 0) FAIL("result %zu: expected a non-null funcref", i);
      } else if (res[i] != e) {
        FAIL("result %zu: expected %s %s, got %llu (0x%llx)", i, ty, val ? val : "?",
             (unsigned long long)res[i], (unsigned long long)res[i]);
      }
    }
    r->passed++;
  } else if (!strcmp(type, "assert_trap") || !strcmp(type, "assert_exhaustion")) {
    json *act = jget(cmd, "action");
    kafu_slot res[16];
    size_t nres;
    json *exp = jget(cmd, "expected");
    if (act) {
      kafu_err rc = do_action(r, act, res, &nres, exp ? exp->n : 0, &err);
      if (rc != KAFU_E_TRAP) FAIL("expected trap \"%s\", got %s", jstr(cmd, "text"), rc ? err.msg : "success");
      char text[256];
      snprintf(text, sizeof text, "%s", jstr(cmd, "text") ? jstr(cmd, "text") : "");
      size_t tl = strlen(text); /* "uninitialized element 2": the index is not part of our message */
      while (tl && ((text[tl - 1] >= '0' && text[tl - 1] <= '9') || text[tl - 1] == ' ')) text[--tl] = '\0';
      if (tl && !strstr(err.msg, text) &&
          !(strstr(text, "undefined element") && strstr(err.msg, "out of bounds table access")))
        FAIL("expected trap \"%s\", got \"%s\"", text, err.msg);
    } else { /* a module whose start function traps */
      kafu_engine_module *mod;
      kafu_engine_instance *inst;
      kafu_err rc = load_file(r, jstr(cmd, "filename"), &mod, &inst, &err);
      if (inst) r->ops->instance_free(inst);
      if (mod) r->ops->module_free(mod);
      if (rc != KAFU_E_TRAP) FAIL("expected trap at instantiation, got %s", rc ? err.msg : "success");
    }
    r->passed++;
  } else if (!strcmp(type, "assert_invalid") || !strcmp(type, "assert_malformed")) {
    const char *mt = jstr(cmd, "module_type");
    if (mt && strcmp(mt, "binary")) { r->skipped++; return; } /* text-format errors are wabt's */
    kafu_engine_module *mod = NULL;
    kafu_err rc = load_file(r, jstr(cmd, "filename"), &mod, NULL, &err);
    if (mod) r->ops->module_free(mod);
    if (rc != KAFU_E_INPUT) FAIL("%s module (\"%s\") was accepted", type, jstr(cmd, "text"));
    if (r->verbose) fprintf(stderr, "  ok %s: %s\n", type, err.msg);
    r->passed++;
  } else if (!strcmp(type, "assert_unlinkable") || !strcmp(type, "assert_uninstantiable")) {
    kafu_engine_module *mod;
    kafu_engine_instance *inst;
    kafu_err rc = load_file(r, jstr(cmd, "filename"), &mod, &inst, &err);
    if (inst) r->ops->instance_free(inst);
    if (mod) r->ops->module_free(mod);
    if (rc == KAFU_OK) FAIL("%s module was accepted", type);
    r->passed++;
  } else {
    r->skipped++;
  }
}

/* Runs one .wast; returns the number of failures (or -1 if it could not be converted). */
static int run_wast(const char *wast, bool verbose, int *passed, int *skipped) {
  runner *rp = calloc(1, sizeof *rp);
  if (!rp) return -1;
  runner *const r_ptr = rp;
#define r (*r_ptr)
  r.ops = &kafu_engine_interp_ops;
  r.wast = wast;
  r.verbose = verbose;
  char dir[] = "/tmp/kafu-spec-XXXXXX";
  if (!mkdtemp(dir)) return -1;
  r.dir = dir;
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "wast2json --disable-simd '%s' -o %s/t.json 2>%s/err.txt", wast, dir, dir);
  int fails = -1;
  if (system(cmd) != 0) {
    fprintf(stderr, "%s: wast2json failed\n", wast);
    goto out;
  }
  char jpath[4200];
  snprintf(jpath, sizeof jpath, "%s/t.json", dir);
  uint8_t *text;
  size_t len;
  kafu_error err;
  if (kafu_file_read(jpath, &text, &len, &err)) goto out;
  const char *p = (const char *)text;
  json *root = jparse(&p);
  free(text);
  spectest_imports(&r);
  json *cmds = jget(root, "commands");
  for (size_t i = 0; cmds && i < cmds->n; i++) run_command(&r, cmds->items[i]);
  jfree(root);
  for (size_t i = 0; i < r.n_insts; i++) {
    r.ops->instance_free(r.insts[i].inst);
    r.ops->module_free(r.insts[i].mod);
    free(r.insts[i].name);
    free(r.files[i]);
  }
  for (size_t i = 0; i < r.n_bridges; i++) {
    free(r.bridges[i].module);
    free(r.bridges[i].field);
  }
  fails = r.failed;
  if (passed) *passed = r.passed;
  if (skipped) *skipped = r.skipped;
out:
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
#undef r
  free(rp);
  return fails;
}

static void run_one(void **state) {
  const char *wast = *state;
  int passed = 0, skipped = 0;
  int fails = run_wast(wast, false, &passed, &skipped);
  assert_int_equal(fails, 0);
  assert_true(passed > 0);
}

int main(int argc, char **argv) {
  kafu_interp_enable_spectest(true);
  if (argc > 1) { /* explicit files: summary mode */
    int total_fail = 0;
    bool verbose = getenv("KAFU_SPEC_VERBOSE") != NULL;
    for (int i = 1; i < argc; i++) {
      int passed = 0, skipped = 0;
      int fails = run_wast(argv[i], verbose, &passed, &skipped);
      printf("%-50s %s passed=%d failed=%d skipped=%d\n", argv[i], fails == 0 ? "PASS" : "FAIL",
             passed, fails, skipped);
      total_fail += fails != 0;
    }
    return total_fail ? 1 : 0;
  }
  const char *dirname = "spec";
  DIR *d = opendir(dirname);
  if (!d) {
    fprintf(stderr, "cannot open %s (run from tests/)\n", dirname);
    return 1;
  }
  static char paths[128][512];
  struct CMUnitTest tests[128];
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 128) {
    size_t l = strlen(e->d_name);
    if (l < 6 || strcmp(e->d_name + l - 5, ".wast")) continue;
    snprintf(paths[n], sizeof paths[n], "%s/%s", dirname, e->d_name);
    tests[n] = (struct CMUnitTest){paths[n], run_one, NULL, NULL, paths[n]};
    n++;
  }
  closedir(d);
  return _cmocka_run_group_tests("interp_spec", tests, n, NULL, NULL);
}
