/* AOT engine: imports of several signatures, exports, traps of every kind
 * with their messages, re-entrant calls, memory access and growth, deep
 * recursion, two modules in one process, and the object cache. The modules
 * are the .wat files in tests/aot, converted with wat2wasm; compiled objects are cached
 * in the build directory so reruns compile nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/aot/aot_int.h"
#include "engine/engine.h"
#include "util/file.h"

static char g_cache[1024];
static const kafu_engine_ops *g_aot;

static const char *env_or(const char *name, const char *fallback) {
  const char *v = getenv(name);
  return v && *v ? v : fallback;
}

/* Converts tests/aot/<name>.wat to wasm bytes (owned by the caller). */
static uint8_t *wat_bytes(const char *name, size_t *len) {
  char wat[1024], wasm[1024], cmd[3000];
  snprintf(wat, sizeof wat, "%s/tests/aot/%s.wat", env_or("KAFU_SRC", KAFU_SOURCE_DIR), name);
  snprintf(wasm, sizeof wasm, "%s/aot-test-%s-%d.wasm", env_or("KAFU_BUILD", "/tmp"), name,
           (int)getpid());
  snprintf(cmd, sizeof cmd, "wat2wasm --debug-names '%s' -o '%s'", wat, wasm);
  assert_int_equal(system(cmd), 0);
  uint8_t *bytes = NULL;
  kafu_error err;
  assert_int_equal(kafu_file_read(wasm, &bytes, len, &err), KAFU_OK);
  unlink(wasm);
  return bytes;
}

static void use_cache(const char *dir) {
  kafu_engine_options opts = *kafu_engine_get_options();
  opts.cache_dir = dir;
  opts.quiet = 1;
  kafu_engine_set_options(&opts);
}

static kafu_engine_module *load(const char *name) {
  size_t len = 0;
  uint8_t *bytes = wat_bytes(name, &len);
  kafu_engine_module *mod = NULL;
  kafu_error err = {0};
  kafu_err rc = g_aot->load(bytes, len, name, &mod, &err);
  if (rc) fprintf(stderr, "load %s: %s\n", name, err.msg);
  assert_int_equal(rc, KAFU_OK);
  free(bytes);
  return mod;
}

/* ---- host imports ---- */

typedef struct host_env {
  int calls;
  kafu_err inner_rc; /* what the re-entrant call returned */
  char inner_msg[KAFU_ERROR_MAX];
  const char *inner_export; /* export that "reenter" calls */
} host_env;

static double slot_f64(kafu_slot s) {
  double d;
  memcpy(&d, &s, 8);
  return d;
}
static kafu_slot f64_slot(double d) {
  kafu_slot s;
  memcpy(&s, &d, 8);
  return s;
}
static float slot_f32(kafu_slot s) {
  uint32_t u = (uint32_t)s;
  float f;
  memcpy(&f, &u, 4);
  return f;
}
static kafu_slot f32_slot(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

static int host_add3(void *env, kafu_engine_instance *inst, const kafu_slot *a, kafu_slot *r) {
  ((host_env *)env)->calls++;
  r[0] = f64_slot((double)(int32_t)a[0] + (double)(int64_t)a[1] + slot_f64(a[2]));
  return 0;
}
static int host_mulf(void *env, kafu_engine_instance *inst, const kafu_slot *a, kafu_slot *r) {
  ((host_env *)env)->calls++;
  r[0] = f32_slot(slot_f32(a[0]) * slot_f32(a[1]));
  return 0;
}
static int host_get64(void *env, kafu_engine_instance *inst, const kafu_slot *a, kafu_slot *r) {
  ((host_env *)env)->calls++;
  r[0] = 0x123456789abcdef0ull;
  return 0;
}
static int host_fail(void *env, kafu_engine_instance *inst, const kafu_slot *a, kafu_slot *r) {
  ((host_env *)env)->calls++;
  return 1;
}
/* Calls back into the same instance: export inner_export(x, 1) or (x). */
static int host_reenter(void *env, kafu_engine_instance *inst, const kafu_slot *a, kafu_slot *r) {
  host_env *h = env;
  h->calls++;
  kafu_error err = {0};
  kafu_slot args[2] = {a[0], 1}, res[1] = {0};
  size_t n_args = strcmp(h->inner_export, "add") == 0 ? 2
                  : strcmp(h->inner_export, "crash")  ? 1
                                                      : 0;
  size_t n_res = strcmp(h->inner_export, "crash") == 0 ? 0 : 1;
  h->inner_rc = kafu_instance_call(inst, h->inner_export, args, n_args, res, n_res, &err);
  snprintf(h->inner_msg, sizeof h->inner_msg, "%s", h->inner_rc ? err.msg : "");
  r[0] = h->inner_rc ? 0 : (uint32_t)res[0];
  return 0;
}

#define I32 KAFU_I32
#define I64 KAFU_I64
#define F32 KAFU_F32
#define F64 KAFU_F64

static host_env g_env;
static kafu_host_import g_imports[] = {
    {"host", "add3", 3, 1, {I32, I64, F64}, {F64}, host_add3, &g_env},
    {"host", "mulf", 2, 1, {F32, F32}, {F32}, host_mulf, &g_env},
    {"host", "get64", 0, 1, {0}, {I64}, host_get64, &g_env},
    {"host", "fail", 0, 0, {0}, {0}, host_fail, &g_env},
    {"host", "reenter", 1, 1, {I32}, {I32}, host_reenter, &g_env},
};
#define N_IMPORTS (sizeof g_imports / sizeof g_imports[0])

typedef struct fixture {
  kafu_engine_module *mod;
  kafu_engine_instance *inst;
} fixture;

static int setup_basic(void **state) {
  static fixture fx;
  memset(&g_env, 0, sizeof g_env);
  fx.mod = load("basic");
  kafu_error err = {0};
  kafu_err rc = g_aot->instantiate(fx.mod, g_imports, N_IMPORTS, &fx.inst, &err);
  if (rc) fprintf(stderr, "instantiate: %s\n", err.msg);
  assert_int_equal(rc, KAFU_OK);
  *state = &fx;
  return 0;
}

static int teardown_basic(void **state) {
  fixture *fx = *state;
  g_aot->instance_free(fx->inst);
  g_aot->module_free(fx->mod);
  return 0;
}

/* Calls an export expecting success; returns result 0 (or 0 if none). */
static kafu_slot call_ok(kafu_engine_instance *inst, const char *name, size_t n_args, ...) {
  kafu_slot args[8] = {0}, res[1] = {0};
  va_list ap;
  va_start(ap, n_args);
  for (size_t i = 0; i < n_args; i++)
    args[i] = va_arg(ap, kafu_slot);
  va_end(ap);
  kafu_error err = {0};
  size_t n_res = strcmp(name, "store") && strcmp(name, "crash") && strcmp(name, "noargs") ? 1 : 0;
  kafu_err rc = kafu_instance_call(inst, name, args, n_args, res, n_res, &err);
  if (rc) fprintf(stderr, "%s: %s\n", name, err.msg);
  assert_int_equal(rc, KAFU_OK);
  return res[0];
}

/* Calls an export expecting a trap whose message contains `want`. */
static void call_trap(kafu_engine_instance *inst, const char *name, size_t n_args,
                      const kafu_slot *args, size_t n_res, const char *want) {
  kafu_slot res[1] = {0};
  kafu_error err = {0};
  kafu_err rc = kafu_instance_call(inst, name, args, n_args, res, n_res, &err);
  assert_int_equal(rc, KAFU_E_TRAP);
  if (getenv("AOT_TEST_VERBOSE")) fprintf(stderr, "%s -> %s\n", name, err.msg);
  if (!strstr(err.msg, want)) fprintf(stderr, "message '%s' lacks '%s'\n", err.msg, want);
  assert_non_null(strstr(err.msg, want));
}

/* ---- tests ---- */

static void test_exports_and_types(void **state) {
  fixture *fx = *state;
  assert_int_equal(call_ok(fx->inst, "add", 2, (kafu_slot)40, (kafu_slot)2), 42);
  assert_int_equal((uint32_t)call_ok(fx->inst, "add", 2, (kafu_slot)0xffffffffu, (kafu_slot)2), 1);
  double mixed =
      slot_f64(call_ok(fx->inst, "mix", 4, (kafu_slot)(uint32_t)-3,
                       (kafu_slot)(uint64_t)10000000000ll, f32_slot(0.25f), f64_slot(1.5)));
  assert_true(mixed == 10000000000.0 - 3 + 0.25 + 1.5);
  assert_int_equal(call_ok(fx->inst, "neg64", 1, (kafu_slot)5), (kafu_slot)-5ll);
  assert_true(slot_f32(call_ok(fx->inst, "halff", 1, f32_slot(3.0f))) == 1.5f);
  call_ok(fx->inst, "noargs", 0);
  assert_int_equal(call_ok(fx->inst, "bump", 0), 1);
  assert_int_equal(call_ok(fx->inst, "bump", 0), 2);
  assert_true(g_aot->has_export(fx->inst, "mix"));
  assert_false(g_aot->has_export(fx->inst, "nope"));
  assert_false(g_aot->has_export(fx->inst, "memory")); /* not a function */
}

static void test_bad_calls(void **state) {
  fixture *fx = *state;
  kafu_slot args[2] = {1, 2}, res[1];
  kafu_error err = {0};
  assert_int_equal(kafu_instance_call(fx->inst, "nope", args, 0, res, 0, &err), KAFU_E_INPUT);
  assert_non_null(strstr(err.msg, "nope"));
  assert_int_equal(kafu_instance_call(fx->inst, "add", args, 1, res, 1, &err), KAFU_E_INPUT);
  assert_int_equal(kafu_instance_call(fx->inst, "add", args, 2, res, 0, &err), KAFU_E_INPUT);
}

static void test_host_imports(void **state) {
  fixture *fx = *state;
  double sum = slot_f64(call_ok(fx->inst, "call_add3", 3, (kafu_slot)(uint32_t)-7,
                                (kafu_slot)(uint64_t)-100000000000ll, f64_slot(0.5)));
  assert_true(sum == -7.0 - 100000000000.0 + 0.5);
  assert_true(slot_f32(call_ok(fx->inst, "call_mulf", 2, f32_slot(1.5f), f32_slot(-4.0f))) ==
              -6.0f);
  assert_int_equal(call_ok(fx->inst, "call_get64", 0), 0x123456789abcdef0ull);
  assert_int_equal(g_env.calls, 3);
}

static void test_host_failure_traps(void **state) {
  fixture *fx = *state;
  call_trap(fx->inst, "call_fail", 0, NULL, 1, "host.fail");
  /* The instance stays usable. */
  assert_int_equal(call_ok(fx->inst, "add", 2, (kafu_slot)1, (kafu_slot)2), 3);
}

static void test_trap_kinds(void **state) {
  fixture *fx = *state;
  kafu_slot a[2];
  a[0] = 1, a[1] = 0;
  call_trap(fx->inst, "div_s", 2, a, 1, "integer divide by zero");
  call_trap(fx->inst, "div_s", 2, a, 1, "div_s"); /* names the function */
  /* An inner function, inlined by the C compiler, is still named. */
  call_trap(fx->inst, "outer_div", 2, a, 1,
            "integer divide by zero in function inner_div (called through export outer_div)");
  a[0] = 0x80000000u, a[1] = 0xffffffffu;
  call_trap(fx->inst, "div_s", 2, a, 1, "integer overflow");
  call_trap(fx->inst, "crash", 0, a, 0, "unreachable");
  a[0] = 65534;
  call_trap(fx->inst, "load", 1, a, 1, "out of bounds");
  a[0] = f64_slot(0.0 / 0.0);
  call_trap(fx->inst, "trunc", 1, a, 1, "invalid conversion");
  a[0] = f64_slot(1e12);
  call_trap(fx->inst, "trunc", 1, a, 1, "integer overflow");
  a[0] = 1, a[1] = 7; /* table slot 1 holds $add: wrong type */
  call_trap(fx->inst, "call_ind", 2, a, 1, "indirect call");
  a[0] = 2; /* null slot */
  call_trap(fx->inst, "call_ind", 2, a, 1, "indirect call");
  a[0] = 9; /* past the table */
  call_trap(fx->inst, "call_ind", 2, a, 1, "indirect call");
  a[0] = 0, a[1] = 7;
  assert_int_equal(call_ok(fx->inst, "call_ind", 2, (kafu_slot)0, (kafu_slot)7), 49);
}

static void test_reentrant_calls(void **state) {
  fixture *fx = *state;
  g_env.inner_export = "add";
  assert_int_equal(call_ok(fx->inst, "outer", 1, (kafu_slot)41), 1042);
  assert_int_equal(g_env.inner_rc, KAFU_OK);
  /* A trap inside the nested call is reported to the host only... */
  g_env.inner_export = "crash";
  assert_int_equal(call_ok(fx->inst, "outer", 1, (kafu_slot)5), 1000);
  assert_int_equal(g_env.inner_rc, KAFU_E_TRAP);
  assert_non_null(strstr(g_env.inner_msg, "unreachable"));
  /* ...and the outer level still catches its own traps afterwards. */
  call_trap(fx->inst, "crash", 0, NULL, 0, "unreachable");
  g_env.inner_export = "rec";
  assert_int_equal(call_ok(fx->inst, "outer", 1, (kafu_slot)3000), 4000);
}

static void test_memory(void **state) {
  fixture *fx = *state;
  size_t size = 0;
  uint8_t *mem = kafu_instance_memory(fx->inst, &size);
  assert_non_null(mem);
  assert_int_equal(size, 65536);
  assert_memory_equal(mem + 16, "kafu", 4); /* data segment applied */
  uint32_t v = 0xdeadbeef;
  memcpy(mem + 100, &v, 4);
  assert_int_equal(call_ok(fx->inst, "load", 1, (kafu_slot)100), 0xdeadbeef);
  call_ok(fx->inst, "store", 2, (kafu_slot)200, (kafu_slot)0x01020304);
  mem = kafu_instance_memory(fx->inst, &size);
  assert_int_equal(mem[200], 4);

  /* Grow from the host, then from Wasm; the maximum is 4 pages. */
  uint32_t old = 0;
  kafu_error err = {0};
  assert_int_equal(g_aot->memory_grow(fx->inst, 1, &old, &err), KAFU_OK);
  assert_int_equal(old, 1);
  mem = kafu_instance_memory(fx->inst, &size);
  assert_int_equal(size, 2 * 65536);
  assert_int_equal(mem[65536 + 5], 0);
  assert_int_equal(call_ok(fx->inst, "grow", 1, (kafu_slot)1), 2);
  assert_int_equal(call_ok(fx->inst, "size", 0), 3);
  call_ok(fx->inst, "store", 2, (kafu_slot)(3 * 65536 - 4), (kafu_slot)7);
  mem = kafu_instance_memory(fx->inst, &size);
  assert_int_equal(mem[3 * 65536 - 4], 7);
  assert_int_equal(mem + 16 == NULL, 0);
  assert_memory_equal(mem + 16, "kafu", 4); /* contents survive growth */
  assert_int_equal(g_aot->memory_grow(fx->inst, 2, &old, &err), KAFU_E_LIMIT);
  assert_int_equal((uint32_t)call_ok(fx->inst, "grow", 1, (kafu_slot)2), 0xffffffffu);
  assert_int_equal(call_ok(fx->inst, "size", 0), 3);
}

static void test_deep_recursion(void **state) {
  fixture *fx = *state;
  assert_int_equal(call_ok(fx->inst, "rec", 1, (kafu_slot)10000), 10000);
  kafu_slot a[1] = {50000000};
  call_trap(fx->inst, "rec", 1, a, 1, "call stack exhausted");
  /* The depth bookkeeping is restored after the trap. */
  assert_int_equal(call_ok(fx->inst, "rec", 1, (kafu_slot)10000), 10000);

  kafu_engine_options saved = *kafu_engine_get_options(), small = saved;
  small.max_call_depth = 100;
  kafu_engine_set_options(&small);
  a[0] = 200;
  call_trap(fx->inst, "rec", 1, a, 1, "call stack exhausted");
  assert_int_equal(call_ok(fx->inst, "rec", 1, (kafu_slot)50), 50);
  kafu_engine_set_options(&saved);
}

static void *small_stack_main(void *arg) {
  kafu_engine_instance *inst = arg;
  kafu_slot a[1] = {50000000}, r[1] = {0};
  kafu_error err = {0};
  static int ok;
  ok = kafu_instance_call(inst, "rec", a, 1, r, 1, &err) == KAFU_E_TRAP &&
       strstr(err.msg, "call stack exhausted") != NULL;
  a[0] = 500;
  ok = ok && kafu_instance_call(inst, "rec", a, 1, r, 1, &err) == KAFU_OK && r[0] == 500;
  return &ok;
}

/* On a thread with a small stack the C stack floor, not the depth limit,
 * stops the recursion: still a clean trap. */
static void test_small_thread_stack(void **state) {
  fixture *fx = *state;
  pthread_attr_t attr;
  pthread_t thread;
  void *result = NULL;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 512 * 1024);
  assert_int_equal(pthread_create(&thread, &attr, small_stack_main, fx->inst), 0);
  pthread_attr_destroy(&attr);
  pthread_join(thread, &result);
  assert_true(*(int *)result);
}

/* Virtual size of this process in KiB (/proc/self/status VmSize). */
static long vm_size_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "VmSize:", 7)) kib = strtol(line + 7, NULL, 10);
  if (f) fclose(f);
  return kib;
}

/* Creating and freeing many instances (a migration does one each time) must
 * give back all memory (with guard pages: each whole 8 GiB reservation). */
static void test_instance_churn(void **state) {
  fixture *fx = *state;
  long before = vm_size_kib();
  for (int i = 0; i < 300; i++) {
    kafu_engine_instance *inst = NULL;
    kafu_error err = {0};
    assert_int_equal(g_aot->instantiate(fx->mod, g_imports, N_IMPORTS, &inst, &err), KAFU_OK);
    call_ok(inst, "store", 2, (kafu_slot)64, (kafu_slot)i);
    g_aot->instance_free(inst);
  }
  long grown_kib = vm_size_kib() - before;
  assert_true(before > 0);
  assert_true(grown_kib < 1024 * 1024); /* far below 300 x 8 GiB */
}

static void test_instances_are_separate(void **state) {
  fixture *fx = *state;
  kafu_engine_instance *second = NULL;
  kafu_error err = {0};
  assert_int_equal(g_aot->instantiate(fx->mod, g_imports, N_IMPORTS, &second, &err), KAFU_OK);
  call_ok(fx->inst, "store", 2, (kafu_slot)300, (kafu_slot)11);
  call_ok(second, "store", 2, (kafu_slot)300, (kafu_slot)22);
  assert_int_equal(call_ok(fx->inst, "load", 1, (kafu_slot)300), 11);
  assert_int_equal(call_ok(second, "load", 1, (kafu_slot)300), 22);
  g_aot->instance_free(second);
}

static void test_two_modules(void **state) {
  fixture *fx = *state;
  kafu_engine_module *other = load("other");
  kafu_engine_instance *oi = NULL;
  kafu_error err = {0};
  assert_int_equal(g_aot->instantiate(other, NULL, 0, &oi, &err), KAFU_OK);
  assert_int_equal(call_ok(oi, "add", 2, (kafu_slot)10, (kafu_slot)3), 7);
  assert_int_equal(call_ok(fx->inst, "add", 2, (kafu_slot)10, (kafu_slot)3), 13);
  call_trap(oi, "crash", 0, NULL, 0, "unreachable");
  assert_int_equal(call_ok(fx->inst, "add", 2, (kafu_slot)1, (kafu_slot)1), 2);
  call_trap(fx->inst, "crash", 0, NULL, 0, "unreachable");
  assert_int_equal(call_ok(oi, "add", 2, (kafu_slot)1, (kafu_slot)1), 0);
  g_aot->instance_free(oi);
  g_aot->module_free(other);
}

static void test_import_errors(void **state) {
  fixture *fx = *state;
  kafu_engine_instance *inst = NULL;
  kafu_error err = {0};
  assert_int_equal(g_aot->instantiate(fx->mod, g_imports, N_IMPORTS - 1, &inst, &err),
                   KAFU_E_INPUT);
  assert_non_null(strstr(err.msg, "unknown import host.reenter"));
  kafu_host_import wrong[N_IMPORTS];
  memcpy(wrong, g_imports, sizeof wrong);
  wrong[1].params[1] = KAFU_F64;
  assert_int_equal(g_aot->instantiate(fx->mod, wrong, N_IMPORTS, &inst, &err), KAFU_E_INPUT);
  assert_non_null(strstr(err.msg, "host.mulf"));
}

static int host_peek(void *env, kafu_engine_instance *inst, const kafu_slot *a, kafu_slot *r) {
  size_t size = 0;
  uint8_t *mem = kafu_instance_memory(inst, &size);
  r[0] = mem && a[0] < size ? mem[a[0]] : 0xffff;
  return 0;
}

static void test_start_function_and_instantiation_traps(void **state) {
  kafu_host_import peek = {"host", "peek", 1, 1, {I32}, {I32}, host_peek, NULL};
  kafu_engine_module *mod = load("start");
  kafu_engine_instance *inst = NULL;
  kafu_error err = {0};
  assert_int_equal(g_aot->instantiate(mod, &peek, 1, &inst, &err), KAFU_OK);
  assert_int_equal(call_ok(inst, "seen", 0), 42);
  g_aot->instance_free(inst);
  g_aot->module_free(mod);

  mod = load("oob_data");
  inst = NULL;
  assert_int_equal(g_aot->instantiate(mod, NULL, 0, &inst, &err), KAFU_E_TRAP);
  assert_null(inst);
  assert_non_null(strstr(err.msg, "out of bounds"));
  g_aot->module_free(mod);
}

static void test_bounds(void **state) {
  kafu_engine_module *mod = load("bounds");
  kafu_engine_instance *inst = NULL;
  kafu_error err = {0};
  assert_int_equal(g_aot->instantiate(mod, NULL, 0, &inst, &err), KAFU_OK);
  size_t size = 0;
  uint8_t *mem = kafu_instance_memory(inst, &size); /* unexported, still reachable */
  assert_non_null(mem);
  assert_int_equal(size, 65536);
  kafu_slot a[2] = {0xffffffffu, 0};
  call_trap(inst, "load_far", 1, a, 1, "out of bounds"); /* 8 GiB - 17 past the base */
  a[0] = 65536;
  call_trap(inst, "load8", 1, a, 1, "out of bounds");
  a[0] = 65530; /* straddles the end */
  call_trap(inst, "load64", 1, a, 1, "out of bounds");
  assert_int_equal(call_ok(inst, "load8", 1, (kafu_slot)65535), 0);
  assert_int_equal(call_ok(inst, "grow", 1, (kafu_slot)1), 1);
  assert_int_equal(call_ok(inst, "load8", 1, (kafu_slot)65536), 0); /* now in bounds */
  a[0] = 2 * 65536, a[1] = 1;
  call_trap(inst, "store8", 2, a, 0, "out of bounds");
  uint8_t *after = kafu_instance_memory(inst, &size);
  const char *bounds = getenv("KAFU_AOT_BOUNDS");
  if (bounds && !strcmp(bounds, "guard")) assert_ptr_equal(mem, after); /* fixed base */
  assert_int_equal(size, 2 * 65536);
  g_aot->instance_free(inst);
  g_aot->module_free(mod);

  mod = load("start_oob");
  assert_int_equal(g_aot->instantiate(mod, NULL, 0, &inst, &err), KAFU_E_TRAP);
  assert_non_null(strstr(err.msg, "out of bounds"));
  g_aot->module_free(mod);
}

static int host_crash(void *env, kafu_engine_instance *inst, const kafu_slot *a, kafu_slot *r) {
  *(volatile int *)(uintptr_t)a[0] = 1; /* a host bug, not a Wasm trap */
  return 0;
}

/* A fault in host code during an AOT call is not mistaken for a trap: the
 * process dies as it would without the engine (or ASan reports it). */
static void test_host_fault_is_not_a_trap(void **state) {
  fixture *fx = *state;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    signal(SIGSEGV, SIG_DFL); /* not cmocka's handler: it would resume testing here */
    kafu_host_import imports[N_IMPORTS];
    memcpy(imports, g_imports, sizeof imports);
    imports[0].fn = host_crash; /* host.add3 */
    kafu_engine_instance *inst = NULL;
    kafu_error err = {0};
    if (g_aot->instantiate(fx->mod, imports, N_IMPORTS, &inst, &err)) _exit(3);
    size_t size = 0;
    uint8_t *mem = kafu_instance_memory(inst, &size);
    /* Even an address inside the instance's own memory reservation. */
    kafu_slot args[3] = {(kafu_slot)(uintptr_t)(mem + size + 4096), 0, 0}, res[1];
    kafu_instance_call(inst, "call_add3", args, 3, res, 1, &err);
    _exit(0); /* reached only if the fault was swallowed */
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  int died_of_segv = WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV;
  int asan_report = WIFEXITED(status) && WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 3;
  assert_true(died_of_segv || asan_report);
}

static int host_plus100(void *env, kafu_engine_instance *inst, const kafu_slot *a, kafu_slot *r) {
  r[0] = (uint32_t)a[0] + 100;
  return 0;
}
static int host_seven(void *env, kafu_engine_instance *inst, const kafu_slot *a, kafu_slot *r) {
  r[0] = 7;
  return 0;
}

static void test_mangled_names(void **state) {
  kafu_host_import imports[] = {
      {"my-mod.x", "Z_weird name", 1, 1, {I32}, {I32}, host_plus100, NULL},
      {"\xc3\xa9t\xc3\xa9", "Zz", 0, 1, {0}, {I32}, host_seven, NULL},
  };
  kafu_engine_module *mod = load("names");
  kafu_engine_instance *inst = NULL;
  kafu_error err = {0};
  assert_int_equal(g_aot->instantiate(mod, imports, 2, &inst, &err), KAFU_OK);
  assert_int_equal(call_ok(inst, "Z weird.ex/\xc3\xa9", 1, (kafu_slot)5), 105);
  assert_int_equal(call_ok(inst, "q\"b\\c", 0), 7);
  g_aot->instance_free(inst);
  g_aot->module_free(mod);
}

static void test_bad_module(void **state) {
  static const uint8_t junk[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 0x01, 0x05, 0xff};
  kafu_engine_module *mod = NULL;
  kafu_error err = {0};
  assert_int_equal(g_aot->load(junk, sizeof junk, "junk.wasm", &mod, &err), KAFU_E_INPUT);
  assert_non_null(strstr(err.msg, "junk.wasm"));

  /* Well-formed but invalid code (i32.add with one operand): wasm2c's
   * verdict, reported against the label rather than a temporary file. */
  static const uint8_t invalid[] = {
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,       /* header */
      0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f,             /* type () -> i32 */
      0x03, 0x02, 0x01, 0x00,                               /* func 0: type 0 */
      0x07, 0x05, 0x01, 0x01, 'f',  0x00, 0x00,             /* export "f" */
      0x0a, 0x07, 0x01, 0x05, 0x00, 0x41, 0x01, 0x6a, 0x0b, /* i32.const 1; i32.add */
  };
  mod = NULL;
  kafu_err rc = g_aot->load(invalid, sizeof invalid, "invalid.wasm", &mod, &err);
  assert_int_equal(rc, KAFU_E_INPUT);
  assert_null(mod);
  if (getenv("AOT_TEST_VERBOSE")) fprintf(stderr, "invalid -> %s\n", err.msg);
  assert_non_null(strstr(err.msg, "invalid.wasm: "));
  assert_null(strstr(err.msg, "tmp-"));
}

/* A second load of the same module is a cache hit; a corrupt object is
 * detected by its checksum and rebuilt. Uses a private cache directory. */
static void test_cache_hit_and_corruption(void **state) {
  char dir[1200], cmd[1400];
  snprintf(dir, sizeof dir, "%s/aot-test-fresh-%d", env_or("KAFU_BUILD", "/tmp"), (int)getpid());
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
  use_cache(dir);

  unsigned before = kafu_aot_compile_count();
  kafu_engine_module *mod = load("other");
  assert_int_equal(kafu_aot_compile_count(), before + 1);
  g_aot->module_free(mod);
  mod = load("other");
  assert_int_equal(kafu_aot_compile_count(), before + 1); /* hit: no compile */
  g_aot->module_free(mod);

  /* Corrupt the cached object: truncate it to a few bytes of garbage. */
  snprintf(cmd, sizeof cmd, "for f in '%s'/aot/*.so; do printf garbage > \"$f\"; done", dir);
  assert_int_equal(system(cmd), 0);
  mod = load("other");
  assert_int_equal(kafu_aot_compile_count(), before + 2);
  kafu_engine_instance *inst = NULL;
  kafu_error err = {0};
  assert_int_equal(g_aot->instantiate(mod, NULL, 0, &inst, &err), KAFU_OK);
  assert_int_equal(call_ok(inst, "add", 2, (kafu_slot)5, (kafu_slot)3), 2);
  g_aot->instance_free(inst);
  g_aot->module_free(mod);

  /* A missing checksum file also forces a rebuild. */
  snprintf(cmd, sizeof cmd, "rm -f '%s'/aot/*.sha256", dir);
  assert_int_equal(system(cmd), 0);
  mod = load("other");
  assert_int_equal(kafu_aot_compile_count(), before + 3);
  g_aot->module_free(mod);
  mod = load("other");
  assert_int_equal(kafu_aot_compile_count(), before + 3);
  g_aot->module_free(mod);

  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
  use_cache(g_cache);
}

/* ---- Asyncify: unwind from inside an import, migrate, rewind ---- */

#define ASYNCIFY_DATA 1024u

typedef struct sleeper {
  int rewinding, unwound, n_unwinds;
} sleeper;

static int host_sleep(void *env, kafu_engine_instance *inst, const kafu_slot *a, kafu_slot *r) {
  sleeper *s = env;
  kafu_error err = {0};
  if (s->rewinding) {
    s->rewinding = 0;
    return kafu_instance_call(inst, "asyncify_stop_rewind", NULL, 0, NULL, 0, &err) != KAFU_OK;
  }
  if ((uint32_t)a[0] % 3 != 1) return 0;
  size_t size = 0;
  uint8_t *mem = kafu_instance_memory(inst, &size);
  uint32_t header[2] = {ASYNCIFY_DATA + 8, ASYNCIFY_DATA + 4096};
  memcpy(mem + ASYNCIFY_DATA, header, sizeof header);
  kafu_slot arg = ASYNCIFY_DATA;
  s->unwound = 1;
  s->n_unwinds++;
  return kafu_instance_call(inst, "asyncify_start_unwind", &arg, 1, NULL, 0, &err) != KAFU_OK;
}

/* run(10) is unwound at every i % 3 == 1 and resumed each time in a fresh
 * instance holding a copy of the memory: the pattern of a migration. */
static void test_asyncify_migration(void **state) {
  char wat[1200], wasm[1200], cmd[8000];
  const char *build = env_or("KAFU_BUILD", "/tmp");
  snprintf(wat, sizeof wat, "%s/tests/aot/sleepy.wat", env_or("KAFU_SRC", KAFU_SOURCE_DIR));
  snprintf(wasm, sizeof wasm, "%s/aot-test-sleepy-%d.wasm", build, (int)getpid());
  snprintf(cmd, sizeof cmd,
           "wat2wasm '%s' -o '%s.plain' && wasm-opt '%s.plain' --asyncify "
           "--pass-arg=asyncify-imports@host.sleep -o '%s' && rm -f '%s.plain'",
           wat, wasm, wasm, wasm, wasm);
  if (system(cmd) != 0) skip(); /* no wasm-opt (binaryen) */
  uint8_t *bytes = NULL;
  size_t len = 0;
  kafu_error err = {0};
  assert_int_equal(kafu_file_read(wasm, &bytes, &len, &err), KAFU_OK);
  unlink(wasm);
  kafu_engine_module *mod = NULL;
  assert_int_equal(g_aot->load(bytes, len, "sleepy", &mod, &err), KAFU_OK);

  sleeper s = {0};
  kafu_host_import sleep_import = {"host", "sleep", 1, 0, {I32}, {0}, host_sleep, &s};
  kafu_engine_instance *inst = NULL;
  assert_int_equal(g_aot->instantiate(mod, &sleep_import, 1, &inst, &err), KAFU_OK);
  kafu_slot n = 10, result = 0;
  assert_int_equal(kafu_instance_call(inst, "run", &n, 1, &result, 1, &err), KAFU_OK);
  while (s.unwound) {
    s.unwound = 0;
    assert_int_equal(kafu_instance_call(inst, "asyncify_stop_unwind", NULL, 0, NULL, 0, &err),
                     KAFU_OK);
    size_t size = 0;
    uint8_t *mem = kafu_instance_memory(inst, &size);
    uint8_t *copy = malloc(size);
    memcpy(copy, mem, size);
    g_aot->instance_free(inst);
    assert_int_equal(g_aot->instantiate(mod, &sleep_import, 1, &inst, &err), KAFU_OK);
    mem = kafu_instance_memory(inst, &size);
    memcpy(mem, copy, size);
    free(copy);
    kafu_slot arg = ASYNCIFY_DATA;
    assert_int_equal(kafu_instance_call(inst, "asyncify_start_rewind", &arg, 1, NULL, 0, &err),
                     KAFU_OK);
    s.rewinding = 1;
    assert_int_equal(kafu_instance_call(inst, "run", &n, 1, &result, 1, &err), KAFU_OK);
  }
  assert_int_equal(s.n_unwinds, 3); /* i = 1, 4, 7 */
  assert_int_equal(result, 285);    /* sum of i*i for i < 10 */
  g_aot->instance_free(inst);
  g_aot->module_free(mod);
  free(bytes);
}

/* ---- threads: instances of one module run concurrently ---- */

typedef struct worker {
  kafu_engine_module *mod;
  int id, failures;
  host_env env;
  kafu_host_import imports[N_IMPORTS];
} worker;

static void *worker_main(void *arg) {
  worker *w = arg;
  kafu_engine_instance *inst = NULL;
  kafu_error err = {0};
  memcpy(w->imports, g_imports, sizeof w->imports);
  for (size_t i = 0; i < N_IMPORTS; i++)
    w->imports[i].env = &w->env;
  w->env.inner_export = "add";
  if (g_aot->instantiate(w->mod, w->imports, N_IMPORTS, &inst, &err)) {
    w->failures++;
    return NULL;
  }
  for (int round = 0; round < 300; round++) {
    kafu_slot a[2] = {(kafu_slot)(1000 + w->id * 7 + round % 5), 0}, r[1] = {0};
    if (kafu_instance_call(inst, "rec", a, 1, r, 1, &err) || r[0] != a[0]) w->failures++;
    a[0] = 7, a[1] = 0;
    if (kafu_instance_call(inst, "div_s", a, 2, r, 1, &err) != KAFU_E_TRAP ||
        !strstr(err.msg, "divide by zero"))
      w->failures++;
    a[0] = 70000;
    if (kafu_instance_call(inst, "load", a, 1, r, 1, &err) != KAFU_E_TRAP ||
        !strstr(err.msg, "out of bounds"))
      w->failures++;
    a[0] = (kafu_slot)(w->id * 100 + round);
    if (kafu_instance_call(inst, "outer", a, 1, r, 1, &err) || r[0] != a[0] + 1 + 1000)
      w->failures++;
    a[0] = 512, a[1] = (kafu_slot)(w->id * 1000 + round);
    if (kafu_instance_call(inst, "store", a, 2, r, 0, &err)) w->failures++;
    a[0] = 512;
    if (kafu_instance_call(inst, "load", a, 1, r, 1, &err) ||
        r[0] != (kafu_slot)(w->id * 1000 + round))
      w->failures++;
  }
  g_aot->instance_free(inst);
  return NULL;
}

static void test_threads(void **state) {
  fixture *fx = *state;
  enum { N_THREADS = 4 };
  static worker workers[N_THREADS];
  pthread_t threads[N_THREADS];
  for (int i = 0; i < N_THREADS; i++) {
    memset(&workers[i], 0, sizeof workers[i]);
    workers[i].mod = fx->mod;
    workers[i].id = i;
    assert_int_equal(pthread_create(&threads[i], NULL, worker_main, &workers[i]), 0);
  }
  for (int i = 0; i < N_THREADS; i++) {
    pthread_join(threads[i], NULL);
    assert_int_equal(workers[i].failures, 0);
    assert_int_equal(workers[i].env.calls, 300); /* one re-entrant host call per round */
  }
}

/* Several processes building the same module into an empty cache at once
 * all succeed, and leave one valid entry behind. */
static void test_concurrent_builds(void **state) {
  char dir[1200], cmd[1400];
  snprintf(dir, sizeof dir, "%s/aot-test-race-%d", env_or("KAFU_BUILD", "/tmp"), (int)getpid());
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
  use_cache(dir);
  size_t len = 0;
  uint8_t *bytes = wat_bytes("other", &len);
  enum { N_CHILDREN = 3 };
  pid_t pids[N_CHILDREN];
  for (int i = 0; i < N_CHILDREN; i++) {
    pids[i] = fork();
    assert_true(pids[i] >= 0);
    if (pids[i] == 0) {
      kafu_engine_module *mod = NULL;
      kafu_engine_instance *inst = NULL;
      kafu_error err = {0};
      kafu_slot args[2] = {9, 4}, res[1] = {0};
      int ok = g_aot->load(bytes, len, "other", &mod, &err) == KAFU_OK &&
               g_aot->instantiate(mod, NULL, 0, &inst, &err) == KAFU_OK &&
               kafu_instance_call(inst, "add", args, 2, res, 1, &err) == KAFU_OK && res[0] == 5;
      if (!ok) fprintf(stderr, "child %d: %s\n", i, err.msg);
      _exit(ok ? 0 : 1);
    }
  }
  for (int i = 0; i < N_CHILDREN; i++) {
    int status = 0;
    assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
  }
  unsigned before = kafu_aot_compile_count();
  kafu_engine_module *mod = NULL;
  kafu_error err = {0};
  assert_int_equal(g_aot->load(bytes, len, "other", &mod, &err), KAFU_OK);
  assert_int_equal(kafu_aot_compile_count(), before); /* the published entry verifies */
  g_aot->module_free(mod);
  free(bytes);
  snprintf(cmd, sizeof cmd, "ls -d '%s'/aot/tmp-* 2>/dev/null | wc -l | grep -qx 0", dir);
  assert_int_equal(system(cmd), 0); /* no build directories left behind */
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
  use_cache(g_cache);
}

#ifndef AOT_TEST_SETUP
#define AOT_TEST_SETUP() /* aot_guard_test.c runs this file with guard pages */
#endif

int main(void) {
  AOT_TEST_SETUP();
  g_aot = kafu_engine_find("aot");
  if (!g_aot) {
    fprintf(stderr, "aot engine not built\n");
    return 1;
  }
  snprintf(g_cache, sizeof g_cache, "%s/aot-test-cache", env_or("KAFU_BUILD", "/tmp"));
  use_cache(g_cache);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_exports_and_types, setup_basic, teardown_basic),
      cmocka_unit_test_setup_teardown(test_bad_calls, setup_basic, teardown_basic),
      cmocka_unit_test_setup_teardown(test_host_imports, setup_basic, teardown_basic),
      cmocka_unit_test_setup_teardown(test_host_failure_traps, setup_basic, teardown_basic),
      cmocka_unit_test_setup_teardown(test_trap_kinds, setup_basic, teardown_basic),
      cmocka_unit_test_setup_teardown(test_reentrant_calls, setup_basic, teardown_basic),
      cmocka_unit_test_setup_teardown(test_memory, setup_basic, teardown_basic),
      cmocka_unit_test_setup_teardown(test_deep_recursion, setup_basic, teardown_basic),
      cmocka_unit_test_setup_teardown(test_small_thread_stack, setup_basic, teardown_basic),
      cmocka_unit_test_setup_teardown(test_instances_are_separate, setup_basic, teardown_basic),
      cmocka_unit_test_setup_teardown(test_instance_churn, setup_basic, teardown_basic),
      cmocka_unit_test_setup_teardown(test_two_modules, setup_basic, teardown_basic),
      cmocka_unit_test_setup_teardown(test_import_errors, setup_basic, teardown_basic),
      cmocka_unit_test(test_start_function_and_instantiation_traps),
      cmocka_unit_test(test_asyncify_migration),
      cmocka_unit_test_setup_teardown(test_threads, setup_basic, teardown_basic),
      cmocka_unit_test(test_bounds),
      cmocka_unit_test_setup_teardown(test_host_fault_is_not_a_trap, setup_basic, teardown_basic),
      cmocka_unit_test(test_mangled_names),
      cmocka_unit_test(test_bad_module),
      cmocka_unit_test(test_cache_hit_and_corruption),
      cmocka_unit_test(test_concurrent_builds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
