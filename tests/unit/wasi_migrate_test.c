/* WASI migration state: save on one context, restore on a fresh one whose
 * preopen of the same guest name is another host directory; files continue
 * at their offsets, fd numbers are kept, lost files become EBADF with one
 * warning, the monotonic clock continues, and malformed state is rejected. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "../wasi/wasi_fake.h"
#include "util/log.h"

typedef struct fixture {
  char *dir_a, *dir_b, *dir_other;
  wasi_t *a, *b;
} fixture;

/* Node A preopens /data only; node B preopens /other first, then /data, so
 * its fresh /data fd number differs from A's. */
static int setup(void **state) {
  fixture *fx = calloc(1, sizeof *fx);
  fx->dir_a = make_tmpdir();
  fx->dir_b = make_tmpdir();
  fx->dir_other = make_tmpdir();
  kafu_wasi_preopen pa = {fx->dir_a, "/data"};
  kafu_wasi_config ca = {.n_preopens = 1, .preopens = &pa, .stdin_fd = -1};
  kafu_wasi_preopen pb[2] = {{fx->dir_other, "/other"}, {fx->dir_b, "/data"}};
  kafu_wasi_config cb = {.n_preopens = 2, .preopens = pb, .stdin_fd = -1};
  fx->a = wasi_t_new(ca, 0);
  fx->b = wasi_t_new(cb, 0);
  if (!fx->a || !fx->b) return -1;
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  fixture *fx = *state;
  wasi_t_free(fx->a);
  wasi_t_free(fx->b);
  rm_rf(fx->dir_a);
  rm_rf(fx->dir_b);
  rm_rf(fx->dir_other);
  free(fx->dir_a);
  free(fx->dir_b);
  free(fx->dir_other);
  free(fx);
  return 0;
}

static kafu_buf save(wasi_t *t) {
  kafu_buf buf = {0};
  kafu_error err = {0};
  assert_int_equal(kafu_wasi_save(t->w, &buf, &err), KAFU_OK);
  assert_true(buf.len > 0);
  return buf;
}

/* Restores into t with stderr captured; returns the number of warning lines. */
static int restore_counting_warnings(wasi_t *t, const kafu_buf *state, kafu_err want) {
  char path[] = "/tmp/kafu-wasi-log-XXXXXX";
  int log_fd = mkstemp(path);
  assert_true(log_fd >= 0);
  fflush(stderr);
  int saved = dup(2);
  dup2(log_fd, 2);
  kafu_error err = {0};
  kafu_err rc = kafu_wasi_restore(t->w, state->data, state->len, &err);
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  assert_int_equal(rc, want);
  char text[4096] = {0};
  ssize_t n = pread(log_fd, text, sizeof text - 1, 0);
  close(log_fd);
  unlink(path);
  int warnings = 0;
  for (char *p = text; n > 0 && (p = strstr(p, "warn")) != NULL; p++)
    warnings++;
  if (warnings) fprintf(stderr, "(captured) %s", text);
  return warnings;
}

static void test_file_continues_at_offset(void **state) {
  fixture *fx = *state;
  write_file(fx->dir_a, "log.txt", "0123456789abcdef");
  write_file(fx->dir_b, "log.txt", "0123456789ABCDEF"); /* B's copy: tells the nodes apart */
  make_dir(fx->dir_a, "sub");
  make_dir(fx->dir_b, "sub");
  write_file(fx->dir_a, "sub/w.txt", "");
  write_file(fx->dir_b, "sub/w.txt", "");
  uint32_t fd, sub, wfd, n;
  char buf[64];
  assert_int_equal(wopen(fx->a, 3, "log.txt", 0, 0, 0, &fd), 0);
  assert_int_equal(wread(fx->a, fd, 10, buf), 0);
  assert_string_equal(buf, "0123456789");
  assert_int_equal(wopen(fx->a, 3, "sub", 0, 2, 0, &sub), 0);
  assert_int_equal(wopen(fx->a, sub, "w.txt", 0, 0, 1 /* APPEND */, &wfd), 0);
  assert_int_equal(wwrite(fx->a, wfd, "on-a ", &n), 0);
  kafu_buf st = save(fx->a);
  assert_int_equal(restore_counting_warnings(fx->b, &st, KAFU_OK), 0);
  kafu_buf_free(&st);
  wasi_t *b = fx->b;
  /* fd numbers survive: fd 3 is /data here too, whatever B's config order */
  assert_int_equal(W(b, "fd_prestat_dir_name", 3, 100, 5), 0);
  assert_memory_equal(b->mem + 100, "/data", 5);
  assert_int_equal(W(b, "fd_prestat_get", 4, 100), 8); /* B's /other was never seen by the guest */
  /* the file continues at offset 10, in B's directory */
  assert_int_equal(wread(b, fd, 10, buf), 0);
  assert_string_equal(buf, "ABCDEF");
  /* the directory fd resolves below B's /data */
  uint32_t fd2;
  assert_int_equal(wopen(b, sub, "../log.txt", 0, 0, 0, &fd2), 0);
  assert_int_equal(wread(b, fd2, 3, buf), 0);
  assert_string_equal(buf, "012");
  /* flags came along: still appending */
  assert_int_equal(W(b, "fd_fdstat_get", wfd, 64), 0);
  assert_int_equal(b->mem[64 + 2], 1);
  assert_int_equal(wwrite(b, wfd, "on-b", &n), 0);
  char path[600];
  snprintf(path, sizeof path, "%s/sub/w.txt", fx->dir_b);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  assert_non_null(fgets(buf, sizeof buf, f));
  fclose(f);
  assert_string_equal(buf, "on-b");
  /* stdout still goes to B's hook */
  assert_int_equal(wwrite(b, 1, "out", &n), 0);
  assert_int_equal(b->out_len, 3);
}

static void test_missing_file_is_ebadf_with_one_warning(void **state) {
  fixture *fx = *state;
  write_file(fx->dir_a, "here.txt", "hello");
  write_file(fx->dir_a, "gone.txt", "bye");
  write_file(fx->dir_b, "here.txt", "hello");
  uint32_t here, gone;
  assert_int_equal(wopen(fx->a, 3, "here.txt", 0, 0, 0, &here), 0);
  assert_int_equal(wopen(fx->a, 3, "gone.txt", 0, 0, 0, &gone), 0);
  kafu_buf st = save(fx->a);
  assert_int_equal(restore_counting_warnings(fx->b, &st, KAFU_OK), 1);
  kafu_buf_free(&st);
  char buf[16];
  assert_int_equal(wread(fx->b, gone, 8, buf), 8);
  assert_int_equal(W(fx->b, "fd_fdstat_get", gone, 64), 8);
  assert_int_equal(wread(fx->b, here, 8, buf), 0);
  assert_string_equal(buf, "hello");
  /* the lost fd can be closed, and then its number is reused */
  assert_int_equal(W(fx->b, "fd_close", gone), 0);
  uint32_t again;
  assert_int_equal(wopen(fx->b, 3, "here.txt", 0, 0, 0, &again), 0);
  assert_int_equal(again, gone);
}

/* A file renamed while open is reopened under its new name. */
static void test_renamed_open_file_restores(void **state) {
  fixture *fx = *state;
  write_file(fx->dir_a, "tmp.txt", "0123456789");
  write_file(fx->dir_b, "final.txt", "0123456789");
  uint32_t fd;
  char buf[16];
  assert_int_equal(wopen(fx->a, 3, "tmp.txt", 0, 0, 0, &fd), 0);
  assert_int_equal(wread(fx->a, fd, 4, buf), 0);
  uint32_t len = put_str(fx->a, G_PATH, "tmp.txt");
  uint32_t len2 = put_str(fx->a, G_PATH2, "final.txt");
  assert_int_equal(W(fx->a, "path_rename", 3, G_PATH, len, 3, G_PATH2, len2), 0);
  kafu_buf st = save(fx->a);
  assert_int_equal(restore_counting_warnings(fx->b, &st, KAFU_OK), 0);
  kafu_buf_free(&st);
  assert_int_equal(wread(fx->b, fd, 3, buf), 0);
  assert_string_equal(buf, "456");
}

static void test_created_file_is_not_recreated(void **state) {
  fixture *fx = *state;
  uint32_t fd;
  assert_int_equal(wopen(fx->a, 3, "new.txt", 0, 1 | 8 /* CREAT|TRUNC */, 0, &fd), 0);
  kafu_buf st = save(fx->a);
  assert_int_equal(restore_counting_warnings(fx->b, &st, KAFU_OK), 1);
  kafu_buf_free(&st);
  assert_false(path_exists(fx->dir_b, "new.txt"));
}

static void test_missing_preopen_on_target(void **state) {
  fixture *fx = *state;
  /* restore A's state into a node without /data at all */
  kafu_wasi_preopen p = {fx->dir_other, "/elsewhere"};
  kafu_wasi_config c = {.n_preopens = 1, .preopens = &p, .stdin_fd = -1};
  wasi_t *t = wasi_t_new(c, 0);
  assert_non_null(t);
  write_file(fx->dir_a, "f", "x");
  uint32_t fd;
  assert_int_equal(wopen(fx->a, 3, "f", 0, 0, 0, &fd), 0);
  kafu_buf st = save(fx->a);
  assert_int_equal(restore_counting_warnings(t, &st, KAFU_OK), 2); /* the preopen and the file */
  kafu_buf_free(&st);
  assert_int_equal(W(t, "fd_prestat_get", 3, 100), 8);
  char buf[4];
  assert_int_equal(wread(t, fd, 1, buf), 8);
  wasi_t_free(t);
}

static uint64_t guest_mono(wasi_t *t) {
  assert_int_equal(W(t, "clock_time_get", 1, 1, 16), 0);
  return rd64(t, 16);
}

static void test_monotonic_clock_continues(void **state) {
  fixture *fx = *state;
  /* Push A's clock far ahead first (as if it had come from a node with a
   * later boot), via a round trip through a crafted restore. */
  kafu_buf st = save(fx->a);
  uint64_t far = guest_mono(fx->a) + 1000000000000ull; /* +1000 s */
  memcpy(st.data + 6, &far, 8);                        /* the clock field follows magic+version */
  kafu_error err = {0};
  assert_int_equal(kafu_wasi_restore(fx->a->w, st.data, st.len, &err), KAFU_OK);
  kafu_buf_free(&st);
  uint64_t t1 = guest_mono(fx->a);
  assert_true(t1 >= far);
  st = save(fx->a);
  struct timespec pause = {0, 50000000}; /* the migration pause */
  nanosleep(&pause, NULL);
  assert_int_equal(kafu_wasi_restore(fx->b->w, st.data, st.len, &err), KAFU_OK);
  kafu_buf_free(&st);
  uint64_t t2 = guest_mono(fx->b);
  assert_true(t2 >= t1);                             /* never backwards */
  assert_true(t2 - t1 <= 50000000ull + 20000000ull); /* forward by at most the pause (+slack) */
  uint64_t t3 = guest_mono(fx->b);
  assert_true(t3 >= t2);
  /* And from a node whose clock reads lower than ours: still continuous. */
  st = save(fx->b);
  uint64_t low = 5;
  memcpy(st.data + 6, &low, 8);
  assert_int_equal(kafu_wasi_restore(fx->a->w, st.data, st.len, &err), KAFU_OK);
  kafu_buf_free(&st);
  uint64_t t4 = guest_mono(fx->a);
  assert_true(t4 >= 5 && t4 < 1000000000ull);
}

static void test_readdir_continues_across_restore(void **state) {
  fixture *fx = *state;
  const char *names[] = {"e", "b", "d", "a", "c"};
  for (int i = 0; i < 5; i++) {
    write_file(fx->dir_a, names[i], "");
    write_file(fx->dir_b, names[4 - i], ""); /* created in another order */
  }
  wasi_t *a = fx->a, *b = fx->b;
  /* read ., .., a on A; remember the cookie */
  assert_int_equal(W(a, "fd_readdir", 3, G_BUF, 4096, 0, G_RES), 0);
  uint32_t off = 0;
  uint64_t cookie = 0;
  for (int i = 0; i < 3; i++) {
    cookie = rd64(a, G_BUF + off);
    off += 24 + rd32(a, G_BUF + off + 16);
  }
  kafu_buf st = save(a);
  assert_int_equal(restore_counting_warnings(b, &st, KAFU_OK), 0);
  kafu_buf_free(&st);
  assert_int_equal(W(b, "fd_readdir", 3, G_BUF, 4096, cookie, G_RES), 0);
  char got[64] = {0};
  uint32_t used = rd32(b, G_RES);
  for (off = 0; off + 24 <= used;) {
    uint32_t nl = rd32(b, G_BUF + off + 16);
    strncat(got, (const char *)b->mem + G_BUF + off + 24, nl);
    off += 24 + nl;
  }
  assert_string_equal(got, "bcde");
}

/* ---- hostile state bytes ---- */

static void put_u32(kafu_buf *b, uint32_t v) {
  kafu_buf_u32le(b, v);
}

/* A valid hand-made state: one preopen "/data", fd 3 = preopen, fd 4 = file
 * with path `rel`, offset 2. */
static kafu_buf craft(const char *rel) {
  kafu_buf b = {0};
  put_u32(&b, 0x4953574bu);
  kafu_buf_u16le(&b, 1);
  kafu_buf_u64le(&b, 1000);
  put_u32(&b, 1);
  kafu_buf_str(&b, "/data");
  put_u32(&b, 5);
  for (uint32_t i = 0; i < 3; i++) {
    put_u32(&b, i);
    kafu_buf_u8(&b, 1);
    kafu_buf_u8(&b, (uint8_t)i);
  }
  put_u32(&b, 3);
  kafu_buf_u8(&b, 2);
  put_u32(&b, 0);
  put_u32(&b, 4);
  kafu_buf_u8(&b, 3);
  put_u32(&b, 0);
  kafu_buf_str(&b, rel);
  kafu_buf_u8(&b, 4); /* regular file */
  kafu_buf_u8(&b, 1); /* read */
  kafu_buf_u16le(&b, 0);
  kafu_buf_u16le(&b, 0);
  kafu_buf_u64le(&b, 0x3fffffff);
  kafu_buf_u64le(&b, 0);
  kafu_buf_u64le(&b, 2);
  return b;
}

static void test_crafted_state_roundtrip_and_sandbox(void **state) {
  fixture *fx = *state;
  write_file(fx->dir_b, "f", "abcdef");
  kafu_buf st = craft("f");
  assert_int_equal(restore_counting_warnings(fx->b, &st, KAFU_OK), 0);
  kafu_buf_free(&st);
  char buf[8];
  assert_int_equal(wread(fx->b, 4, 7, buf), 0);
  assert_string_equal(buf, "cdef");
  /* paths in the state are hostile too: they go through the sandbox */
  const char *evil[] = {"../outside", "/etc/passwd", "x/../../etc/passwd"};
  for (int i = 0; i < 3; i++) {
    st = craft(evil[i]);
    assert_int_equal(restore_counting_warnings(fx->b, &st, KAFU_OK), 1);
    kafu_buf_free(&st);
    assert_int_equal(wread(fx->b, 4, 7, buf), 8);
  }
}

static void test_malformed_state_rejected(void **state) {
  fixture *fx = *state;
  write_file(fx->dir_b, "f", "abcdef");
  kafu_buf good = craft("f");
  kafu_error err;
  /* every truncation */
  for (size_t len = 0; len < good.len; len++) {
    memset(&err, 0, sizeof err);
    assert_int_equal(kafu_wasi_restore(fx->b->w, good.data, len, &err), KAFU_E_INPUT);
    assert_true(err.msg[0] != '\0');
  }
  /* a trailing byte */
  kafu_buf longer = {0};
  kafu_buf_append(&longer, good.data, good.len);
  kafu_buf_u8(&longer, 0);
  assert_int_equal(kafu_wasi_restore(fx->b->w, longer.data, longer.len, &err), KAFU_E_INPUT);
  kafu_buf_free(&longer);
  /* targeted corruptions: offset, new value (u32 little-endian) */
  struct {
    size_t off;
    uint32_t v;
    size_t width;
  } bad[] = {
      {0, 0x12345678, 4},  /* magic */
      {4, 2, 2},           /* version */
      {14, 0xffffffff, 4}, /* preopen count */
      {18, 0x10000, 4},    /* preopen name length */
      {27, 0xffffffff, 4}, /* fd count */
      {31, 0x7fffffff, 4}, /* fd number out of range */
      {37, 0, 4},          /* fd 1 repeats fd 0 */
      {36, 7, 1},          /* stdio index */
      {35, 9, 1},          /* record kind */
      {34, 9, 1},          /* fd number's high byte */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    kafu_buf b = {0};
    kafu_buf_append(&b, good.data, good.len);
    memcpy(b.data + bad[i].off, &bad[i].v, bad[i].width);
    memset(&err, 0, sizeof err);
    kafu_err rc = kafu_wasi_restore(fx->b->w, b.data, b.len, &err);
    if (rc != KAFU_E_INPUT) fprintf(stderr, "corruption %zu accepted\n", i);
    assert_int_equal(rc, KAFU_E_INPUT);
    kafu_buf_free(&b);
  }
  /* every single-byte flip: never a crash, always OK or INPUT */
  kafu_log_set_level(KAFU_LOG_ERROR); /* lost-file warnings are expected here */
  for (size_t off = 0; off < good.len; off++) {
    for (int bit = 0; bit < 8; bit++) {
      kafu_buf b = {0};
      kafu_buf_append(&b, good.data, good.len);
      b.data[off] ^= (uint8_t)(1u << bit);
      kafu_err rc = kafu_wasi_restore(fx->b->w, b.data, b.len, &err);
      assert_true(rc == KAFU_OK || rc == KAFU_E_INPUT);
      kafu_buf_free(&b);
    }
  }
  kafu_log_set_level(KAFU_LOG_INFO);
  /* the context still works after all that */
  assert_int_equal(kafu_wasi_restore(fx->b->w, good.data, good.len, &err), KAFU_OK);
  char buf[8];
  assert_int_equal(wread(fx->b, 4, 7, buf), 0);
  assert_string_equal(buf, "cdef");
  kafu_buf_free(&good);
}

/* Regression (found by fuzz_wasi_restore): a saved clock near 2^63 made the
 * offset arithmetic overflow. Such clocks are rejected; the largest accepted
 * one still reads without overflow (UBSan checks this in the ASan build). */
static void test_regression_huge_saved_clock(void **state) {
  fixture *fx = *state;
  kafu_buf st = craft("f");
  uint64_t huge = 0x8000000000000000ull;
  memcpy(st.data + 6, &huge, 8);
  kafu_error err = {0};
  assert_int_equal(kafu_wasi_restore(fx->b->w, st.data, st.len, &err), KAFU_E_INPUT);
  uint64_t max = 1ull << 62;
  memcpy(st.data + 6, &max, 8);
  kafu_log_set_level(KAFU_LOG_ERROR); /* "f" does not exist in B */
  assert_int_equal(kafu_wasi_restore(fx->b->w, st.data, st.len, &err), KAFU_OK);
  kafu_log_set_level(KAFU_LOG_INFO);
  assert_true(guest_mono(fx->b) >= max);
  assert_true(guest_mono(fx->b) < max + 60000000000ull);
  kafu_buf_free(&st);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_file_continues_at_offset, setup, teardown),
      cmocka_unit_test_setup_teardown(test_missing_file_is_ebadf_with_one_warning, setup, teardown),
      cmocka_unit_test_setup_teardown(test_created_file_is_not_recreated, setup, teardown),
      cmocka_unit_test_setup_teardown(test_renamed_open_file_restores, setup, teardown),
      cmocka_unit_test_setup_teardown(test_missing_preopen_on_target, setup, teardown),
      cmocka_unit_test_setup_teardown(test_monotonic_clock_continues, setup, teardown),
      cmocka_unit_test_setup_teardown(test_readdir_continues_across_restore, setup, teardown),
      cmocka_unit_test_setup_teardown(test_crafted_state_roundtrip_and_sandbox, setup, teardown),
      cmocka_unit_test_setup_teardown(test_malformed_state_rejected, setup, teardown),
      cmocka_unit_test_setup_teardown(test_regression_huge_saved_clock, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
