/* The wasi_snapshot_preview1 import table: each function's exact preview1
 * signature, bound to its host implementation and the context. */
#define _GNU_SOURCE /* O_PATH, ppoll, renameat, strndup */
#include "wasi/wasi_int.h"

typedef struct import_spec {
  const char *name;
  const char *params; /* 'i' = i32, 'I' = i64 */
  const char *results;
  kafu_host_fn fn;
} import_spec;

#define F(n, p, r)                                                                                 \
  { #n, p, r, kafu_wasi_host_##n }
static const import_spec k_imports[] = {
    F(args_get, "ii", "i"),
    F(args_sizes_get, "ii", "i"),
    F(environ_get, "ii", "i"),
    F(environ_sizes_get, "ii", "i"),
    F(clock_res_get, "ii", "i"),
    F(clock_time_get, "iIi", "i"),
    F(fd_advise, "iIIi", "i"),
    F(fd_allocate, "iII", "i"),
    F(fd_close, "i", "i"),
    F(fd_datasync, "i", "i"),
    F(fd_fdstat_get, "ii", "i"),
    F(fd_fdstat_set_flags, "ii", "i"),
    F(fd_fdstat_set_rights, "iII", "i"),
    F(fd_filestat_get, "ii", "i"),
    F(fd_filestat_set_size, "iI", "i"),
    F(fd_filestat_set_times, "iIIi", "i"),
    F(fd_pread, "iiiIi", "i"),
    F(fd_prestat_get, "ii", "i"),
    F(fd_prestat_dir_name, "iii", "i"),
    F(fd_pwrite, "iiiIi", "i"),
    F(fd_read, "iiii", "i"),
    F(fd_readdir, "iiiIi", "i"),
    F(fd_renumber, "ii", "i"),
    F(fd_seek, "iIii", "i"),
    F(fd_sync, "i", "i"),
    F(fd_tell, "ii", "i"),
    F(fd_write, "iiii", "i"),
    F(path_create_directory, "iii", "i"),
    F(path_filestat_get, "iiiii", "i"),
    F(path_filestat_set_times, "iiiiIIi", "i"),
    F(path_link, "iiiiiii", "i"),
    F(path_open, "iiiiiIIii", "i"),
    F(path_readlink, "iiiiii", "i"),
    F(path_remove_directory, "iii", "i"),
    F(path_rename, "iiiiii", "i"),
    F(path_symlink, "iiiii", "i"),
    F(path_unlink_file, "iii", "i"),
    F(poll_oneoff, "iiii", "i"),
    F(proc_exit, "i", ""),
    F(proc_raise, "i", "i"),
    F(sched_yield, "", "i"),
    F(random_get, "ii", "i"),
    F(sock_accept, "iii", "i"),
    F(sock_recv, "iiiiii", "i"),
    F(sock_send, "iiiii", "i"),
    F(sock_shutdown, "ii", "i"),
};
#undef F

#define N_IMPORTS (sizeof k_imports / sizeof k_imports[0])

static void fill_types(const char *spec, kafu_valtype *out, uint8_t *n) {
  *n = 0;
  for (const char *c = spec; *c; c++)
    out[(*n)++] = *c == 'I' ? KAFU_I64 : KAFU_I32;
}

size_t kafu_wasi_imports(kafu_wasi *w, kafu_host_import *out, size_t cap) {
  size_t n = N_IMPORTS < cap ? N_IMPORTS : cap;
  for (size_t i = 0; i < n; i++) {
    const import_spec *s = &k_imports[i];
    memset(&out[i], 0, sizeof out[i]);
    out[i].module = "wasi_snapshot_preview1";
    out[i].name = s->name;
    fill_types(s->params, out[i].params, &out[i].n_params);
    fill_types(s->results, out[i].results, &out[i].n_results);
    out[i].fn = s->fn;
    out[i].env = w;
  }
  return n;
}
