/* WASI host, filesystem through a temp preopen: open/read/write/seek/tell,
 * positional I/O, filestat, truncate, readdir (sorted, paginated by cookie),
 * mkdir/rename/unlink/rmdir, symlink/readlink, fdflags, renumber. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../wasi/wasi_fake.h"

enum { CREAT = 1, DIRECTORY = 2, EXCL = 4, TRUNC = 8 };

typedef struct fixture {
  char *dir;
  wasi_t *t;
} fixture;

static int setup(void **state) {
  fixture *fx = calloc(1, sizeof *fx);
  fx->dir = make_tmpdir();
  kafu_wasi_preopen pre = {fx->dir, "/data"};
  kafu_wasi_config cfg = {.n_preopens = 1, .preopens = &pre, .stdin_fd = -1};
  fx->t = wasi_t_new(cfg, 0);
  if (!fx->t) return -1;
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  fixture *fx = *state;
  wasi_t_free(fx->t);
  rm_rf(fx->dir);
  free(fx->dir);
  free(fx);
  return 0;
}

static void test_create_write_seek_read(void **state) {
  fixture *fx = *state;
  wasi_t *t = fx->t;
  uint32_t fd, n;
  assert_int_equal(wopen(t, 3, "hello.txt", 0, CREAT | TRUNC, 0, &fd), 0);
  assert_true(fd >= 4);
  assert_int_equal(wwrite(t, fd, "0123456789", &n), 0);
  assert_int_equal(n, 10);
  assert_int_equal(W(t, "fd_tell", fd, 16), 0);
  assert_int_equal(rd64(t, 16), 10);
  assert_int_equal(W(t, "fd_seek", fd, 3, 0 /* SET */, 16), 0);
  assert_int_equal(rd64(t, 16), 3);
  char buf[64];
  assert_int_equal(wread(t, fd, 4, buf), 0);
  assert_string_equal(buf, "3456");
  assert_int_equal(W(t, "fd_seek", fd, (uint64_t)-2, 2 /* END */, 16), 0);
  assert_int_equal(rd64(t, 16), 8);
  assert_int_equal(W(t, "fd_seek", fd, (uint64_t)-1, 1 /* CUR */, 16), 0);
  assert_int_equal(rd64(t, 16), 7);
  assert_int_equal(W(t, "fd_seek", fd, (uint64_t)-100, 1, 16), 28); /* EINVAL */
  assert_int_equal(W(t, "fd_seek", fd, 0, 3, 16), 28);              /* bad whence */
  /* positional I/O leaves the position alone */
  put_str(t, G_BUF, "AB");
  wr32(t, G_IOV, G_BUF);
  wr32(t, G_IOV + 4, 2);
  assert_int_equal(W(t, "fd_pwrite", fd, G_IOV, 1, 0, G_RES), 0);
  assert_int_equal(rd32(t, G_RES), 2);
  wr32(t, G_IOV, G_BUF + 100);
  wr32(t, G_IOV + 4, 5);
  assert_int_equal(W(t, "fd_pread", fd, G_IOV, 1, 1, G_RES), 0);
  assert_int_equal(rd32(t, G_RES), 5);
  assert_memory_equal(t->mem + G_BUF + 100, "B2345", 5);
  assert_int_equal(W(t, "fd_tell", fd, 16), 0);
  assert_int_equal(rd64(t, 16), 7);
  /* filestat, truncate, sync */
  assert_int_equal(W(t, "fd_filestat_get", fd, 128), 0);
  assert_int_equal(t->mem[128 + 16], 4); /* regular file */
  assert_int_equal(rd64(t, 128 + 32), 10);
  assert_int_equal(W(t, "fd_filestat_set_size", fd, 4), 0);
  assert_int_equal(W(t, "fd_filestat_get", fd, 128), 0);
  assert_int_equal(rd64(t, 128 + 32), 4);
  assert_int_equal(W(t, "fd_sync", fd), 0);
  assert_int_equal(W(t, "fd_datasync", fd), 0);
  assert_int_equal(W(t, "fd_advise", fd, 0, 4, 1), 0);
  assert_int_equal(W(t, "fd_advise", fd, 0, 4, 9), 28);
  assert_int_equal(W(t, "fd_allocate", fd, 0, 100), 0);
  assert_int_equal(W(t, "fd_filestat_get", fd, 128), 0);
  assert_int_equal(rd64(t, 128 + 32), 100);
  assert_int_equal(W(t, "fd_filestat_set_times", fd, 1000000000ull, 2000000000ull, 1 | 4), 0);
  assert_int_equal(W(t, "fd_filestat_get", fd, 128), 0);
  assert_int_equal(rd64(t, 128 + 48), 2000000000ull);
  assert_int_equal(W(t, "fd_filestat_set_times", fd, 0, 0, 1 | 2), 28); /* ATIM + ATIM_NOW */
  assert_int_equal(W(t, "fd_close", fd), 0);
  assert_int_equal(W(t, "fd_close", fd), 8);
  /* the file really is on the host, in the preopen */
  assert_true(path_exists(fx->dir, "hello.txt"));
}

static void test_open_errors(void **state) {
  fixture *fx = *state;
  wasi_t *t = fx->t;
  write_file(fx->dir, "f", "x");
  make_dir(fx->dir, "d");
  uint32_t fd;
  assert_int_equal(wopen(t, 3, "nope", 0, 0, 0, &fd), 44);         /* ENOENT */
  assert_int_equal(wopen(t, 3, "f", 0, CREAT | EXCL, 0, &fd), 20); /* EEXIST */
  assert_int_equal(wopen(t, 3, "f", 0, DIRECTORY, 0, &fd), 54);    /* ENOTDIR */
  assert_int_equal(wopen(t, 3, "f/", 0, 0, 0, &fd), 54);           /* ENOTDIR */
  assert_int_equal(wopen(t, 3, "f/x", 0, 0, 0, &fd), 54);          /* ENOTDIR */
  assert_int_equal(wopen(t, 3, "nodir/x", 0, CREAT, 0, &fd), 44);
  assert_int_equal(wopen(t, 3, "", 0, 0, 0, &fd), 44);
  /* a file fd is not a directory fd */
  assert_int_equal(wopen(t, 3, "f", 0, 0, 0, &fd), 0);
  uint32_t fd2;
  assert_int_equal(wopen(t, fd, "x", 0, 0, 0, &fd2), 54);
  assert_int_equal(W(t, "fd_readdir", fd, G_BUF, 256, 0, G_RES), 54);
  /* directories open with DIRECTORY or plain, "." is the preopen itself */
  assert_int_equal(wopen(t, 3, "d", 0, DIRECTORY, 0, &fd2), 0);
  assert_int_equal(W(t, "fd_fdstat_get", fd2, 64), 0);
  assert_int_equal(t->mem[64], 3);
  assert_int_equal(W(t, "fd_seek", fd2, 0, 0, 16), 31); /* EISDIR */
  assert_int_equal(wopen(t, 3, ".", 0, DIRECTORY, 0, &fd2), 0);
  assert_int_equal(wopen(t, 3, "d/../d/./", 0, 0, 0, &fd2), 0);
  /* bad flags */
  assert_int_equal(wopen(t, 3, "f", 0, 0x10, 0, &fd2), 28);
  /* NUL inside the path */
  memcpy(t->mem + G_PATH, "f\0x", 3);
  assert_int_equal(W(t, "path_open", 3, 0, G_PATH, 3, 0, 0, 0, 0, G_RES), 28);
}

static void test_read_only_and_append(void **state) {
  fixture *fx = *state;
  wasi_t *t = fx->t;
  write_file(fx->dir, "ro", "data");
  uint32_t fd, n;
  /* rights without FD_WRITE: opened read-only on the host */
  put_str(t, G_PATH, "ro");
  assert_int_equal(W(t, "path_open", 3, 0, G_PATH, 2, 0, 2 /* FD_READ */, 0, 0, G_RES), 0);
  fd = rd32(t, G_RES);
  assert_int_equal(wwrite(t, fd, "zz", &n), 8); /* EBADF from the host */
  assert_int_equal(W(t, "fd_fdstat_get", fd, 64), 0);
  assert_int_equal(rd64(t, 64 + 8), 2); /* rights as requested */
  /* append flag via open and via fdstat_set_flags */
  assert_int_equal(wopen(t, 3, "ro", 0, 0, 1 /* APPEND */, &fd), 0);
  assert_int_equal(wwrite(t, fd, "++", &n), 0);
  assert_int_equal(W(t, "fd_fdstat_get", fd, 64), 0);
  assert_int_equal(rd32(t, 64 + 2) & 0xffff, 1);
  assert_int_equal(W(t, "fd_fdstat_set_flags", fd, 0), 0);
  assert_int_equal(W(t, "fd_seek", fd, 0, 0, 16), 0);
  assert_int_equal(wwrite(t, fd, "D", &n), 0);
  assert_int_equal(W(t, "fd_fdstat_set_flags", fd, 16 /* SYNC */), 58);
  char buf[32];
  uint32_t rfd;
  assert_int_equal(wopen(t, 3, "ro", 0, 0, 0, &rfd), 0);
  assert_int_equal(wread(t, rfd, 31, buf), 0);
  assert_string_equal(buf, "Data++");
}

/* Collects readdir names (comma-separated) with a buffer of buf_len bytes,
 * restarting from the last complete entry as wasi-libc does. */
static void list_dir(wasi_t *t, uint32_t fd, uint32_t buf_len, char *out, size_t cap) {
  uint64_t cookie = 0;
  out[0] = '\0';
  for (int rounds = 0; rounds < 1000; rounds++) {
    assert_int_equal(W(t, "fd_readdir", fd, G_BUF, buf_len, cookie, G_RES), 0);
    uint32_t used = rd32(t, G_RES);
    uint32_t off = 0;
    bool progressed = false;
    while (off + 24 <= used) {
      uint64_t next = rd64(t, G_BUF + off);
      uint32_t namlen = rd32(t, G_BUF + off + 16);
      if (off + 24 + namlen > used) break; /* truncated: ask again from cookie */
      strncat(out, (const char *)t->mem + G_BUF + off + 24, namlen);
      strncat(out, ",", cap - strlen(out) - 1);
      cookie = next;
      progressed = true;
      off += 24 + namlen;
    }
    if (used < buf_len) return; /* end of directory */
    assert_true(progressed);
  }
  fail();
}

static void test_readdir(void **state) {
  fixture *fx = *state;
  wasi_t *t = fx->t;
  write_file(fx->dir, "charlie", "");
  write_file(fx->dir, "alpha", "");
  write_file(fx->dir, "bravo", "");
  make_dir(fx->dir, "delta");
  char names[512];
  list_dir(t, 3, 4096, names, sizeof names);
  assert_string_equal(names, ".,..,alpha,bravo,charlie,delta,");
  /* a buffer that holds barely one entry at a time */
  list_dir(t, 3, 24 + 8, names, sizeof names);
  assert_string_equal(names, ".,..,alpha,bravo,charlie,delta,");
  /* types */
  assert_int_equal(W(t, "fd_readdir", 3, G_BUF, 4096, 5, G_RES), 0);
  assert_int_equal(t->mem[G_BUF + 20], 3); /* delta is a directory */
  assert_int_equal(W(t, "fd_readdir", 3, G_BUF, 4096, 4, G_RES), 0);
  assert_int_equal(t->mem[G_BUF + 20], 4); /* charlie is a file */
  /* past the end: nothing */
  assert_int_equal(W(t, "fd_readdir", 3, G_BUF, 4096, 99, G_RES), 0);
  assert_int_equal(rd32(t, G_RES), 0);
  /* a subdirectory opened by path */
  uint32_t fd;
  write_file(fx->dir, "delta/echo", "");
  assert_int_equal(wopen(t, 3, "delta", 0, DIRECTORY, 0, &fd), 0);
  list_dir(t, fd, 4096, names, sizeof names);
  assert_string_equal(names, ".,..,echo,");
}

static void test_path_ops(void **state) {
  fixture *fx = *state;
  wasi_t *t = fx->t;
  uint32_t len, len2, fd;
  len = put_str(t, G_PATH, "newdir");
  assert_int_equal(W(t, "path_create_directory", 3, G_PATH, len), 0);
  assert_int_equal(W(t, "path_create_directory", 3, G_PATH, len), 20); /* EEXIST */
  assert_true(path_exists(fx->dir, "newdir"));
  assert_int_equal(wopen(t, 3, "newdir/file", 0, CREAT, 0, &fd), 0);
  assert_int_equal(W(t, "fd_close", fd), 0);
  /* stat through the path */
  len = put_str(t, G_PATH, "newdir/file");
  assert_int_equal(W(t, "path_filestat_get", 3, 0, G_PATH, len, 128), 0);
  assert_int_equal(t->mem[128 + 16], 4);
  assert_int_equal(W(t, "path_filestat_set_times", 3, 0, G_PATH, len, 0, 5000000000ull, 4), 0);
  assert_int_equal(W(t, "path_filestat_get", 3, 0, G_PATH, len, 128), 0);
  assert_int_equal(rd64(t, 128 + 48), 5000000000ull);
  /* rename, then the old name is gone */
  len2 = put_str(t, G_PATH2, "newdir/renamed");
  assert_int_equal(W(t, "path_rename", 3, G_PATH, len, 3, G_PATH2, len2), 0);
  assert_false(path_exists(fx->dir, "newdir/file"));
  assert_true(path_exists(fx->dir, "newdir/renamed"));
  /* rmdir of a non-empty directory fails; unlink of a directory fails */
  len = put_str(t, G_PATH, "newdir");
  assert_int_equal(W(t, "path_remove_directory", 3, G_PATH, len), 55); /* ENOTEMPTY */
  assert_int_equal(W(t, "path_unlink_file", 3, G_PATH, len), 31);      /* EISDIR */
  len2 = put_str(t, G_PATH2, "newdir/renamed");
  assert_int_equal(W(t, "path_unlink_file", 3, G_PATH2, len2), 0);
  assert_int_equal(W(t, "path_unlink_file", 3, G_PATH2, len2), 44);
  assert_int_equal(W(t, "path_remove_directory", 3, G_PATH, len), 0);
  assert_false(path_exists(fx->dir, "newdir"));
  /* symlinks: create, read, stat with and without following */
  write_file(fx->dir, "target", "abc");
  len = put_str(t, G_PATH, "target");
  len2 = put_str(t, G_PATH2, "link");
  assert_int_equal(W(t, "path_symlink", G_PATH, len, 3, G_PATH2, len2), 0);
  assert_int_equal(W(t, "path_readlink", 3, G_PATH2, len2, G_BUF, 64, G_RES), 0);
  assert_int_equal(rd32(t, G_RES), 6);
  assert_memory_equal(t->mem + G_BUF, "target", 6);
  assert_int_equal(W(t, "path_readlink", 3, G_PATH2, len2, G_BUF, 3, G_RES), 0);
  assert_int_equal(rd32(t, G_RES), 3);                                           /* truncated */
  assert_int_equal(W(t, "path_readlink", 3, G_PATH, len, G_BUF, 64, G_RES), 28); /* not a link */
  assert_int_equal(W(t, "path_filestat_get", 3, 0, G_PATH2, len2, 128), 0);
  assert_int_equal(t->mem[128 + 16], 7); /* the link itself */
  assert_int_equal(W(t, "path_filestat_get", 3, 1, G_PATH2, len2, 128), 0);
  assert_int_equal(t->mem[128 + 16], 4);
  assert_int_equal(rd64(t, 128 + 32), 3);
  /* open through the link only when following */
  assert_int_equal(wopen(t, 3, "link", 1, 0, 0, &fd), 0);
  char buf[8];
  assert_int_equal(wread(t, fd, 7, buf), 0);
  assert_string_equal(buf, "abc");
  assert_int_equal(wopen(t, 3, "link", 0, 0, 0, &fd), 32); /* ELOOP */
  /* hard link */
  len = put_str(t, G_PATH, "target");
  len2 = put_str(t, G_PATH2, "hard");
  assert_int_equal(W(t, "path_link", 3, 0, G_PATH, len, 3, G_PATH2, len2), 0);
  assert_true(path_exists(fx->dir, "hard"));
  /* unlink the symlink, not its target */
  len2 = put_str(t, G_PATH2, "link");
  assert_int_equal(W(t, "path_unlink_file", 3, G_PATH2, len2), 0);
  assert_true(path_exists(fx->dir, "target"));
}

static void test_renumber_and_many_fds(void **state) {
  fixture *fx = *state;
  wasi_t *t = fx->t;
  write_file(fx->dir, "a", "AAA");
  write_file(fx->dir, "b", "BBB");
  uint32_t fa, fb;
  assert_int_equal(wopen(t, 3, "a", 0, 0, 0, &fa), 0);
  assert_int_equal(wopen(t, 3, "b", 0, 0, 0, &fb), 0);
  assert_int_equal(W(t, "fd_renumber", fa, fb), 0);
  char buf[8];
  assert_int_equal(wread(t, fb, 7, buf), 0);
  assert_string_equal(buf, "AAA");
  assert_int_equal(wread(t, fa, 7, buf), 8);
  assert_int_equal(W(t, "fd_renumber", fa, fb), 8);
  /* fds are reused lowest-first, and hundreds can be open */
  uint32_t fd;
  assert_int_equal(wopen(t, 3, "a", 0, 0, 0, &fd), 0);
  assert_int_equal(fd, fa);
  for (int i = 0; i < 300; i++)
    assert_int_equal(wopen(t, 3, "a", 0, 0, 0, &fd), 0);
  assert_true(fd > 300);
}

/* An open directory fd follows a rename of its directory (or of a parent). */
static void test_dir_fd_follows_rename(void **state) {
  fixture *fx = *state;
  wasi_t *t = fx->t;
  make_dir(fx->dir, "p");
  make_dir(fx->dir, "p/d");
  uint32_t d, f, x;
  assert_int_equal(wopen(t, 3, "p/d", 0, 2, 0, &d), 0);
  assert_int_equal(wopen(t, 3, "p/d/file", 0, 1, 0, &f), 0);
  uint32_t len = put_str(t, G_PATH, "p");
  uint32_t len2 = put_str(t, G_PATH2, "q");
  assert_int_equal(W(t, "path_rename", 3, G_PATH, len, 3, G_PATH2, len2), 0);
  assert_int_equal(wopen(t, d, "new", 0, 1, 0, &x), 0);
  assert_true(path_exists(fx->dir, "q/d/new"));
  assert_false(path_exists(fx->dir, "p"));
  /* a sibling with the same prefix is not touched */
  make_dir(fx->dir, "q/dd");
  assert_int_equal(wopen(t, 3, "q/dd", 0, 2, 0, &x), 0);
  len = put_str(t, G_PATH, "q/d");
  len2 = put_str(t, G_PATH2, "q/e");
  assert_int_equal(W(t, "path_rename", 3, G_PATH, len, 3, G_PATH2, len2), 0);
  uint32_t y;
  assert_int_equal(wopen(t, x, "in-dd", 0, 1, 0, &y), 0);
  assert_true(path_exists(fx->dir, "q/dd/in-dd"));
  assert_int_equal(wopen(t, d, "in-e", 0, 1, 0, &y), 0);
  assert_true(path_exists(fx->dir, "q/e/in-e"));
}

/* Opening a FIFO must never hang the node: without a peer, a write-only open
 * fails (ENXIO) and a read-only open succeeds and reads as blocking later. */
static void test_fifo_open_does_not_hang(void **state) {
  fixture *fx = *state;
  wasi_t *t = fx->t;
  char path[600];
  snprintf(path, sizeof path, "%s/fifo", fx->dir);
  assert_int_equal(mkfifo(path, 0644), 0);
  uint32_t fd;
  put_str(t, G_PATH, "fifo");
  assert_int_equal(W(t, "path_open", 3, 0, G_PATH, 4, 0, 1ull << 6 /* FD_WRITE */, 0, 0, G_RES),
                   60 /* ENXIO */);
  assert_int_equal(wopen(t, 3, "fifo", 0, 0, 0, &fd), 0); /* read+write: no hang either */
  put_str(t, G_PATH, "fifo");
  assert_int_equal(W(t, "path_open", 3, 0, G_PATH, 4, 0, 2 /* FD_READ */, 0, 0, G_RES), 0);
  uint32_t rfd = rd32(t, G_RES);
  assert_int_equal(W(t, "fd_fdstat_get", rfd, 64), 0);
  assert_int_equal(t->mem[66] & 4, 0); /* not NONBLOCK for the guest */
  uint32_t n;
  assert_int_equal(wwrite(t, fd, "ping", &n), 0);
  char buf[8];
  assert_int_equal(wread(t, rfd, 4, buf), 0);
  assert_string_equal(buf, "ping");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_create_write_seek_read, setup, teardown),
      cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_read_only_and_append, setup, teardown),
      cmocka_unit_test_setup_teardown(test_readdir, setup, teardown),
      cmocka_unit_test_setup_teardown(test_path_ops, setup, teardown),
      cmocka_unit_test_setup_teardown(test_renumber_and_many_fds, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dir_fd_follows_rename, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fifo_open_does_not_hang, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
