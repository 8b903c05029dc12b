/* The interpreter through the engine interface: host imports (resolution,
 * signature checks, aborting calls), re-entrant calls from a host function
 * into the same instance, memory export and growth, trap and validation
 * messages, call-depth limits, and allocation failures injected through the
 * interpreter's allocation hook. Modules are assembled with wabt's wat2wasm. */
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
#include "engine/interp/interp.h"
#include "engine/interp/interp_api.h"
#include "util/file.h"

static const kafu_engine_ops *ops;

/* Assembles wat text into wasm bytes (caller frees). */
static uint8_t *wat(const char *text, size_t *len) {
  char in[64], out[64], cmd[256];
  snprintf(in, sizeof in, "/tmp/kafu-interp-%d.wat", (int)getpid());
  snprintf(out, sizeof out, "/tmp/kafu-interp-%d.wasm", (int)getpid());
  FILE *f = fopen(in, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  snprintf(cmd, sizeof cmd, "wat2wasm --no-check --debug-names '%s' -o '%s'", in, out);
  assert_int_equal(system(cmd), 0);
  uint8_t *bytes = NULL;
  kafu_error err;
  assert_int_equal(kafu_file_read(out, &bytes, len, &err), KAFU_OK);
  unlink(in);
  unlink(out);
  return bytes;
}

static kafu_engine_module *load(const char *text, kafu_error *err, kafu_err want) {
  size_t len;
  uint8_t *bytes = wat(text, &len);
  kafu_engine_module *mod = NULL;
  kafu_err rc = ops->load(bytes, len, "app.wasm", &mod, err);
  free(bytes);
  if (rc != want) fprintf(stderr, "load: %s\n", err->msg);
  assert_int_equal(rc, want);
  return mod;
}

/* ---- host functions ---- */

static int host_double(void *env, kafu_engine_instance *inst, const kafu_slot *args, kafu_slot *res) {
  (void)env, (void)inst;
  res[0] = (uint32_t)(args[0] * 2);
  return 0;
}

static int host_fail(void *env, kafu_engine_instance *inst, const kafu_slot *args, kafu_slot *res) {
  (void)env, (void)inst, (void)args, (void)res;
  return 1;
}

/* Calls back into the same instance: export "inner" with the argument + 1,
 * and writes to memory through the instance header. */
static int host_reenter(void *env, kafu_engine_instance *inst, const kafu_slot *args, kafu_slot *res) {
  int *calls = env;
  (*calls)++;
  kafu_slot in = args[0] + 1, out = 0;
  kafu_error err = {0};
  if (kafu_instance_call(inst, "inner", &in, 1, &out, 1, &err)) return 1;
  size_t size;
  uint8_t *mem = kafu_instance_memory(inst, &size);
  if (!mem || size < 65536) return 1;
  mem[100] = 0x5a;
  res[0] = out;
  return 0;
}

static kafu_host_import imp(const char *name, int np, int nr, kafu_host_fn fn, void *env) {
  kafu_host_import h = {.module = "env", .name = name, .n_params = (uint8_t)np,
                        .n_results = (uint8_t)nr, .fn = fn, .env = env};
  for (int i = 0; i < np; i++) h.params[i] = KAFU_I32;
  for (int i = 0; i < nr; i++) h.results[i] = KAFU_I32;
  return h;
}

static const char *HOST_WAT =
    "(module\n"
    "  (import \"env\" \"double\" (func $double (param i32) (result i32)))\n"
    "  (import \"env\" \"reenter\" (func $reenter (param i32) (result i32)))\n"
    "  (import \"env\" \"fail\" (func $fail))\n"
    "  (memory (export \"memory\") 1 4)\n"
    "  (func (export \"twice\") (param i32) (result i32) (call $double (local.get 0)))\n"
    "  (func (export \"inner\") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 10)))\n"
    "  (func (export \"outer\") (param i32) (result i32)\n"
    "    (i32.add (call $reenter (local.get 0)) (i32.load8_u (i32.const 100))))\n"
    "  (func (export \"abort\") (result i32) (call $fail) (i32.const 1))\n"
    "  (func (export \"grow\") (param i32) (result i32) (memory.grow (local.get 0)))\n"
    ")\n";

static void host_imports_and_reentry(void **state) {
  (void)state;
  kafu_error err = {0};
  kafu_engine_module *mod = load(HOST_WAT, &err, KAFU_OK);
  int calls = 0;
  kafu_host_import imports[3] = {imp("double", 1, 1, host_double, NULL),
                                 imp("reenter", 1, 1, host_reenter, &calls),
                                 imp("fail", 0, 0, host_fail, NULL)};
  kafu_engine_instance *inst = NULL;
  assert_int_equal(ops->instantiate(mod, imports, 3, &inst, &err), KAFU_OK);
  assert_ptr_equal(inst->ops, ops);
  kafu_slot arg = 21, res = 0;
  assert_int_equal(kafu_instance_call(inst, "twice", &arg, 1, &res, 1, &err), KAFU_OK);
  assert_int_equal(res, 42);
  arg = 4;
  assert_int_equal(kafu_instance_call(inst, "outer", &arg, 1, &res, 1, &err), KAFU_OK);
  assert_int_equal(res, 50 + 0x5a); /* inner(5) = 50, plus the byte the host wrote */
  assert_int_equal(calls, 1);
  /* A host function returning non-zero aborts the call as a trap. */
  assert_int_equal(kafu_instance_call(inst, "abort", NULL, 0, &res, 1, &err), KAFU_E_TRAP);
  assert_non_null(strstr(err.msg, "env.fail"));
  /* The instance stays usable after an aborted call. */
  arg = 1;
  assert_int_equal(kafu_instance_call(inst, "twice", &arg, 1, &res, 1, &err), KAFU_OK);
  assert_int_equal(res, 2);
  /* Wrong argument count, unknown export. */
  assert_int_equal(kafu_instance_call(inst, "twice", NULL, 0, &res, 1, &err), KAFU_E_INPUT);
  assert_int_equal(kafu_instance_call(inst, "nope", NULL, 0, NULL, 0, &err), KAFU_E_INPUT);
  assert_int_equal(ops->has_export(inst, "twice"), 1);
  assert_int_equal(ops->has_export(inst, "memory"), 0);
  /* Memory: exported base and size; growth from the host and from wasm. */
  size_t size = 0;
  assert_non_null(ops->memory(inst, &size));
  assert_int_equal(size, 65536);
  uint32_t old = 0;
  assert_int_equal(ops->memory_grow(inst, 1, &old, &err), KAFU_OK);
  assert_int_equal(old, 1);
  ops->memory(inst, &size);
  assert_int_equal(size, 2 * 65536);
  assert_int_equal(ops->memory_grow(inst, 3, &old, &err), KAFU_E_LIMIT);
  arg = 2;
  assert_int_equal(kafu_instance_call(inst, "grow", &arg, 1, &res, 1, &err), KAFU_OK);
  assert_int_equal(res, 2);
  uint8_t *mem = ops->memory(inst, &size);
  assert_int_equal(size, 4 * 65536);
  assert_int_equal(mem[100], 0x5a); /* contents survive growth */
  ops->instance_free(inst);
  ops->module_free(mod);
}

static void import_resolution_errors(void **state) {
  (void)state;
  kafu_error err = {0};
  kafu_engine_module *mod = load(HOST_WAT, &err, KAFU_OK);
  kafu_engine_instance *inst = NULL;
  kafu_host_import two[2] = {imp("double", 1, 1, host_double, NULL), imp("reenter", 1, 1, host_double, NULL)};
  assert_int_equal(ops->instantiate(mod, two, 2, &inst, &err), KAFU_E_INPUT);
  assert_non_null(strstr(err.msg, "unknown import env.fail"));
  kafu_host_import bad[3] = {imp("double", 2, 1, host_double, NULL), imp("reenter", 1, 1, host_double, NULL),
                             imp("fail", 0, 0, host_fail, NULL)};
  assert_int_equal(ops->instantiate(mod, bad, 3, &inst, &err), KAFU_E_INPUT);
  assert_non_null(strstr(err.msg, "incompatible import type for env.double"));
  bad[0].n_params = 1;
  bad[0].params[0] = KAFU_I64;
  assert_int_equal(ops->instantiate(mod, bad, 3, &inst, &err), KAFU_E_INPUT);
  ops->module_free(mod);
}

static void trap_and_validation_messages(void **state) {
  (void)state;
  kafu_error err = {0};
  kafu_engine_module *mod = load("(module\n"
                                 "  (func $helper (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0)))\n"
                                 "  (func (export \"compute\") (param i32) (result i32) (call $helper (local.get 0)))\n"
                                 "  (func $f (export \"forever\") (call $f)))\n",
                                 &err, KAFU_OK);
  kafu_engine_instance *inst = NULL;
  assert_int_equal(ops->instantiate(mod, NULL, 0, &inst, &err), KAFU_OK);
  kafu_slot arg = 0, res;
  assert_int_equal(kafu_instance_call(inst, "compute", &arg, 1, &res, 1, &err), KAFU_E_TRAP);
  /* "trap: integer divide by zero in function 0 (helper) at 0x.." */
  assert_non_null(strstr(err.msg, "integer divide by zero"));
  assert_non_null(strstr(err.msg, "function 0 (helper)"));
  assert_non_null(strstr(err.msg, " at 0x"));
  assert_int_equal(kafu_instance_call(inst, "forever", NULL, 0, NULL, 0, &err), KAFU_E_TRAP);
  assert_non_null(strstr(err.msg, "call stack exhausted"));
  /* Still usable afterwards. */
  arg = 1;
  assert_int_equal(kafu_instance_call(inst, "compute", &arg, 1, &res, 1, &err), KAFU_OK);
  assert_int_equal(res, 1);
  ops->instance_free(inst);
  ops->module_free(mod);

  load("(module (func $a (param i64) (result i32) (i32.add (local.get 0) (i32.const 1))))", &err, KAFU_E_INPUT);
  assert_non_null(strstr(err.msg, "app.wasm: function 0 (a): type mismatch"));
  assert_non_null(strstr(err.msg, "in i32.add at offset 0x"));
}

static int host_recurse(void *env, kafu_engine_instance *inst, const kafu_slot *args, kafu_slot *res) {
  (void)args, (void)res;
  int *calls = env;
  (*calls)++;
  kafu_error err = {0};
  return kafu_instance_call(inst, "rec", NULL, 0, NULL, 0, &err) != KAFU_OK;
}

/* wasm -> host -> wasm -> host ... without end: bounded, then a trap. */
static void unbounded_host_reentry(void **state) {
  (void)state;
  kafu_error err = {0};
  kafu_engine_module *mod = load("(module (import \"env\" \"again\" (func $again))\n"
                                 "  (func (export \"rec\") (call $again)))", &err, KAFU_OK);
  int calls = 0;
  kafu_host_import again = imp("again", 0, 0, host_recurse, &calls);
  kafu_engine_instance *inst = NULL;
  assert_int_equal(ops->instantiate(mod, &again, 1, &inst, &err), KAFU_OK);
  assert_int_equal(kafu_instance_call(inst, "rec", NULL, 0, NULL, 0, &err), KAFU_E_TRAP);
  assert_true(calls > 10 && calls < 100000);
  ops->instance_free(inst);
  ops->module_free(mod);
}

/* The configured depth limit becomes a clean trap, not a host crash. */
static void depth_limit_option(void **state) {
  (void)state;
  kafu_engine_options saved = *kafu_engine_get_options(), opts = saved;
  opts.max_call_depth = 50;
  kafu_engine_set_options(&opts);
  kafu_error err = {0};
  kafu_engine_module *mod = load("(module (func $d (export \"d\") (param i32) (result i32)\n"
                                 "  (if (result i32) (local.get 0) (then (i32.add (i32.const 1)\n"
                                 "    (call $d (i32.sub (local.get 0) (i32.const 1))))) (else (i32.const 0)))))",
                                 &err, KAFU_OK);
  kafu_engine_instance *inst = NULL;
  assert_int_equal(ops->instantiate(mod, NULL, 0, &inst, &err), KAFU_OK);
  kafu_slot arg = 40, res;
  assert_int_equal(kafu_instance_call(inst, "d", &arg, 1, &res, 1, &err), KAFU_OK);
  assert_int_equal(res, 40);
  arg = 60;
  assert_int_equal(kafu_instance_call(inst, "d", &arg, 1, &res, 1, &err), KAFU_E_TRAP);
  assert_non_null(strstr(err.msg, "call stack exhausted"));
  ops->instance_free(inst);
  ops->module_free(mod);
  kafu_engine_set_options(&saved);
}

/* ---- allocation failure injection ---- */

static long g_allocs_left;
static void *failing_alloc(void *ud, void *ptr, size_t old_size, size_t new_size) {
  (void)ud, (void)old_size;
  if (new_size == 0) {
    free(ptr);
    return NULL;
  }
  if (g_allocs_left-- <= 0) return NULL;
  return realloc(ptr, new_size);
}

static void allocation_failures(void **state) {
  (void)state;
  size_t len;
  uint8_t *bytes = wat("(module (memory 1) (table 2 funcref) (global (mut i32) (i32.const 1))\n"
                       "  (func (export \"f\") (param i32) (result i32)\n"
                       "    (block (result i32) (loop (result i32) (i32.add (local.get 0) (i32.const 1))))))",
                       &len);
  bool succeeded = false;
  for (long budget = 0; budget < 200 && !succeeded; budget++) {
    g_allocs_left = budget;
    kafu_interp_set_allocator(failing_alloc, NULL);
    kafu_engine_module *mod = NULL;
    kafu_engine_instance *inst = NULL;
    kafu_error err = {0};
    kafu_err rc = ops->load(bytes, len, "app.wasm", &mod, &err);
    if (rc == KAFU_OK) rc = ops->instantiate(mod, NULL, 0, &inst, &err);
    kafu_interp_set_allocator(NULL, NULL);
    if (rc == KAFU_OK) {
      kafu_slot arg = 1, res = 0;
      assert_int_equal(kafu_instance_call(inst, "f", &arg, 1, &res, 1, &err), KAFU_OK);
      assert_int_equal(res, 2);
      succeeded = true;
    } else {
      assert_int_equal(rc, KAFU_E_NOMEM);
    }
    if (inst) ops->instance_free(inst);
    if (mod) ops->module_free(mod);
  }
  assert_true(succeeded);
  free(bytes);
}

int main(void) {
  ops = kafu_engine_find("interp");
  if (!ops) {
    fprintf(stderr, "interp engine not built\n");
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(host_imports_and_reentry),
      cmocka_unit_test(import_resolution_errors),
      cmocka_unit_test(trap_and_validation_messages),
      cmocka_unit_test(depth_limit_option),
      cmocka_unit_test(unbounded_host_reentry),
      cmocka_unit_test(allocation_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
