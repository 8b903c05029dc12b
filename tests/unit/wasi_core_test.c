/* WASI host, non-filesystem parts: import table signatures, args/environ
 * layout, stdio through the output hook and host fds, clocks, random,
 * proc_exit, prestat, poll_oneoff sleeps, and hostile guest pointers. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "../wasi/wasi_fake.h"

static const char *k_argv[] = {"prog", "a b", "ccc"};
static const char *k_envp[] = {"K=V", "EMPTY="};

static wasi_t *basic(void) {
  static char dir[] = "/tmp";
  kafu_wasi_preopen pre = {dir, "/data"};
  kafu_wasi_config cfg = {.argc = 3,
                          .argv = k_argv,
                          .envc = 2,
                          .envp = k_envp,
                          .n_preopens = 1,
                          .preopens = &pre,
                          .stdin_fd = -1};
  wasi_t *t = wasi_t_new(cfg, 0);
  assert_non_null(t);
  return t;
}

static uint64_t now_ns(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void test_import_table(void **state) {
  (void)state;
  wasi_t *t = basic();
  static const char *need[] = {"args_get",
                               "args_sizes_get",
                               "environ_get",
                               "environ_sizes_get",
                               "clock_res_get",
                               "clock_time_get",
                               "random_get",
                               "fd_read",
                               "fd_write",
                               "fd_pread",
                               "fd_pwrite",
                               "fd_seek",
                               "fd_tell",
                               "fd_close",
                               "fd_sync",
                               "fd_datasync",
                               "fd_fdstat_get",
                               "fd_fdstat_set_flags",
                               "fd_prestat_get",
                               "fd_prestat_dir_name",
                               "fd_filestat_get",
                               "fd_filestat_set_size",
                               "fd_filestat_set_times",
                               "fd_readdir",
                               "fd_advise",
                               "fd_allocate",
                               "fd_renumber",
                               "path_open",
                               "path_create_directory",
                               "path_unlink_file",
                               "path_remove_directory",
                               "path_rename",
                               "path_filestat_get",
                               "path_filestat_set_times",
                               "path_readlink",
                               "path_symlink",
                               "path_link",
                               "poll_oneoff",
                               "sched_yield",
                               "proc_exit",
                               "proc_raise"};
  for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
    const kafu_host_import *imp = wasi_t_find(t, need[i]);
    assert_non_null(imp);
    assert_string_equal(imp->module, "wasi_snapshot_preview1");
    assert_ptr_equal(imp->env, t->w);
  }
  /* Spot-check exact signatures, especially the i64 positions. */
  const kafu_host_import *po = wasi_t_find(t, "path_open");
  assert_int_equal(po->n_params, 9);
  assert_int_equal(po->n_results, 1);
  for (int i = 0; i < 9; i++)
    assert_int_equal(po->params[i], (i == 5 || i == 6) ? KAFU_I64 : KAFU_I32);
  const kafu_host_import *seek = wasi_t_find(t, "fd_seek");
  assert_int_equal(seek->n_params, 4);
  assert_int_equal(seek->params[1], KAFU_I64);
  assert_int_equal(seek->params[2], KAFU_I32);
  const kafu_host_import *ct = wasi_t_find(t, "clock_time_get");
  assert_int_equal(ct->params[1], KAFU_I64);
  const kafu_host_import *pe = wasi_t_find(t, "proc_exit");
  assert_int_equal(pe->n_params, 1);
  assert_int_equal(pe->n_results, 0);
  const kafu_host_import *fst = wasi_t_find(t, "path_filestat_set_times");
  assert_int_equal(fst->n_params, 7);
  assert_int_equal(fst->params[4], KAFU_I64);
  assert_int_equal(fst->params[5], KAFU_I64);
  assert_int_equal(fst->params[6], KAFU_I32);
  /* cap limits how many are written */
  kafu_host_import few[3];
  assert_int_equal(kafu_wasi_imports(t->w, few, 3), 3);
  wasi_t_free(t);
}

static void test_args_environ_layout(void **state) {
  (void)state;
  wasi_t *t = basic();
  assert_int_equal(W(t, "args_sizes_get", 0, 4), 0);
  assert_int_equal(rd32(t, 0), 3);
  assert_int_equal(rd32(t, 4), 5 + 4 + 4);
  assert_int_equal(W(t, "args_get", 100, 200), 0);
  assert_int_equal(rd32(t, 100), 200);
  assert_int_equal(rd32(t, 104), 205);
  assert_int_equal(rd32(t, 108), 209);
  assert_memory_equal(t->mem + 200, "prog\0a b\0ccc\0", 13);

  assert_int_equal(W(t, "environ_sizes_get", 8, 12), 0);
  assert_int_equal(rd32(t, 8), 2);
  assert_int_equal(rd32(t, 12), 4 + 7);
  assert_int_equal(W(t, "environ_get", 300, 400), 0);
  assert_int_equal(rd32(t, 300), 400);
  assert_int_equal(rd32(t, 304), 404);
  assert_memory_equal(t->mem + 400, "K=V\0EMPTY=\0", 11);
  wasi_t_free(t);
}

static void test_stdout_stderr_hook(void **state) {
  (void)state;
  wasi_t *t = basic();
  /* Two iovecs, one empty. */
  put_str(t, G_BUF, "hello, world\n");
  wr32(t, G_IOV, G_BUF);
  wr32(t, G_IOV + 4, 7);
  wr32(t, G_IOV + 8, G_BUF + 7);
  wr32(t, G_IOV + 12, 0);
  wr32(t, G_IOV + 16, G_BUF + 7);
  wr32(t, G_IOV + 20, 6);
  assert_int_equal(W(t, "fd_write", 1, G_IOV, 3, G_RES), 0);
  assert_int_equal(rd32(t, G_RES), 13);
  uint32_t n;
  assert_int_equal(wwrite(t, 2, "err!", &n), 0);
  assert_int_equal(n, 4);
  assert_int_equal(t->out_len, 17);
  assert_memory_equal(t->out, "hello, world\nerr!", 17);
  assert_int_equal(t->out_fds[0], 13);
  assert_int_equal(t->out_fds[1], 4);
  /* stdout cannot be read or seeked; stdin cannot be written */
  char buf[16];
  assert_int_equal(wread(t, 1, 4, buf), 8 /* EBADF */);
  assert_int_equal(W(t, "fd_seek", 1, 0, 0, G_RES), 70 /* ESPIPE */);
  assert_int_equal(wwrite(t, 0, "x", NULL), 8);
  /* empty stdin reads EOF */
  assert_int_equal(wread(t, 0, 4, buf), 0);
  assert_int_equal(buf[0], '\0');
  /* fdstat: a character device without seek rights (isatty works) */
  assert_int_equal(W(t, "fd_fdstat_get", 1, 64), 0);
  assert_int_equal(t->mem[64], 2);
  assert_int_equal(rd64(t, 72) & 4 /* FD_SEEK */, 0);
  wasi_t_free(t);
}

static void test_stdin_from_host_fd(void **state) {
  (void)state;
  int p[2];
  assert_int_equal(pipe(p), 0);
  assert_int_equal(write(p[1], "input!", 6), 6);
  close(p[1]);
  kafu_wasi_config cfg = {.stdin_fd = p[0]};
  wasi_t *t = wasi_t_new(cfg, 0);
  assert_non_null(t);
  close(p[0]); /* the context holds its own duplicate */
  char buf[16];
  assert_int_equal(wread(t, 0, 3, buf), 0);
  assert_string_equal(buf, "inp");
  assert_int_equal(wread(t, 0, 16, buf), 0);
  assert_string_equal(buf, "ut!");
  assert_int_equal(wread(t, 0, 16, buf), 0);
  assert_string_equal(buf, "");
  wasi_t_free(t);
}

/* Regression: fd_fdstat_set_flags(NONBLOCK) on stdio changed the embedder's
 * own descriptor, since a dup shares the open file description. */
static void test_stdio_flags_stay_in_guest(void **state) {
  (void)state;
  int p[2];
  assert_int_equal(pipe(p), 0);
  kafu_wasi_config cfg = {.stdin_fd = p[0]};
  wasi_t *t = wasi_t_new(cfg, 0);
  assert_non_null(t);
  assert_int_equal(W(t, "fd_fdstat_set_flags", 0, 4 /* NONBLOCK */), 0);
  assert_int_equal(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
  assert_int_equal(W(t, "fd_fdstat_get", 0, 64), 0);
  assert_int_equal(t->mem[66], 4);
  wasi_t_free(t);
  close(p[0]);
  close(p[1]);
}

static void test_stdout_to_host_fd(void **state) {
  (void)state;
  /* Without a hook, fd 1 is this process's fd 1: redirect it to a file. */
  char path[] = "/tmp/kafu-wasi-stdout-XXXXXX";
  int tmp = mkstemp(path);
  assert_true(tmp >= 0);
  fflush(stdout);
  int saved = dup(1);
  dup2(tmp, 1);
  kafu_wasi_config cfg = {.stdin_fd = -1};
  wasi_t *t = wasi_t_new(cfg, 1);
  uint32_t n = 0;
  uint32_t e = wwrite(t, 1, "direct", &n);
  dup2(saved, 1);
  close(saved);
  assert_int_equal(e, 0);
  assert_int_equal(n, 6);
  char buf[16] = {0};
  assert_int_equal(pread(tmp, buf, sizeof buf, 0), 6);
  assert_string_equal(buf, "direct");
  close(tmp);
  unlink(path);
  wasi_t_free(t);
}

static void test_clocks(void **state) {
  (void)state;
  wasi_t *t = basic();
  uint64_t prev = 0;
  for (int i = 0; i < 100; i++) {
    assert_int_equal(W(t, "clock_time_get", 1, 1, 16), 0);
    assert_true(rd64(t, 16) >= prev);
    prev = rd64(t, 16);
  }
  uint64_t before = now_ns(CLOCK_REALTIME);
  assert_int_equal(W(t, "clock_time_get", 0, 1000, 16), 0);
  uint64_t after = now_ns(CLOCK_REALTIME);
  assert_true(rd64(t, 16) >= before && rd64(t, 16) <= after);
  assert_int_equal(W(t, "clock_time_get", 2, 1, 16), 0);
  assert_true(rd64(t, 16) > 0);
  assert_int_equal(W(t, "clock_time_get", 3, 1, 16), 0);
  for (uint32_t id = 0; id < 4; id++) {
    wr32(t, 24, 0);
    wr32(t, 28, 0);
    assert_int_equal(W(t, "clock_res_get", id, 24), 0);
    assert_true(rd64(t, 24) > 0);
  }
  assert_int_equal(W(t, "clock_time_get", 4, 1, 16), 28 /* EINVAL */);
  assert_int_equal(W(t, "clock_res_get", 99, 16), 28);
  wasi_t_free(t);
}

static void test_random(void **state) {
  (void)state;
  wasi_t *t = basic();
  memset(t->mem + 100, 0, 256);
  assert_int_equal(W(t, "random_get", 100, 256), 0);
  int nonzero = 0;
  for (int i = 0; i < 256; i++)
    nonzero += t->mem[100 + i] != 0;
  assert_true(nonzero > 200);
  assert_int_equal(W(t, "random_get", 0, 0), 0);
  assert_int_equal(W(t, "random_get", FAKE_MEM_SIZE - 8, 9), 21 /* EFAULT */);
  wasi_t_free(t);
}

static void test_bad_pointers(void **state) {
  (void)state;
  wasi_t *t = basic();
  const uint32_t end = FAKE_MEM_SIZE;
  assert_int_equal(W(t, "args_sizes_get", end - 2, 0), 21);
  assert_int_equal(W(t, "args_sizes_get", 0, 0xffffffffu), 21);
  assert_int_equal(W(t, "args_get", end - 4, 200), 21); /* 3 pointers do not fit */
  assert_int_equal(W(t, "args_get", 100, end - 5), 21); /* strings do not fit */
  assert_int_equal(W(t, "environ_get", 100, end - 1), 21);
  assert_int_equal(W(t, "clock_time_get", 1, 1, end - 7), 21);
  assert_int_equal(W(t, "clock_res_get", 1, 0xfffffffcu), 21);
  /* fd_write: iovec array out of bounds, then a buffer out of bounds, then a
   * wrapping length; the hook must see nothing. */
  assert_int_equal(W(t, "fd_write", 1, end - 4, 1, G_RES), 21);
  wr32(t, G_IOV, end - 2);
  wr32(t, G_IOV + 4, 3);
  assert_int_equal(W(t, "fd_write", 1, G_IOV, 1, G_RES), 21);
  wr32(t, G_IOV, 16);
  wr32(t, G_IOV + 4, 0xfffffff0u);
  assert_int_equal(W(t, "fd_write", 1, G_IOV, 1, G_RES), 21);
  wr32(t, G_IOV, 16);
  wr32(t, G_IOV + 4, 4);
  assert_int_equal(W(t, "fd_write", 1, G_IOV, 1, end), 21);             /* nwritten out of bounds */
  assert_int_equal(W(t, "fd_write", 1, G_IOV, 0x20000000u, G_RES), 21); /* huge iov count */
  assert_int_equal(t->out_len, 0);
  assert_int_equal(W(t, "fd_read", 0, end - 4, 1, G_RES), 21);
  assert_int_equal(W(t, "fd_fdstat_get", 1, end - 23), 21);
  assert_int_equal(W(t, "fd_prestat_get", 3, end - 7), 21);
  assert_int_equal(W(t, "fd_prestat_dir_name", 3, end - 2, 5), 21);
  assert_int_equal(W(t, "fd_filestat_get", 3, end - 63), 21);
  assert_int_equal(W(t, "path_open", 3, 0, end - 2, 10, 0, 0, 0, 0, G_RES), 21);
  assert_int_equal(W(t, "path_open", 3, 0, G_PATH, 0xffffffffu, 0, 0, 0, 0, G_RES), 21);
  assert_int_equal(W(t, "path_open", 3, 0, G_PATH, 1, 0, 0, 0, 0, end - 3), 21);
  assert_int_equal(W(t, "path_filestat_get", 3, 0, G_PATH, 1, end - 1), 21);
  assert_int_equal(W(t, "fd_readdir", 3, end - 10, 100, 0, G_RES), 21);
  assert_int_equal(W(t, "poll_oneoff", end - 10, 0, 1, G_RES), 21);
  assert_int_equal(W(t, "poll_oneoff", 0, end - 10, 1, G_RES), 21);
  assert_int_equal(W(t, "random_get", 0xffffffffu, 2), 21);
  wasi_t_free(t);
}

static void test_bad_fds(void **state) {
  (void)state;
  wasi_t *t = basic();
  char buf[8];
  assert_int_equal(wread(t, 9, 4, buf), 8);
  assert_int_equal(wwrite(t, 0x7fffffff, "x", NULL), 8);
  assert_int_equal(W(t, "fd_close", 77), 8);
  assert_int_equal(W(t, "fd_fdstat_get", 4, 0), 8);
  assert_int_equal(W(t, "fd_prestat_get", 0, 0), 8); /* stdio is not a preopen */
  assert_int_equal(W(t, "path_open", 1, 0, G_PATH, 1, 0, 0, 0, 0, G_RES), 8);
  assert_int_equal(W(t, "fd_close", 2), 0);
  assert_int_equal(wwrite(t, 2, "x", NULL), 8);
  assert_int_equal(W(t, "fd_close", 2), 8);
  wasi_t_free(t);
}

static void test_prestat(void **state) {
  (void)state;
  wasi_t *t = basic();
  assert_int_equal(W(t, "fd_prestat_get", 3, 32), 0);
  assert_int_equal(t->mem[32], 0);
  assert_int_equal(rd32(t, 36), 5);
  assert_int_equal(W(t, "fd_prestat_dir_name", 3, 40, 4), 37 /* ENAMETOOLONG */);
  assert_int_equal(W(t, "fd_prestat_dir_name", 3, 40, 5), 0);
  assert_memory_equal(t->mem + 40, "/data", 5);
  assert_int_equal(W(t, "fd_prestat_get", 4, 32), 8); /* only one preopen */
  assert_int_equal(W(t, "fd_fdstat_get", 3, 64), 0);
  assert_int_equal(t->mem[64], 3); /* directory */
  wasi_t_free(t);
}

static void test_proc_exit(void **state) {
  (void)state;
  wasi_t *t = basic();
  int code = -1;
  assert_false(kafu_wasi_exited(t->w, &code));
  assert_int_equal(W(t, "proc_exit", 7), 0xdead);
  assert_true(kafu_wasi_exited(t->w, &code));
  assert_int_equal(code, 7);
  assert_int_equal(W(t, "proc_raise", 9), 58 /* ENOTSUP */);
  assert_int_equal(wcall(t, "sched_yield", 0), 0);
  wasi_t_free(t);
}

/* Writes a clock subscription at guest offset off. */
static void put_clock_sub(wasi_t *t, uint32_t off, uint64_t userdata, uint32_t clock,
                          uint64_t timeout, uint16_t flags) {
  memset(t->mem + off, 0, 48);
  memcpy(t->mem + off, &userdata, 8);
  t->mem[off + 8] = 0;
  memcpy(t->mem + off + 16, &clock, 4);
  memcpy(t->mem + off + 24, &timeout, 8);
  memcpy(t->mem + off + 40, &flags, 2);
}

static void test_poll_sleep(void **state) {
  (void)state;
  wasi_t *t = basic();
  /* A relative 30 ms sleep. */
  put_clock_sub(t, 1000, 0xabcdef, 1, 30000000ull, 0);
  uint64_t start = now_ns(CLOCK_MONOTONIC);
  assert_int_equal(W(t, "poll_oneoff", 1000, 2000, 1, G_RES), 0);
  uint64_t took = now_ns(CLOCK_MONOTONIC) - start;
  assert_true(took >= 30000000ull);
  assert_true(took < 2000000000ull);
  assert_int_equal(rd32(t, G_RES), 1);
  assert_int_equal(rd64(t, 2000), 0xabcdef);
  assert_int_equal(t->mem[2000 + 8], 0);  /* no error */
  assert_int_equal(t->mem[2000 + 10], 0); /* clock event */
  /* Absolute monotonic deadline 20 ms from the guest's now. */
  assert_int_equal(W(t, "clock_time_get", 1, 1, 16), 0);
  put_clock_sub(t, 1000, 5, 1, rd64(t, 16) + 20000000ull, 1);
  start = now_ns(CLOCK_MONOTONIC);
  assert_int_equal(W(t, "poll_oneoff", 1000, 2000, 1, G_RES), 0);
  assert_true(now_ns(CLOCK_MONOTONIC) - start >= 19000000ull);
  assert_int_equal(rd64(t, 2000), 5);
  /* An fd subscription on stdout is ready at once, before a long sleep. */
  put_clock_sub(t, 1000, 1, 1, 10000000000ull, 0);
  memset(t->mem + 1048, 0, 48);
  t->mem[1048] = 9;     /* userdata */
  t->mem[1048 + 8] = 2; /* FD_WRITE */
  wr32(t, 1048 + 16, 1);
  start = now_ns(CLOCK_MONOTONIC);
  assert_int_equal(W(t, "poll_oneoff", 1000, 2000, 2, G_RES), 0);
  assert_true(now_ns(CLOCK_MONOTONIC) - start < 1000000000ull);
  assert_int_equal(rd32(t, G_RES), 1);
  assert_int_equal(rd64(t, 2000), 9);
  assert_int_equal(t->mem[2000 + 10], 2);
  assert_int_equal(W(t, "poll_oneoff", 1000, 2000, 0, G_RES), 28); /* no subscriptions */
  wasi_t_free(t);
}

/* fd_read subscriptions on a pipe stdin are polled for real: an empty pipe
 * lets the clock fire, a filled one is ready with its byte count. */
static void test_poll_stdin_pipe(void **state) {
  (void)state;
  int p[2];
  assert_int_equal(pipe(p), 0);
  kafu_wasi_config cfg = {.stdin_fd = p[0]};
  wasi_t *t = wasi_t_new(cfg, 0);
  assert_non_null(t);
  put_clock_sub(t, 1000, 1, 1, 20000000ull, 0);
  memset(t->mem + 1048, 0, 48);
  t->mem[1048] = 7;     /* userdata */
  t->mem[1048 + 8] = 1; /* FD_READ */
  wr32(t, 1048 + 16, 0);
  assert_int_equal(W(t, "poll_oneoff", 1000, 2000, 2, G_RES), 0);
  assert_int_equal(rd32(t, G_RES), 1);
  assert_int_equal(rd64(t, 2000), 1); /* the clock */
  assert_int_equal(write(p[1], "abc", 3), 3);
  put_clock_sub(t, 1000, 1, 1, 10000000000ull, 0);
  assert_int_equal(W(t, "poll_oneoff", 1000, 2000, 2, G_RES), 0);
  assert_int_equal(rd32(t, G_RES), 1);
  assert_int_equal(rd64(t, 2000), 7);
  assert_int_equal(t->mem[2000 + 10], 1);
  assert_int_equal(rd64(t, 2000 + 16), 3);
  /* a closed writer: readable with HANGUP */
  close(p[1]);
  char buf[8];
  assert_int_equal(wread(t, 0, 7, buf), 0);
  assert_int_equal(W(t, "poll_oneoff", 1048, 2000, 1, G_RES), 0);
  assert_int_equal(rd32(t, G_RES), 1);
  assert_int_equal(rd32(t, 2000 + 24) & 0xffff, 1);
  /* an fd subscription on a bad fd reports EBADF in its event */
  wr32(t, 1048 + 16, 99);
  assert_int_equal(W(t, "poll_oneoff", 1048, 2000, 1, G_RES), 0);
  assert_int_equal(rd32(t, 2000 + 8) & 0xffff, 8);
  wasi_t_free(t);
  close(p[0]);
}

static void test_missing_preopen_rejected(void **state) {
  (void)state;
  kafu_wasi_preopen pre = {"/nonexistent/kafu/dir", "/x"};
  kafu_wasi_config cfg = {.n_preopens = 1, .preopens = &pre, .stdin_fd = -1};
  kafu_wasi *w = NULL;
  kafu_error err = {0};
  assert_int_equal(kafu_wasi_new(&cfg, &w, &err), KAFU_E_INPUT);
  assert_null(w);
  assert_non_null(strstr(err.msg, "/nonexistent/kafu/dir"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_import_table),
      cmocka_unit_test(test_args_environ_layout),
      cmocka_unit_test(test_stdout_stderr_hook),
      cmocka_unit_test(test_stdin_from_host_fd),
      cmocka_unit_test(test_stdout_to_host_fd),
      cmocka_unit_test(test_stdio_flags_stay_in_guest),
      cmocka_unit_test(test_clocks),
      cmocka_unit_test(test_random),
      cmocka_unit_test(test_bad_pointers),
      cmocka_unit_test(test_bad_fds),
      cmocka_unit_test(test_prestat),
      cmocka_unit_test(test_proc_exit),
      cmocka_unit_test(test_poll_sleep),
      cmocka_unit_test(test_poll_stdin_pipe),
      cmocka_unit_test(test_missing_preopen_rejected),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
