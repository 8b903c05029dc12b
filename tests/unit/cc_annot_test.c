/* kafu cc annotation extraction: golden tests on LLVM 14 IR text (typed and
 * opaque pointers, quoted names), the preprocessed-source scan, the
 * kafu_annot object section and the annotation string grammar. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cc/annot.h"

/* IR as clang-14 writes it for: f (one-arg dest), g (two-arg dest + offload,
 * static), "my.fn name" (asm label, quoted), an unrelated annotation. */
static const char golden_ir[] =
    "; ModuleID = 'q.c'\n"
    "source_filename = \"q.c\"\n"
    "@.str = private unnamed_addr constant [16 x i8] c\"kafu_dest:edge1\\00\", section "
    "\"llvm.metadata\"\n"
    "@.str.1 = private unnamed_addr constant [4 x i8] c\"q.c\\00\", section \"llvm.metadata\"\n"
    "@.str.2 = private unnamed_addr constant [20 x i8] c\"kafu_offload:cloud1\\00\", section "
    "\"llvm.metadata\"\n"
    "@.str.3 = private unnamed_addr constant [19 x i8] c\"kafu_dest(g):edge2\\00\", section "
    "\"llvm.metadata\"\n"
    "@.str.4 = private unnamed_addr constant [22 x i8] c\"kafu_offload(g):cloud1\\00\", section "
    "\"llvm.metadata\"\n"
    "@.str.5 = private unnamed_addr constant [6 x i8] c\"other\\00\", section \"llvm.metadata\"\n"
    "@llvm.global.annotations = appending global [5 x { i8*, i8*, i8*, i32, i8* }] [{ i8*, i8*, "
    "i8*, i32, i8* } { i8* bitcast (i32 (i32)* @f to i8*), i8* getelementptr inbounds ([16 x "
    "i8], [16 x i8]* @.str, i32 0, i32 0), i8* getelementptr inbounds ([4 x i8], [4 x i8]* "
    "@.str.1, i32 0, i32 0), i32 4, i8* null }, { i8*, i8*, i8*, i32, i8* } { i8* bitcast (i32 "
    "(i32)* @\"my.fn name\" to i8*), i8* getelementptr inbounds ([20 x i8], [20 x i8]* @.str.2, "
    "i32 0, i32 0), i8* getelementptr inbounds ([4 x i8], [4 x i8]* @.str.1, i32 0, i32 0), i32 "
    "7, i8* null }, { i8*, i8*, i8*, i32, i8* } { i8* bitcast (i32 (i32)* @g to i8*), i8* "
    "getelementptr inbounds ([19 x i8], [19 x i8]* @.str.3, i32 0, i32 0), i8* getelementptr "
    "inbounds ([4 x i8], [4 x i8]* @.str.1, i32 0, i32 0), i32 10, i8* null }, { i8*, i8*, i8*, "
    "i32, i8* } { i8* bitcast (i32 (i32)* @g to i8*), i8* getelementptr inbounds ([22 x i8], [22 "
    "x i8]* @.str.4, i32 0, i32 0), i8* getelementptr inbounds ([4 x i8], [4 x i8]* @.str.1, i32 "
    "0, i32 0), i32 10, i8* null }, { i8*, i8*, i8*, i32, i8* } { i8* bitcast (i32 (i32)* @h to "
    "i8*), i8* getelementptr inbounds ([6 x i8], [6 x i8]* @.str.5, i32 0, i32 0), i8* "
    "getelementptr inbounds ([4 x i8], [4 x i8]* @.str.1, i32 0, i32 0), i32 12, i8* null }], "
    "section \"llvm.metadata\"\n"
    "\n"
    "define hidden i32 @f(i32 noundef %0) #0 {\n  ret i32 %0\n}\n"
    "define hidden i32 @\"my.fn name\"(i32 noundef %0) #0 {\n  ret i32 %0\n}\n"
    "define internal i32 @g(i32 noundef %0) #0 {\n  ret i32 %0\n}\n"
    "define hidden i32 @h(i32 noundef %0) #0 {\n  ret i32 %0\n}\n";

static void expect_annot(const kafu_cc_annot *a, kafu_cc_annot_state state, kafu_site_kind kind,
                         const char *func, const char *node, const char *file, uint32_t line) {
  assert_int_equal(a->state, state);
  assert_int_equal(a->kind, kind);
  assert_string_equal(a->func, func);
  assert_string_equal(a->node, node);
  assert_string_equal(a->file, file);
  assert_int_equal(a->line, line);
}

static void test_ir_golden(void **state) {
  (void)state;
  kafu_cc_annots list = {0};
  kafu_error err = {0};
  assert_int_equal(kafu_cc_annot_from_ir(golden_ir, "q.c", &list, &err), KAFU_OK);
  assert_int_equal(list.n, 4); /* "other" is not Kafu's */
  expect_annot(&list.v[0], KAFU_ANNOT_DEF, KAFU_SITE_DEST, "f", "edge1", "q.c", 4);
  expect_annot(&list.v[1], KAFU_ANNOT_DEF, KAFU_SITE_OFFLOAD, "my.fn name", "cloud1", "q.c", 7);
  expect_annot(&list.v[2], KAFU_ANNOT_DEF, KAFU_SITE_DEST, "g", "edge2", "q.c", 10);
  expect_annot(&list.v[3], KAFU_ANNOT_DEF, KAFU_SITE_OFFLOAD, "g", "cloud1", "q.c", 10);
  kafu_cc_annots_free(&list);
}

/* The same table with LLVM 15+ opaque pointers and an escaped quoted name. */
static void test_ir_opaque_pointers(void **state) {
  (void)state;
  static const char ir[] =
      "@.str = private unnamed_addr constant [17 x i8] c\"kafu_dest:edge-1\\00\", section "
      "\"llvm.metadata\"\n"
      "@.str.1 = private unnamed_addr constant [8 x i8] c\"dir/a.c\\00\", section "
      "\"llvm.metadata\"\n"
      "@llvm.global.annotations = appending global [1 x { ptr, ptr, ptr, i32, ptr }] [{ ptr, "
      "ptr, ptr, i32, ptr } { ptr @\"we\\22ird\", ptr @.str, ptr @.str.1, i32 3, ptr null }], "
      "section \"llvm.metadata\"\n"
      "define i32 @\"we\\22ird\"() {\n  ret i32 0\n}\n";
  kafu_cc_annots list = {0};
  kafu_error err = {0};
  assert_int_equal(kafu_cc_annot_from_ir(ir, "a.c", &list, &err), KAFU_OK);
  assert_int_equal(list.n, 1);
  expect_annot(&list.v[0], KAFU_ANNOT_DEF, KAFU_SITE_DEST, "we\"ird", "edge-1", "dir/a.c", 3);
  kafu_cc_annots_free(&list);
}

static void test_ir_without_annotations(void **state) {
  (void)state;
  kafu_cc_annots list = {0};
  kafu_error err = {0};
  assert_int_equal(kafu_cc_annot_from_ir("define i32 @main() {\n}\n", "m.c", &list, &err), KAFU_OK);
  assert_int_equal(list.n, 0);
}

/* Builds a one-entry table annotating `target` with `text`; `define`
 * says whether target is a defined function. */
static kafu_err ir_one(const char *target, const char *text, bool define, kafu_error *err) {
  char ir[2048];
  snprintf(ir, sizeof ir,
           "@.str = private unnamed_addr constant [1 x i8] c\"%s\\00\", section \"llvm.metadata\"\n"
           "@.str.1 = private unnamed_addr constant [4 x i8] c\"e.c\\00\"\n"
           "@%s = dso_local global i32 3, align 4\n"
           "@llvm.global.annotations = appending global [1 x { i8*, i8*, i8*, i32, i8* }] [{ "
           "i8*, i8*, i8*, i32, i8* } { i8* bitcast (i32* @%s to i8*), i8* getelementptr "
           "([1 x i8], [1 x i8]* @.str, i32 0, i32 0), i8* getelementptr ([4 x i8], [4 x i8]* "
           "@.str.1, i32 0, i32 0), i32 5, i8* null }], section \"llvm.metadata\"\n"
           "%s",
           text, define ? "unused" : target, target,
           define ? "define i32 @fn() {\n  ret i32 0\n}\n" : "");
  kafu_cc_annots list = {0};
  kafu_err rc = kafu_cc_annot_from_ir(ir, "e.c", &list, err);
  kafu_cc_annots_free(&list);
  return rc;
}

static void test_ir_errors(void **state) {
  (void)state;
  kafu_error err = {0};
  assert_int_equal(ir_one("var", "kafu_dest:edge1", false, &err), KAFU_E_INPUT);
  assert_non_null(strstr(err.msg, "e.c:5"));
  assert_non_null(strstr(err.msg, "'var'"));
  assert_non_null(strstr(err.msg, "not a function definition"));
  assert_int_equal(ir_one("fn", "kafu_dest:", true, &err), KAFU_E_INPUT);
  assert_non_null(strstr(err.msg, "empty node name"));
  assert_non_null(strstr(err.msg, "'fn'"));
  assert_int_equal(ir_one("fn", "kafu_offload(other):cloud1", true, &err), KAFU_E_INPUT);
  assert_non_null(strstr(err.msg, "KAFU_MAY_OFFLOAD(other"));
  assert_int_equal(ir_one("fn", "kafu_offload(fn):cloud1", true, &err), KAFU_OK);
  assert_int_equal(ir_one("fn", "not_kafu", true, &err), KAFU_OK);
}

static void test_ir_malformed_table(void **state) {
  (void)state;
  static const char ir[] =
      "@llvm.global.annotations = appending global [1 x { i8*, i8*, i8*, i32, i8* }] [{ i8*, "
      "i8*, i8*, i32, i8* } { i8* bitcast (i32 (i32)* @f to i8*)\n";
  kafu_cc_annots list = {0};
  kafu_error err = {0};
  assert_int_equal(kafu_cc_annot_from_ir(ir, "bad.c", &list, &err), KAFU_E_INPUT);
  assert_non_null(strstr(err.msg, "bad.c"));
  kafu_cc_annots_free(&list);
}

/* clang -E output: line markers, a prototype, a definition the IR lacks (an
 * unused static inline) and one it has. */
static const char golden_pre[] =
    "# 1 \"s.c\"\n"
    "# 1 \"<built-in>\" 1\n"
    "# 1 \"s.c\" 2\n"
    "# 1 \"./h.h\" 1\n"
    "__attribute__((annotate(\"kafu_dest:\" \"edge1\"), noinline))\n"
    "int proto(int);\n"
    "# 2 \"s.c\" 2\n"
    "\n"
    "__attribute__((annotate(\"kafu_dest:\" \"edge2\"), noinline))\n"
    "static inline int helper(int x) { return x; }\n"
    "__attribute__((annotate(\"kafu_offload(\" \"f\" \"):\" \"cloud1\"), noinline)) "
    "__attribute__((annotate(\"kafu_dest:\" \"edge1\"), noinline))\n"
    "int f(int x) { return x; }\n"
    "const char *s = \"annotate(\\\"kafu_dest:x\\\")\";\n";

static void test_source_scan(void **state) {
  (void)state;
  kafu_cc_annots ir = {0}, out = {0};
  kafu_error err = {0};
  assert_int_equal(
      kafu_cc_annots_add(&ir, KAFU_ANNOT_DEF, KAFU_SITE_DEST, "f", "edge1", "s.c", 6, &err),
      KAFU_OK);
  assert_int_equal(
      kafu_cc_annots_add(&ir, KAFU_ANNOT_DEF, KAFU_SITE_OFFLOAD, "f", "cloud1", "s.c", 6, &err),
      KAFU_OK);
  assert_int_equal(kafu_cc_annot_from_source(golden_pre, "s.c", &ir, &out, &err), KAFU_OK);
  assert_int_equal(out.n, 2);
  expect_annot(&out.v[0], KAFU_ANNOT_PROTO, KAFU_SITE_DEST, "proto", "edge1", "./h.h", 1);
  expect_annot(&out.v[1], KAFU_ANNOT_DROPPED, KAFU_SITE_DEST, "helper", "edge2", "s.c", 3);
  kafu_cc_annots_free(&ir);
  kafu_cc_annots_free(&out);
}

static kafu_err scan_one(const char *decl, kafu_error *err) {
  char pre[1024];
  snprintf(pre, sizeof pre,
           "# 7 \"v.c\"\n__attribute__((annotate(\"kafu_dest:\" \"e1\"), noinline)) %s\n", decl);
  kafu_cc_annots ir = {0}, out = {0};
  kafu_err rc = kafu_cc_annot_from_source(pre, "v.c", &ir, &out, err);
  kafu_cc_annots_free(&out);
  return rc;
}

static void test_source_scan_errors(void **state) {
  (void)state;
  kafu_error err = {0};
  assert_int_equal(scan_one("extern int counter;", &err), KAFU_E_INPUT);
  assert_non_null(strstr(err.msg, "v.c:7"));
  assert_non_null(strstr(err.msg, "'counter'"));
  assert_int_equal(scan_one("int table[4] = {1};", &err), KAFU_E_INPUT);
  assert_non_null(strstr(err.msg, "'table'"));
  assert_int_equal(scan_one("struct point { int x; } origin;", &err), KAFU_E_INPUT);
  assert_int_equal(scan_one("int ok(void) { return 0; }", &err), KAFU_OK);
  assert_int_equal(scan_one("int decl(int) __attribute__((pure));", &err), KAFU_OK);
}

static void test_split(void **state) {
  (void)state;
  kafu_site_kind kind;
  char fn[16], node[16];
  assert_int_equal(kafu_cc_annot_split("kafu_dest:edge1", &kind, fn, sizeof fn, node, sizeof node),
                   1);
  assert_int_equal(kind, KAFU_SITE_DEST);
  assert_string_equal(fn, "");
  assert_string_equal(node, "edge1");
  assert_int_equal(
      kafu_cc_annot_split("kafu_offload(work):cloud1", &kind, fn, sizeof fn, node, sizeof node), 1);
  assert_int_equal(kind, KAFU_SITE_OFFLOAD);
  assert_string_equal(fn, "work");
  assert_string_equal(node, "cloud1");
  assert_int_equal(kafu_cc_annot_split("kafu_dest", &kind, fn, sizeof fn, node, sizeof node), 0);
  assert_int_equal(kafu_cc_annot_split("kafu_destiny:x", &kind, fn, sizeof fn, node, sizeof node),
                   0);
  assert_int_equal(kafu_cc_annot_split("other", &kind, fn, sizeof fn, node, sizeof node), 0);
}

static void test_section_roundtrip(void **state) {
  (void)state;
  kafu_cc_annots a = {0}, b = {0}, back = {0};
  kafu_error err = {0};
  kafu_buf buf = {0};
  assert_int_equal(
      kafu_cc_annots_add(&a, KAFU_ANNOT_DEF, KAFU_SITE_DEST, "f", "edge1", "a.c", 3, &err), 0);
  assert_int_equal(
      kafu_cc_annots_add(&b, KAFU_ANNOT_PROTO, KAFU_SITE_OFFLOAD, "g", "cloud1", "b.h", 9, &err),
      0);
  /* The linker concatenates the payloads of two objects. */
  kafu_cc_annot_encode(&a, &buf);
  size_t first_chunk = buf.len;
  kafu_cc_annot_encode(&b, &buf);
  assert_false(buf.failed);
  assert_int_equal(kafu_cc_annot_decode(buf.data, buf.len, "x.wasm", &back, &err), KAFU_OK);
  assert_int_equal(back.n, 2);
  expect_annot(&back.v[0], KAFU_ANNOT_DEF, KAFU_SITE_DEST, "f", "edge1", "a.c", 3);
  expect_annot(&back.v[1], KAFU_ANNOT_PROTO, KAFU_SITE_OFFLOAD, "g", "cloud1", "b.h", 9);
  /* Every truncation is an error, never a crash. */
  for (size_t cut = 1; cut < buf.len; cut++) {
    kafu_cc_annots partial = {0};
    kafu_err rc = kafu_cc_annot_decode(buf.data, cut, "x.wasm", &partial, &err);
    if (cut == first_chunk)
      assert_int_equal(rc, KAFU_OK); /* a whole first object */
    else
      assert_int_equal(rc, KAFU_E_INPUT);
    kafu_cc_annots_free(&partial);
  }
  kafu_cc_annots_free(&a);
  kafu_cc_annots_free(&b);
  kafu_cc_annots_free(&back);
  kafu_buf_free(&buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ir_golden),
      cmocka_unit_test(test_ir_opaque_pointers),
      cmocka_unit_test(test_ir_without_annotations),
      cmocka_unit_test(test_ir_errors),
      cmocka_unit_test(test_ir_malformed_table),
      cmocka_unit_test(test_source_scan),
      cmocka_unit_test(test_source_scan_errors),
      cmocka_unit_test(test_split),
      cmocka_unit_test(test_section_roundtrip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
