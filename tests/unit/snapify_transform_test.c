/* snapify end to end on real modules: C programs built with clang and WAT
 * fixtures (tests/snapify/). Pins the kafu section it writes (golden sites
 * and instrumented sets), what it adds to the module, determinism, that every
 * output passes wasm-validate, and the refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <binaryen-c.h>
#include <cmocka.h>

#include "snapify/internal.h"
#include "snapify/meta.h"
#include "snapify/snapify.h"
#include "util/file.h"

static char tmpdir[] = "/tmp/kafu-snapify-test-XXXXXX";

static const char *src_dir(void) {
  const char *s = getenv("KAFU_SRC");
  return s && s[0] ? s : "..";
}

static void run(const char *cmd) {
  int rc = system(cmd);
  if (rc != 0) fail_msg("command failed (%d): %s", rc, cmd);
}

/* Builds tests/snapify/progs/NAME.c into tmpdir/NAME.wasm, keeping names. */
static void build_c(const char *name, char *path, size_t cap) {
  char cmd[2048];
  snprintf(path, cap, "%s/%s.wasm", tmpdir, name);
  snprintf(cmd, sizeof cmd,
           "clang --target=wasm32-wasi --sysroot=/usr -O2 -c %s/tests/snapify/progs/%s.c -o "
           "%s/%s.o && clang --target=wasm32-wasi --sysroot=/usr %s/%s.o -o %s",
           src_dir(), name, tmpdir, name, tmpdir, name, path);
  run(cmd);
}

static void build_wat(const char *name, char *path, size_t cap) {
  char cmd[2048];
  snprintf(path, cap, "%s/%s.wasm", tmpdir, name);
  snprintf(cmd, sizeof cmd, "wat2wasm --debug-names %s/tests/snapify/wat/%s.wat -o %s", src_dir(),
           name, path);
  run(cmd);
}

typedef struct {
  uint8_t *bytes;
  size_t len;
} blob;

static blob load(const char *path) {
  blob b = {0};
  kafu_error err = {0};
  if (kafu_file_read(path, &b.bytes, &b.len, &err) != KAFU_OK) fail_msg("%s", err.msg);
  return b;
}

/* Builds tests/snapify/wat/NAME.wat (or progs/NAME.c) and loads it. */
static blob load_wat(const char *name) {
  char path[512];
  build_wat(name, path, sizeof path);
  return load(path);
}

static blob load_c(const char *name) {
  char path[512];
  build_c(name, path, sizeof path);
  return load(path);
}

static kafu_err snap(const blob *in, const char *label, const kafu_snapify_annotation *extra,
                     size_t n_extra, kafu_snapify_policy policy, kafu_buf *out, kafu_error *err) {
  kafu_snapify_options opts = {
      .policy = policy, .extra = extra, .n_extra = n_extra, .label = label};
  memset(out, 0, sizeof *out);
  return kafu_snapify(in->bytes, in->len, &opts, out, err);
}

static kafu_meta meta_of(const kafu_buf *out) {
  kafu_meta m = {0};
  bool found = false;
  kafu_error err = {0};
  if (kafu_meta_read(out->data, out->len, &m, &found, &err) != KAFU_OK) fail_msg("%s", err.msg);
  assert_true(found);
  return m;
}

/* Writes out to tmpdir/NAME and runs wasm-validate on it. */
static void expect_valid(const kafu_buf *out, const char *name) {
  char path[512], cmd[1024];
  kafu_error err = {0};
  snprintf(path, sizeof path, "%s/%s", tmpdir, name);
  assert_int_equal(kafu_file_write(path, out->data, out->len, &err), KAFU_OK);
  snprintf(cmd, sizeof cmd, "wasm-validate %s", path);
  run(cmd);
}

static bool has_name(const kafu_meta *m, const char *name) {
  for (uint32_t i = 0; i < m->n_instrumented; i++)
    if (!strcmp(m->instrumented[i], name)) return true;
  return false;
}

/* The instrumented list is exactly `want` (in any order). */
static void expect_instrumented(const kafu_meta *m, const char *const *want, size_t n_want) {
  for (size_t i = 0; i < n_want; i++)
    if (!has_name(m, want[i])) fail_msg("'%s' is not instrumented", want[i]);
  if (m->n_instrumented != n_want) {
    for (uint32_t i = 0; i < m->n_instrumented; i++)
      print_message("  got %s\n", m->instrumented[i]);
    fail_msg("%u functions instrumented, want %zu", m->n_instrumented, n_want);
  }
}

static void expect_site(const kafu_meta *m, size_t id, kafu_site_kind kind, const char *func,
                        const char *node) {
  assert_true(id < m->n_sites);
  assert_int_equal(m->sites[id].kind, kind);
  assert_string_equal(m->sites[id].func, func);
  assert_string_equal(m->sites[id].node, node);
}

static const kafu_snapify_annotation dests_ann[] = {
    {KAFU_SITE_DEST, "nested_dest", "edge1"},      {KAFU_SITE_DEST, "leaf_edge", "edge2"},
    {KAFU_SITE_DEST, "fib_dest", "edge1"},         {KAFU_SITE_DEST, "ptr_dest", "edge2"},
    {KAFU_SITE_OFFLOAD, "offload_work", "cloud1"},
};

/* Three DEST functions (nested, recursive, through a function pointer) and one
 * MAY_OFFLOAD: golden sites and instrumented set. */
static void test_dests_golden(void **state) {
  (void)state;
  blob in = load_c("dests");
  kafu_buf out;
  kafu_error err = {0};
  assert_int_equal(snap(&in, "dests.wasm", dests_ann, 5, KAFU_POLICY_KAFU, &out, &err), KAFU_OK);
  kafu_meta m = meta_of(&out);
  assert_int_equal(m.flags, KAFU_META_FLAG_SNAPIFIED);
  assert_int_equal(m.n_sites, 5);
  expect_site(&m, 0, KAFU_SITE_DEST, "nested_dest", "edge1");
  expect_site(&m, 1, KAFU_SITE_DEST, "leaf_edge", "edge2");
  expect_site(&m, 2, KAFU_SITE_DEST, "fib_dest", "edge1");
  expect_site(&m, 3, KAFU_SITE_DEST, "ptr_dest", "edge2");
  expect_site(&m, 4, KAFU_SITE_OFFLOAD, "offload_work", "cloud1");
  assert_int_equal(m.state_base, 0);
  assert_int_equal(m.state_size, KAFU_STATE_SIZE_DEFAULT);
  assert_int_equal(m.n_globals, 1); /* __stack_pointer */
  assert_true(m.code_size_before > 10000);
  assert_true(m.code_size_after > m.code_size_before);
  static const char *const want[] = {
      "_start",
      "_start.command_export",
      "__main_void",
      "__original_main",
      "main",
      "nested_dest",
      "nested_dest$kafu_body", /* calls leaf_edge, a DEST */
      "leaf_edge",
      "fib_dest",
      "fib_dest$kafu_body", /* recursion through the wrapper */
      "ptr_dest",           /* reached through the table */
      "offload_work",
      "offload_work$kafu_body", /* polls */
  };
  expect_instrumented(&m, want, sizeof want / sizeof *want);
  /* same signature as ptr_dest in the table, but cannot reach a point */
  assert_false(has_name(&m, "other_op"));
  assert_false(has_name(&m, "leaf_edge$kafu_body"));
  /* a call-free callee whose loop is counted: offload_work's poll covers it */
  assert_false(has_name(&m, "helper_sum"));
  assert_false(has_name(&m, "printf"));
  assert_true(m.n_funcs > m.n_instrumented);
  expect_valid(&out, "dests.snap.wasm");
  kafu_meta_free(&m);
  kafu_buf_free(&out);
  free(in.bytes);
}

/* The only annotated function is a leaf called from a printf loop: stdio
 * must stay uninstrumented. */
static void test_leaf_in_printf_loop_minimal(void **state) {
  (void)state;
  blob in = load_c("leafloop");
  kafu_buf out;
  kafu_error err = {0};
  static const kafu_snapify_annotation ann[] = {{KAFU_SITE_DEST, "leaf", "edge1"}};
  assert_int_equal(snap(&in, "leafloop.wasm", ann, 1, KAFU_POLICY_KAFU, &out, &err), KAFU_OK);
  kafu_meta m = meta_of(&out);
  static const char *const want[] = {"_start", "_start.command_export", "__original_main", "leaf"};
  expect_instrumented(&m, want, 4);
  static const char *const stdio[] = {"printf",         "vfprintf",      "printf_core",
                                      "fwrite",         "__fwritex",     "__stdio_write",
                                      "__stdout_write", "leaf$kafu_body"};
  for (size_t i = 0; i < sizeof stdio / sizeof *stdio; i++)
    assert_false(has_name(&m, stdio[i]));
  /* a DEST-only program grows by little */
  assert_true((double)m.code_size_after / m.code_size_before <= 1.15);
  expect_valid(&out, "leafloop.snap.wasm");
  kafu_meta_free(&m);
  kafu_buf_free(&out);
  free(in.bytes);
}

static void test_deterministic(void **state) {
  (void)state;
  blob in = load_c("dests");
  kafu_buf a, b, c;
  kafu_error err = {0};
  assert_int_equal(snap(&in, "d", dests_ann, 5, KAFU_POLICY_KAFU, &a, &err), KAFU_OK);
  assert_int_equal(snap(&in, "d", dests_ann, 5, KAFU_POLICY_KAFU, &b, &err), KAFU_OK);
  assert_int_equal(a.len, b.len);
  assert_memory_equal(a.data, b.data, a.len);
  /* running Binaryen in this process instead of a child changes nothing */
  setenv("KAFU_SNAPIFY_INPROCESS", "1", 1);
  kafu_err rc = snap(&in, "d", dests_ann, 5, KAFU_POLICY_KAFU, &c, &err);
  unsetenv("KAFU_SNAPIFY_INPROCESS");
  assert_int_equal(rc, KAFU_OK);
  assert_int_equal(c.len, a.len);
  assert_memory_equal(c.data, a.data, a.len);
  kafu_buf_free(&a);
  kafu_buf_free(&b);
  kafu_buf_free(&c);
  free(in.bytes);
}

static const kafu_snapify_annotation regions_ann[] = {
    {KAFU_SITE_OFFLOAD, "work", "cloud1"},
    {KAFU_SITE_DEST, "ind_target", "edge1"},
    {KAFU_SITE_DEST, "both", "edge2"},
    {KAFU_SITE_OFFLOAD, "both", "cloud2"},
};

static bool calls(BinaryenModuleRef mod, const char *func, const char *target) {
  BinaryenFunctionRef f = BinaryenGetFunction(mod, func);
  assert_non_null(f);
  kafu_snapify_scan scan = {0};
  assert_int_equal(kafu_snapify_walk(BinaryenFunctionGetBody(f), &scan, NULL), KAFU_OK);
  bool found = false;
  for (size_t i = 0; i < scan.n_callees; i++)
    found |= !strcmp(scan.callees[i], target);
  kafu_snapify_scan_free(&scan);
  return found;
}

static const char *import_named(BinaryenModuleRef mod, const char *module, const char *base) {
  for (BinaryenIndex i = 0; i < BinaryenGetNumFunctions(mod); i++) {
    BinaryenFunctionRef f = BinaryenGetFunctionByIndex(mod, i);
    const char *m = BinaryenFunctionImportGetModule(f);
    if (m && !strcmp(m, module) && !strcmp(BinaryenFunctionImportGetBase(f), base))
      return BinaryenFunctionGetName(f);
  }
  return NULL;
}

/* Polls go exactly into the MAY_OFFLOAD function and its callees (but not
 * into the counted loops of call-free callees); the state
 * region comes from the support library's export; what snapify adds. */
static void test_regions(void **state) {
  (void)state;
  blob in = load_wat("regions");
  kafu_buf out;
  kafu_error err = {0};
  assert_int_equal(snap(&in, "regions.wasm", regions_ann, 4, KAFU_POLICY_KAFU, &out, &err),
                   KAFU_OK);
  kafu_meta m = meta_of(&out);
  assert_int_equal(m.n_sites, 4);
  expect_site(&m, 2, KAFU_SITE_DEST, "both", "edge2");
  expect_site(&m, 3, KAFU_SITE_OFFLOAD, "both", "cloud2");
  assert_int_equal(m.state_base, 4096);
  assert_int_equal(m.n_globals, 2); /* $sp and $g64; $fixed is immutable */
  static const char *const want[] = {"helper_chase", "uses_ptr",   "_start", "work$kafu_body",
                                     "work",         "ind_target", "both"};
  expect_instrumented(&m, want, sizeof want / sizeof *want);
  assert_int_equal(m.n_funcs, 12);
  expect_valid(&out, "regions.snap.wasm");

  BinaryenModuleRef mod = BinaryenModuleRead((char *)out.data, out.len);
  const char *poll = import_named(mod, "kafu", "poll");
  const char *enter = import_named(mod, "kafu", "enter");
  assert_non_null(poll);
  assert_non_null(enter);
  assert_non_null(import_named(mod, "kafu", "leave"));
  assert_true(calls(mod, "work$kafu_body", poll));
  assert_true(calls(mod, "helper_chase", poll)); /* callee of the OFFLOAD function */
  /* a call-free callee with only a counted loop: the caller's poll covers it */
  assert_false(calls(mod, "helper", poll));
  assert_false(calls(mod, "idle", poll)); /* a loop outside any region */
  assert_false(calls(mod, "uses_ptr", poll));
  assert_true(calls(mod, "both", enter));
  assert_true(calls(mod, "both", "both$kafu_body"));
  static const char *const exports[] = {"asyncify_start_unwind", "asyncify_stop_unwind",
                                        "asyncify_start_rewind", "asyncify_stop_rewind",
                                        "asyncify_get_state",    "kafu_globals_save",
                                        "kafu_globals_restore"};
  for (size_t i = 0; i < sizeof exports / sizeof *exports; i++) {
    BinaryenExportRef e = BinaryenGetExport(mod, exports[i]);
    if (!e) fail_msg("missing export %s", exports[i]);
    assert_int_equal(BinaryenExportGetKind(e), BinaryenExternalFunction());
  }
  BinaryenExportRef cd = BinaryenGetExport(mod, "kafu_countdown");
  assert_non_null(cd);
  assert_int_equal(BinaryenExportGetKind(cd), BinaryenExternalGlobal());
  BinaryenGlobalRef g = BinaryenGetGlobal(mod, BinaryenExportGetValue(cd));
  assert_true(BinaryenGlobalIsMutable(g));
  assert_int_equal(BinaryenConstGetValueI32(BinaryenGlobalGetInitExpr(g)), 1);
  BinaryenModuleDispose(mod);
  kafu_meta_free(&m);
  kafu_buf_free(&out);
  free(in.bytes);
}

static size_t count_calls(BinaryenModuleRef mod, const char *func, const char *target) {
  BinaryenFunctionRef f = BinaryenGetFunction(mod, func);
  assert_non_null(f);
  kafu_snapify_scan scan = {0};
  assert_int_equal(kafu_snapify_walk(BinaryenFunctionGetBody(f), &scan, NULL), KAFU_OK);
  size_t n = 0;
  for (size_t i = 0; i < scan.n_callees; i++)
    n += !strcmp(scan.callees[i], target);
  kafu_snapify_scan_free(&scan);
  return n;
}

/* Reads of the global `state` in func, and its calls of any kind. */
static size_t count_state_reads(BinaryenModuleRef mod, const char *func, const char *state,
                                size_t *n_calls) {
  BinaryenFunctionRef f = BinaryenGetFunction(mod, func);
  assert_non_null(f);
  kafu_snapify_scan scan = {.want_parents = true};
  assert_int_equal(kafu_snapify_walk(BinaryenFunctionGetBody(f), &scan, NULL), KAFU_OK);
  size_t n = 0;
  for (size_t i = 0; i < scan.n_exprs; i++)
    n += BinaryenExpressionGetId(scan.exprs[i]) == BinaryenGlobalGetId() &&
         !strcmp(BinaryenGlobalGetGetName(scan.exprs[i]), state);
  *n_calls = scan.n_callees + scan.n_indirect;
  kafu_snapify_scan_free(&scan);
  return n;
}

/* In the copy `func`, the state local (the one set from `state & 1` after
 * calls) is read only by the unwind test after each such reload: the reads
 * at Asyncify's other guards were folded to 0. */
static void expect_guards_folded(BinaryenModuleRef mod, const char *func, const char *state) {
  BinaryenFunctionRef f = BinaryenGetFunction(mod, func);
  assert_non_null(f);
  kafu_snapify_scan scan = {.want_parents = true};
  assert_int_equal(kafu_snapify_walk(BinaryenFunctionGetBody(f), &scan, NULL), KAFU_OK);
  size_t reloads = 0, reads = 0;
  BinaryenIndex local = (BinaryenIndex)-1;
  for (size_t i = 0; i < scan.n_exprs; i++) {
    BinaryenExpressionRef e = scan.exprs[i];
    if (BinaryenExpressionGetId(e) != BinaryenLocalSetId()) continue;
    BinaryenExpressionRef v = BinaryenLocalSetGetValue(e);
    if (BinaryenExpressionGetId(v) != BinaryenBinaryId() ||
        BinaryenExpressionGetId(BinaryenBinaryGetLeft(v)) != BinaryenGlobalGetId() ||
        strcmp(BinaryenGlobalGetGetName(BinaryenBinaryGetLeft(v)), state))
      continue;
    local = BinaryenLocalSetGetIndex(e);
    reloads++;
  }
  for (size_t i = 0; i < scan.n_exprs; i++)
    reads += BinaryenExpressionGetId(scan.exprs[i]) == BinaryenLocalGetId() &&
             BinaryenLocalGetGetIndex(scan.exprs[i]) == local;
  kafu_snapify_scan_free(&scan);
  if (!reloads || reads != reloads)
    fail_msg("'%s': %zu reloads of the state local, %zu reads", func, reloads, reads);
}

/* The leaf-helper rule applies to callees only: the same call-free function
 * with a counted loop keeps its poll when it is the MAY_OFFLOAD function. */
static void test_offload_leaf_keeps_poll(void **state) {
  (void)state;
  blob in = load_wat("regions");
  kafu_buf out;
  kafu_error err = {0};
  static const kafu_snapify_annotation ann[] = {{KAFU_SITE_OFFLOAD, "helper", "cloud1"}};
  assert_int_equal(snap(&in, "regions.wasm", ann, 1, KAFU_POLICY_KAFU, &out, &err), KAFU_OK);
  expect_valid(&out, "regions.snap.wasm");
  kafu_meta m = meta_of(&out);
  assert_true(has_name(&m, "helper$kafu_body"));
  BinaryenModuleRef mod = BinaryenModuleRead((char *)out.data, out.len);
  const char *poll = import_named(mod, "kafu", "poll");
  assert_non_null(poll);
  assert_int_equal(count_calls(mod, "helper$kafu_body", poll), 1);
  BinaryenModuleDispose(mod);
  kafu_meta_free(&m);
  kafu_buf_free(&out);
  free(in.bytes);
}

/* A poll per loop head, except a nested, call-free loop counting towards an
 * invariant bound; --policy always keeps them all. */
static void test_loop_polls(void **state) {
  (void)state;
  blob in = load_wat("loops");
  static const kafu_snapify_annotation ann[] = {{KAFU_SITE_OFFLOAD, "kernel", "cloud1"}};
  static const struct {
    kafu_snapify_policy policy;
    size_t polls;
  } cases[] = {{KAFU_POLICY_KAFU, 4}, {KAFU_POLICY_ALWAYS, 6}};
  for (size_t i = 0; i < 2; i++) {
    kafu_buf out;
    kafu_error err = {0};
    assert_int_equal(snap(&in, "loops.wasm", ann, 1, cases[i].policy, &out, &err), KAFU_OK);
    expect_valid(&out, "loops.snap.wasm");
    BinaryenModuleRef mod = BinaryenModuleRead((char *)out.data, out.len);
    const char *poll = import_named(mod, "kafu", "poll");
    assert_non_null(poll);
    assert_int_equal(count_calls(mod, "kernel$kafu_body", poll), cases[i].polls);
    assert_int_equal(count_calls(mod, "leaf", poll), 0); /* polled region, but no loop */
    BinaryenModuleDispose(mod);
    kafu_buf_free(&out);
  }
  free(in.bytes);
}

/* The not-rewinding copies (docs/abi.md, "Shape of the transformed code"):
 * every instrumented function that polls gets f$kafu_normal with the same
 * polls and the state in a local reloaded after calls and folded to 0
 * elsewhere, the original
 * dispatches to it unless rewinding, copies call copies; functions that do
 * not poll get none. */
static void test_normal_copies(void **state) {
  (void)state;
  blob in = load_wat("loops");
  static const kafu_snapify_annotation ann[] = {{KAFU_SITE_OFFLOAD, "kernel", "cloud1"}};
  kafu_buf out;
  kafu_error err = {0};
  assert_int_equal(snap(&in, "loops.wasm", ann, 1, KAFU_POLICY_KAFU, &out, &err), KAFU_OK);
  expect_valid(&out, "loops.snap.wasm");
  kafu_meta m = meta_of(&out);
  BinaryenModuleRef mod = BinaryenModuleRead((char *)out.data, out.len);
  const char *poll = import_named(mod, "kafu", "poll");
  assert_non_null(poll);
  assert_true(m.n_instrumented >= 3); /* _start, kernel, kernel$kafu_body */
  size_t n_copies = 0;
  for (uint32_t i = 0; i < m.n_instrumented; i++) {
    const char *f = m.instrumented[i];
    char name[256];
    snprintf(name, sizeof name, "%s%s", f, KAFU_SNAPIFY_NORMAL_SUFFIX);
    size_t polls = count_calls(mod, f, poll);
    if (!BinaryenGetFunction(mod, name)) {
      if (polls) fail_msg("'%s' polls but has no copy", f);
      continue;
    }
    n_copies++;
    /* the same polls in both, and at least one */
    assert_true(polls > 0);
    assert_int_equal(count_calls(mod, name, poll), polls);
    /* the original starts with the dispatch and calls its copy once */
    BinaryenExpressionRef body = BinaryenFunctionGetBody(BinaryenGetFunction(mod, f));
    assert_int_equal(BinaryenExpressionGetId(body), BinaryenIfId());
    assert_int_equal(count_calls(mod, f, name), 1);
    /* the copy keeps Asyncify's state (read by the dispatch: state == 2) in
     * a local: it reads the global only after calls, where the original
     * reads it at every Asyncify guard */
    BinaryenExpressionRef cond = BinaryenIfGetCondition(body);
    assert_int_equal(BinaryenExpressionGetId(cond), BinaryenBinaryId());
    const char *state = BinaryenGlobalGetGetName(BinaryenBinaryGetLeft(cond));
    size_t n_calls = 0, reads = count_state_reads(mod, name, state, &n_calls);
    if (reads < polls || reads > n_calls)
      fail_msg("'%s' reads the state %zu times for %zu polls, %zu calls", name, reads, polls,
               n_calls);
    assert_true(count_state_reads(mod, f, state, &n_calls) > n_calls);
    expect_guards_folded(mod, name, state);
    /* the copy calls no original that has a copy, itself included */
    for (uint32_t k = 0; k < m.n_instrumented; k++) {
      char other[256];
      snprintf(other, sizeof other, "%s%s", m.instrumented[k], KAFU_SNAPIFY_NORMAL_SUFFIX);
      if (BinaryenGetFunction(mod, other) && count_calls(mod, name, m.instrumented[k]))
        fail_msg("'%s' calls '%s' instead of its copy", name, m.instrumented[k]);
    }
  }
  assert_true(n_copies >= 1);
  assert_true(n_copies < m.n_instrumented); /* _start does not poll */
  /* kernel$kafu_body keeps a poll in each of its 4 polled loops */
  assert_int_equal(count_calls(mod, "kernel$kafu_body" KAFU_SNAPIFY_NORMAL_SUFFIX, poll), 4);
  /* uninstrumented functions get no copy */
  assert_null(BinaryenGetFunction(mod, "leaf" KAFU_SNAPIFY_NORMAL_SUFFIX));
  BinaryenModuleDispose(mod);
  kafu_meta_free(&m);
  kafu_buf_free(&out);
  free(in.bytes);
}

/* Appends a kafu section written the way kafu cc does (flags 0). */
static blob with_section(const blob *in, const kafu_meta *m) {
  kafu_buf payload = {0}, w = {0};
  kafu_meta_encode(m, &payload);
  kafu_buf_append(&w, in->bytes, in->len);
  kafu_buf_u8(&w, 0);
  kafu_buf_uleb(&w, 5 + payload.len);
  kafu_buf_uleb(&w, 4);
  kafu_buf_append(&w, "kafu", 4);
  kafu_buf_append(&w, payload.data, payload.len);
  kafu_buf_free(&payload);
  blob b;
  b.bytes = kafu_buf_take(&w, &b.len);
  return b;
}

static void test_annotations_from_section(void **state) {
  (void)state;
  char path[512];
  build_wat("regions", path, sizeof path);
  blob plain = load(path);
  kafu_meta cc = {0};
  kafu_meta_add_site(&cc, KAFU_SITE_DEST, "ind_target", "edge9", "r.c", 3);
  cc.state_size = 8192;
  blob in = with_section(&plain, &cc);
  kafu_buf out;
  kafu_error err = {0};
  assert_int_equal(snap(&in, "r", NULL, 0, KAFU_POLICY_KAFU, &out, &err), KAFU_OK);
  kafu_meta m = meta_of(&out);
  assert_int_equal(m.n_sites, 1);
  expect_site(&m, 0, KAFU_SITE_DEST, "ind_target", "edge9");
  assert_string_equal(m.sites[0].file, "r.c");
  assert_int_equal(m.sites[0].line, 3);
  assert_int_equal(m.state_size, 8192);
  kafu_meta_free(&m);

  /* a flag for the same function and kind overrides the node; others add sites */
  static const kafu_snapify_annotation more[] = {{KAFU_SITE_DEST, "ind_target", "edge5"},
                                                 {KAFU_SITE_OFFLOAD, "work", "cloud1"}};
  kafu_buf out2;
  assert_int_equal(snap(&in, "r", more, 2, KAFU_POLICY_KAFU, &out2, &err), KAFU_OK);
  m = meta_of(&out2);
  assert_int_equal(m.n_sites, 2);
  expect_site(&m, 0, KAFU_SITE_DEST, "ind_target", "edge5");
  expect_site(&m, 1, KAFU_SITE_OFFLOAD, "work", "cloud1");
  kafu_meta_free(&m);

  /* the support library's region has the size kafu cc wrote: no larger state */
  kafu_snapify_options bigger = {.state_size = 16384, .label = "r"};
  kafu_buf out4 = {0};
  assert_int_equal(kafu_snapify(in.bytes, in.len, &bigger, &out4, &err), KAFU_E_INPUT);
  assert_non_null(strstr(err.msg, "reserves 8192 bytes"));
  kafu_buf_free(&out4);

  /* the output carries exactly one kafu section and cannot be snapified twice */
  blob again = {out.data, out.len};
  kafu_buf out3;
  assert_int_equal(snap(&again, "r.snap", NULL, 0, KAFU_POLICY_KAFU, &out3, &err), KAFU_E_INPUT);
  assert_string_equal(err.msg, "r.snap: module is already snapified");
  kafu_buf_free(&out3);
  kafu_buf_free(&out);
  kafu_buf_free(&out2);
  kafu_meta_free(&cc);
  free(in.bytes);
  free(plain.bytes);
}

static void expect_refused(const blob *in, const char *label, const kafu_snapify_annotation *ann,
                           size_t n, kafu_err want, const char *msg) {
  kafu_buf out;
  kafu_error err = {0};
  assert_int_equal(snap(in, label, ann, n, KAFU_POLICY_KAFU, &out, &err), want);
  if (!strstr(err.msg, msg)) fail_msg("message '%s' lacks '%s'", err.msg, msg);
  assert_int_equal(out.len, 0);
  kafu_buf_free(&out);
}

static void test_refusals(void **state) {
  (void)state;
  char path[512];
  build_wat("regions", path, sizeof path);
  blob regions = load(path);
  static const kafu_snapify_annotation nope[] = {{KAFU_SITE_DEST, "nope", "edge1"}};
  expect_refused(&regions, "regions.wasm", nope, 1, KAFU_E_INPUT,
                 "regions.wasm: annotated function 'nope' not found in module");

  blob truncated = {regions.bytes, regions.len - 20};
  expect_refused(&truncated, "t.wasm", NULL, 0, KAFU_E_INPUT, "t.wasm: section");
  blob header_only = {regions.bytes, 6};
  expect_refused(&header_only, "h.wasm", NULL, 0, KAFU_E_INPUT, "h.wasm: truncated wasm header");
  static uint8_t text[] = "int main(void) { return 0; }\n";
  blob not_wasm = {text, sizeof text - 1};
  expect_refused(&not_wasm, "main.c", NULL, 0, KAFU_E_INPUT, "main.c: not a wasm module");

  /* sections well formed, code garbage: Binaryen's own reader refuses it */
  build_wat("no_start", path, sizeof path);
  blob bad_code = load(path);
  for (size_t i = 8; i + 1 < bad_code.len; i++)
    if (bad_code.bytes[i] == 10) { /* code section: smash the body's bytes */
      size_t body = i + 4;
      if (body + 2 < bad_code.len) bad_code.bytes[body] = 0x7f, bad_code.bytes[body + 1] = 0x05;
      break;
    }
  kafu_buf out;
  kafu_error err = {0};
  kafu_err rc = snap(&bad_code, "bad.wasm", NULL, 0, KAFU_POLICY_KAFU, &out, &err);
  assert_int_equal(rc, KAFU_E_INPUT);
  assert_non_null(strstr(err.msg, "bad.wasm: binaryen rejected the module: parse exception"));
  assert_null(strchr(err.msg, '\n'));
  kafu_buf_free(&out);
  free(bad_code.bytes);

  build_wat("no_start", path, sizeof path);
  blob no_start = load(path);
  expect_refused(&no_start, "lib.wasm", NULL, 0, KAFU_E_INPUT,
                 "lib.wasm: not a WASI command module (no _start export)");
  build_wat("table_set", path, sizeof path);
  blob table_set = load(path);
  expect_refused(&table_set, "ts.wasm", NULL, 0, KAFU_E_UNSUPPORTED,
                 "ts.wasm: function '_start' mutates the table");

  kafu_snapify_options tiny = {.state_size = 16, .label = "r"};
  kafu_buf small = {0};
  assert_int_equal(kafu_snapify(regions.bytes, regions.len, &tiny, &small, &err), KAFU_E_LIMIT);
  assert_non_null(strstr(err.msg, "cannot hold 2 globals"));
  kafu_buf_free(&small);
  free(regions.bytes);
  free(no_start.bytes);
  free(table_set.bytes);
}

/* --policy always: a POINT site for every defined function of the input. */
static void test_policy_always(void **state) {
  (void)state;
  blob in = load_c("leafloop");
  BinaryenModuleRef plain = BinaryenModuleRead((char *)in.bytes, in.len);
  size_t n_defined = 0;
  for (BinaryenIndex i = 0; i < BinaryenGetNumFunctions(plain); i++) {
    const char *m = BinaryenFunctionImportGetModule(BinaryenGetFunctionByIndex(plain, i));
    if (!m || !m[0]) n_defined++;
  }
  BinaryenModuleDispose(plain);
  kafu_buf out;
  kafu_error err = {0};
  static const kafu_snapify_annotation ann[] = {{KAFU_SITE_DEST, "leaf", "edge1"}};
  assert_int_equal(snap(&in, "l", ann, 1, KAFU_POLICY_ALWAYS, &out, &err), KAFU_OK);
  kafu_meta m = meta_of(&out);
  assert_int_equal(m.flags, KAFU_META_FLAG_SNAPIFIED | KAFU_META_FLAG_ALWAYS);
  assert_int_equal(m.n_sites, n_defined); /* leaf keeps its DEST site, the rest are points */
  expect_site(&m, 0, KAFU_SITE_DEST, "leaf", "edge1");
  for (size_t i = 1; i < m.n_sites; i++) {
    assert_int_equal(m.sites[i].kind, KAFU_SITE_POINT);
    assert_string_equal(m.sites[i].node, "");
  }
  assert_true(has_name(&m, "printf"));
  assert_int_equal(m.n_funcs, 2 * n_defined);
  expect_valid(&out, "always.snap.wasm");
  kafu_meta_free(&m);
  kafu_buf_free(&out);
  free(in.bytes);
}

static int setup(void **state) {
  (void)state;
  return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dests_golden),
      cmocka_unit_test(test_leaf_in_printf_loop_minimal),
      cmocka_unit_test(test_regions),
      cmocka_unit_test(test_offload_leaf_keeps_poll),
      cmocka_unit_test(test_loop_polls),
      cmocka_unit_test(test_normal_copies),
      cmocka_unit_test(test_annotations_from_section),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_policy_always),
      /* last: it runs Binaryen in this process, after which snapify no longer forks */
      cmocka_unit_test(test_deterministic),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
