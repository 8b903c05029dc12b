/* libFuzzer target for the WASI host functions as a hostile guest sees them:
 * each input is a sequence of (import, arguments) calls against a fresh
 * context and an 8 KiB guest memory seeded from the input. Oracles: no
 * crash or sanitizer report, nothing appears or changes outside the preopen
 * (a sentinel directory sits right next to it), and no host fd leaks once
 * the context is freed. poll_oneoff is left out (it may sleep). */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wasi/wasi.h"

#define MEM_SIZE 8192u

typedef struct fuzz_inst {
  kafu_engine_instance hdr;
  uint8_t mem[MEM_SIZE];
} fuzz_inst;

static uint8_t *fuzz_memory(kafu_engine_instance *inst, size_t *size) {
  *size = MEM_SIZE;
  return ((fuzz_inst *)inst)->mem;
}

static const kafu_engine_ops fuzz_ops = {.name = "fuzz", .memory = fuzz_memory};
static char g_base[] = "/tmp/kafu-fuzz-hostcalls-XXXXXX";
static char g_root[64], g_sentinel[64];
static int g_dev_null = -1; /* stdin: readable, always at EOF */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  return ftw->level == 0 ? 0 : remove(path);
}

static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  int n = 0;
  while (readdir(d))
    n++;
  closedir(d);
  return n;
}

static int count_fds(void) {
  return count_entries("/proc/self/fd");
}

static void init_dirs(void) {
  if (g_root[0]) return;
  g_dev_null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (g_dev_null < 0 || !mkdtemp(g_base)) abort();
  snprintf(g_root, sizeof g_root, "%s/root", g_base);
  snprintf(g_sentinel, sizeof g_sentinel, "%s/sentinel", g_base);
  if (mkdir(g_root, 0755) || mkdir(g_sentinel, 0755)) abort();
  char path[96];
  snprintf(path, sizeof path, "%s/secret", g_sentinel);
  FILE *f = fopen(path, "w");
  if (!f) abort();
  fputs("secret", f);
  fclose(f);
}

/* The sandbox oracle: the base holds exactly root/ and sentinel/, and the
 * sentinel holds exactly its unchanged secret. */
static void check_outside(void) {
  struct stat st;
  char path[96];
  snprintf(path, sizeof path, "%s/secret", g_sentinel);
  if (count_entries(g_base) != 4 || count_entries(g_sentinel) != 3 || lstat(path, &st) != 0 ||
      !S_ISREG(st.st_mode) || st.st_size != 6)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  init_dirs();
  nftw(g_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS); /* a clean preopen per input */
  int fds_before = count_fds();

  kafu_wasi_preopen pre[2] = {{g_root, "/data"}, {g_root, "."}};
  const char *argv[] = {"prog", "arg"};
  const char *envp[] = {"A=B"};
  kafu_wasi_config cfg = {
      .argc = 2, .argv = argv, .envc = 1, .envp = envp, .n_preopens = 2, .preopens = pre};
  cfg.stdin_fd = g_dev_null;
  kafu_wasi *w = NULL;
  kafu_error err;
  if (kafu_wasi_new(&cfg, &w, &err) != KAFU_OK) abort();
  static kafu_host_import imports[64];
  size_t n_imports = kafu_wasi_imports(w, imports, 64);

  static fuzz_inst inst;
  inst.hdr.ops = &fuzz_ops;
  /* Memory: the input repeated, then useful strings at fixed spots. */
  for (size_t i = 0; i < MEM_SIZE; i++)
    inst.mem[i] = size ? data[i % size] : 0;
  memcpy(inst.mem + 16, "../sentinel/secret", 18);
  memcpy(inst.mem + 48, "sub/../..", 9);
  memcpy(inst.mem + 64, "a/b", 3);

  size_t pos = 0;
  int calls = 0;
  while (pos < size && calls++ < 64) {
    const kafu_host_import *imp = &imports[data[pos++] % n_imports];
    kafu_slot args[KAFU_HOST_MAX_PARAMS] = {0}, results[KAFU_HOST_MAX_RESULTS] = {0};
    for (int i = 0; i < imp->n_params; i++) {
      /* 2 bytes per argument; a leading 0xff byte means a wide raw value */
      uint64_t v = 0;
      if (pos < size && data[pos] == 0xff && pos + 9 <= size) {
        memcpy(&v, data + pos + 1, 8);
        pos += 9;
      } else {
        for (int b = 0; b < 2 && pos < size; b++)
          v |= (uint64_t)data[pos++] << (8 * b);
      }
      args[i] = imp->params[i] == KAFU_I32 ? (uint32_t)v : v;
    }
    if (!strcmp(imp->name, "poll_oneoff")) continue;
    if (!strcmp(imp->name, "fd_write") || !strcmp(imp->name, "fd_pwrite")) {
      if (args[0] == 1 || args[0] == 2) continue; /* keep the fuzzer's own stdout clean */
    }
    imp->fn(imp->env, &inst.hdr, args, results);
    if (imp->n_results && results[0] > 76) abort(); /* only WASI errnos reach the guest */
    check_outside();
  }
  kafu_wasi_free(w);
  if (count_fds() != fds_before) abort();
  return 0;
}
