/* WASI sandbox: no guest path may reach outside its preopen, whether through
 * `..`, absolute paths, symlinks pointing out (absolute or relative), symlink
 * chains, `..` after a symlink, or from a subdirectory fd, and for every path
 * operation, not only open. Escapes answer ENOTCAPABLE (76); symlink loops ELOOP. */
#define _GNU_SOURCE
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../wasi/wasi_fake.h"

enum { ENOTCAPABLE = 76, ELOOP_ = 32, CREAT = 1 };

typedef struct fixture {
  char *base; /* holds root/ (the preopen) and outside/ */
  char root[512];
  char outside[512];
  wasi_t *t;
} fixture;

static int setup(void **state) {
  fixture *fx = calloc(1, sizeof *fx);
  fx->base = make_tmpdir();
  snprintf(fx->root, sizeof fx->root, "%s/root", fx->base);
  snprintf(fx->outside, sizeof fx->outside, "%s/outside", fx->base);
  make_dir(fx->base, "root");
  make_dir(fx->base, "outside");
  write_file(fx->outside, "secret", "SECRET");
  make_dir(fx->root, "sub");
  make_dir(fx->root, "sub/deep");
  write_file(fx->root, "sub/file", "inside");
  make_link(fx->root, "abs", "/etc");
  make_link(fx->root, "absout", fx->outside);
  make_link(fx->root, "up", "..");
  make_link(fx->root, "upfile", "../outside/secret");
  make_link(fx->root, "sub/up2", "../..");
  make_link(fx->root, "l1", "l2");
  make_link(fx->root, "l2", "sub/up2/outside");
  make_link(fx->root, "lsub", "sub/deep");
  make_link(fx->root, "loop1", "loop2");
  make_link(fx->root, "loop2", "loop1");
  make_link(fx->root, "ok", "sub/file");
  make_link(fx->root, "sub/okup", "../ok");
  make_link(fx->root, "dang", "../outside/newfile");
  /* a chain of 50 links, each legal, ending at sub/file */
  char name[32], target[32];
  for (int i = 0; i < 50; i++) {
    snprintf(name, sizeof name, "c%d", i);
    snprintf(target, sizeof target, i == 49 ? "sub/file" : "c%d", i + 1);
    make_link(fx->root, name, target);
  }
  kafu_wasi_preopen pre = {fx->root, "/data"};
  kafu_wasi_config cfg = {.n_preopens = 1, .preopens = &pre, .stdin_fd = -1};
  fx->t = wasi_t_new(cfg, 0);
  if (!fx->t) return -1;
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  fixture *fx = *state;
  wasi_t_free(fx->t);
  rm_rf(fx->base);
  free(fx->base);
  free(fx);
  return 0;
}

/* Opens path (following symlinks) and returns errno; on success checks content. */
static uint32_t open_follow(wasi_t *t, uint32_t dirfd, const char *path, const char *want) {
  uint32_t fd;
  uint32_t e = wopen(t, dirfd, path, 1, 0, 0, &fd);
  if (e == 0 && want) {
    char buf[64];
    assert_int_equal(wread(t, fd, 63, buf), 0);
    assert_string_equal(buf, want);
    W(t, "fd_close", fd);
  }
  return e;
}

static void test_dotdot_and_absolute(void **state) {
  fixture *fx = *state;
  wasi_t *t = fx->t;
  uint32_t fd;
  assert_int_equal(open_follow(t, 3, "../outside/secret", NULL), ENOTCAPABLE);
  assert_int_equal(open_follow(t, 3, "..", NULL), ENOTCAPABLE);
  assert_int_equal(open_follow(t, 3, "sub/../../outside/secret", NULL), ENOTCAPABLE);
  assert_int_equal(open_follow(t, 3, "sub/deep/../../..", NULL), ENOTCAPABLE);
  assert_int_equal(open_follow(t, 3, "./sub/./../..//outside/secret", NULL), ENOTCAPABLE);
  assert_int_equal(open_follow(t, 3, "/etc/passwd", NULL), ENOTCAPABLE);
  char abs_secret[600];
  snprintf(abs_secret, sizeof abs_secret, "%s/secret", fx->outside);
  assert_int_equal(open_follow(t, 3, abs_secret, NULL), ENOTCAPABLE);
  assert_int_equal(wopen(t, 3, "../escape-created", 0, CREAT, 0, &fd), ENOTCAPABLE);
  assert_false(path_exists(fx->base, "escape-created"));
  /* `..` that stays inside is fine */
  assert_int_equal(open_follow(t, 3, "sub/deep/../file", "inside"), 0);
}

static void test_symlinks_out(void **state) {
  fixture *fx = *state;
  wasi_t *t = fx->t;
  uint32_t fd;
  assert_int_equal(open_follow(t, 3, "abs/passwd", NULL), ENOTCAPABLE);
  assert_int_equal(open_follow(t, 3, "abs", NULL), ENOTCAPABLE);
  assert_int_equal(wopen(t, 3, "abs", 0, 0, 0, &fd), ELOOP_); /* not followed: the link itself */
  assert_int_equal(wopen(t, 3, "abs/", 0, 0, 0, &fd), ENOTCAPABLE); /* '/' forces following */
  assert_int_equal(open_follow(t, 3, "absout/secret", NULL), ENOTCAPABLE);
  assert_int_equal(open_follow(t, 3, "up/outside/secret", NULL), ENOTCAPABLE);
  assert_int_equal(open_follow(t, 3, "upfile", NULL), ENOTCAPABLE);
  assert_int_equal(open_follow(t, 3, "sub/up2/outside/secret", NULL), ENOTCAPABLE);
  /* a dangling link pointing out must not create anything outside */
  assert_int_equal(wopen(t, 3, "dang", 1, CREAT, 0, &fd), ENOTCAPABLE);
  assert_int_equal(wopen(t, 3, "dang", 0, CREAT, 0, &fd), ELOOP_);
  assert_false(path_exists(fx->outside, "newfile"));
}

static void test_symlink_chains(void **state) {
  fixture *fx = *state;
  wasi_t *t = fx->t;
  assert_int_equal(open_follow(t, 3, "l1/secret", NULL), ENOTCAPABLE);
  assert_int_equal(open_follow(t, 3, "l1", NULL), ENOTCAPABLE);
  assert_int_equal(open_follow(t, 3, "loop1", NULL), ELOOP_);
  assert_int_equal(open_follow(t, 3, "loop1/x", NULL), ELOOP_);
  assert_int_equal(open_follow(t, 3, "c0", NULL), ELOOP_); /* 50 > the 40-link limit */
  assert_int_equal(open_follow(t, 3, "c20", "inside"), 0); /* 30 links are fine */
  assert_int_equal(open_follow(t, 3, "ok", "inside"), 0);
  assert_int_equal(open_follow(t, 3, "sub/okup", "inside"), 0);
}

static void test_dotdot_after_symlink(void **state) {
  fixture *fx = *state;
  wasi_t *t = fx->t;
  /* lsub -> sub/deep, so lsub/.. is sub (physical), lsub/../.. is the root */
  assert_int_equal(open_follow(t, 3, "lsub/../file", "inside"), 0);
  assert_int_equal(open_follow(t, 3, "lsub/../../sub/file", "inside"), 0);
  assert_int_equal(open_follow(t, 3, "lsub/../../../outside/secret", NULL), ENOTCAPABLE);
  assert_int_equal(open_follow(t, 3, "lsub/../up2/outside/secret", NULL), ENOTCAPABLE);
}

static void test_from_subdirectory_fd(void **state) {
  fixture *fx = *state;
  wasi_t *t = fx->t;
  uint32_t sub;
  assert_int_equal(wopen(t, 3, "sub", 0, 2 /* DIRECTORY */, 0, &sub), 0);
  assert_int_equal(open_follow(t, sub, "file", "inside"), 0);
  assert_int_equal(open_follow(t, sub, "../ok", "inside"), 0);
  assert_int_equal(open_follow(t, sub, "../../outside/secret", NULL), ENOTCAPABLE);
  assert_int_equal(open_follow(t, sub, "deep/../../..", NULL), ENOTCAPABLE);
  assert_int_equal(open_follow(t, sub, "up2", NULL), ENOTCAPABLE);
  /* a directory reached through a symlink is still bounded by the preopen */
  uint32_t deep;
  assert_int_equal(wopen(t, 3, "lsub", 1, 2, 0, &deep), 0);
  assert_int_equal(open_follow(t, deep, "../file", "inside"), 0);
  assert_int_equal(open_follow(t, deep, "../../../outside/secret", NULL), ENOTCAPABLE);
}

static void test_other_path_ops_confined(void **state) {
  fixture *fx = *state;
  wasi_t *t = fx->t;
  uint32_t len, len2;
  len = put_str(t, G_PATH, "../outside/secret");
  assert_int_equal(W(t, "path_unlink_file", 3, G_PATH, len), ENOTCAPABLE);
  assert_true(path_exists(fx->outside, "secret"));
  len = put_str(t, G_PATH, "absout/secret");
  assert_int_equal(W(t, "path_unlink_file", 3, G_PATH, len), ENOTCAPABLE);
  assert_true(path_exists(fx->outside, "secret"));
  len = put_str(t, G_PATH, "../outside");
  assert_int_equal(W(t, "path_remove_directory", 3, G_PATH, len), ENOTCAPABLE);
  len = put_str(t, G_PATH, "../evil");
  assert_int_equal(W(t, "path_create_directory", 3, G_PATH, len), ENOTCAPABLE);
  len = put_str(t, G_PATH, "up/evil");
  assert_int_equal(W(t, "path_create_directory", 3, G_PATH, len), ENOTCAPABLE);
  assert_false(path_exists(fx->base, "evil"));
  len = put_str(t, G_PATH, "ok");
  len2 = put_str(t, G_PATH2, "../outside/stolen");
  assert_int_equal(W(t, "path_rename", 3, G_PATH, len, 3, G_PATH2, len2), ENOTCAPABLE);
  len = put_str(t, G_PATH, "../outside/secret");
  len2 = put_str(t, G_PATH2, "stolen");
  assert_int_equal(W(t, "path_rename", 3, G_PATH, len, 3, G_PATH2, len2), ENOTCAPABLE);
  assert_int_equal(W(t, "path_link", 3, 0, G_PATH, len, 3, G_PATH2, len2), ENOTCAPABLE);
  len = put_str(t, G_PATH, "upfile");
  assert_int_equal(W(t, "path_link", 3, 1, G_PATH, len, 3, G_PATH2, len2), ENOTCAPABLE);
  assert_false(path_exists(fx->root, "stolen"));
  assert_false(path_exists(fx->outside, "stolen"));
  len = put_str(t, G_PATH, "abs");
  assert_int_equal(W(t, "path_filestat_get", 3, 1, G_PATH, len, 128), ENOTCAPABLE);
  assert_int_equal(W(t, "path_filestat_get", 3, 0, G_PATH, len, 128), 0); /* the link itself */
  assert_int_equal(t->mem[128 + 16], 7);
  len = put_str(t, G_PATH, "absout/secret");
  assert_int_equal(W(t, "path_filestat_set_times", 3, 0, G_PATH, len, 0, 0, 2 | 8), ENOTCAPABLE);
  len = put_str(t, G_PATH, "../outside/secret");
  assert_int_equal(W(t, "path_readlink", 3, G_PATH, len, G_BUF, 64, G_RES), ENOTCAPABLE);
  /* symlinks: absolute targets are refused; relative ones may be created
   * but never lead out when followed */
  len = put_str(t, G_PATH, "/etc/passwd");
  len2 = put_str(t, G_PATH2, "newabs");
  assert_int_equal(W(t, "path_symlink", G_PATH, len, 3, G_PATH2, len2), ENOTCAPABLE);
  assert_false(path_exists(fx->root, "newabs"));
  len = put_str(t, G_PATH, "../outside/secret");
  len2 = put_str(t, G_PATH2, "esc2");
  assert_int_equal(W(t, "path_symlink", G_PATH, len, 3, G_PATH2, len2), 0);
  assert_int_equal(open_follow(t, 3, "esc2", NULL), ENOTCAPABLE);
  len2 = put_str(t, G_PATH2, "../esc3");
  assert_int_equal(W(t, "path_symlink", G_PATH, len, 3, G_PATH2, len2), ENOTCAPABLE);
  assert_false(path_exists(fx->base, "esc3"));
}

static int count_host_fds(void) {
  int n = 0;
  DIR *d = opendir("/proc/self/fd");
  if (!d) return -1;
  while (readdir(d))
    n++;
  closedir(d);
  return n;
}

/* Every walk, failed or not, must give back the directory fds it opened. */
static void test_no_host_fd_leaks(void **state) {
  fixture *fx = *state;
  wasi_t *t = fx->t;
  int before = count_host_fds();
  assert_true(before > 0);
  const char *paths[] = {"../outside/secret",
                         "abs/passwd",
                         "l1/secret",
                         "loop1",
                         "c0",
                         "lsub/../../../outside/secret",
                         "sub/deep/../file",
                         "nope/x",
                         "sub/file/x",
                         "up/outside"};
  for (int round = 0; round < 20; round++) {
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
      uint32_t len = put_str(t, G_PATH, paths[i]);
      W(t, "path_filestat_get", 3, 1, G_PATH, len, 128);
      W(t, "path_create_directory", 3, G_PATH, len);
    }
  }
  assert_int_equal(count_host_fds(), before);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_dotdot_and_absolute, setup, teardown),
      cmocka_unit_test_setup_teardown(test_symlinks_out, setup, teardown),
      cmocka_unit_test_setup_teardown(test_symlink_chains, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dotdot_after_symlink, setup, teardown),
      cmocka_unit_test_setup_teardown(test_from_subdirectory_fd, setup, teardown),
      cmocka_unit_test_setup_teardown(test_other_path_ops_confined, setup, teardown),
      cmocka_unit_test_setup_teardown(test_no_host_fd_leaks, setup, teardown),
  };
  /* Once with the kernel-checked final open (openat2), once with the
   * portable fallback: both must hold the line on their own. */
  int failed = cmocka_run_group_tests_name("with openat2", tests, NULL, NULL);
  setenv("KAFU_WASI_NO_OPENAT2", "1", 1);
  failed += cmocka_run_group_tests_name("openat fallback", tests, NULL, NULL);
  return failed;
}
