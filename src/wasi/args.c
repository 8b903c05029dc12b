/* args_* and environ_*: the program's argv and environment, laid out in guest
 * memory as an array of u32 pointers plus NUL-terminated strings. */
#define _GNU_SOURCE /* O_PATH, ppoll, renameat, strndup */
#include "wasi/wasi_int.h"

/* Sums the sizes (count, bytes incl. NULs) of a string vector. */
static void sizes(char **v, int n, uint32_t *count, uint32_t *bytes) {
  uint64_t total = 0;
  for (int i = 0; i < n; i++)
    total += strlen(v[i]) + 1;
  *count = (uint32_t)n;
  *bytes = total > UINT32_MAX ? UINT32_MAX : (uint32_t)total;
}

static uint16_t sizes_get(kafu_engine_instance *inst, char **v, int n, uint32_t count_ptr,
                          uint32_t bytes_ptr) {
  uint32_t count, bytes;
  sizes(v, n, &count, &bytes);
  if (!kafu_wasi_store_u32(inst, count_ptr, count) || !kafu_wasi_store_u32(inst, bytes_ptr, bytes))
    return WASI_EFAULT;
  return WASI_ESUCCESS;
}

/* Writes the pointer array at ptrs and the strings at buf; all-or-nothing. */
static uint16_t vector_get(kafu_engine_instance *inst, char **v, int n, uint32_t ptrs,
                           uint32_t buf) {
  uint32_t count, bytes;
  sizes(v, n, &count, &bytes);
  uint8_t *ptr_mem = kafu_wasi_mem(inst, ptrs, (uint64_t)count * 4);
  uint8_t *buf_mem = kafu_wasi_mem(inst, buf, bytes);
  if (!ptr_mem || !buf_mem) return WASI_EFAULT;
  uint32_t off = 0;
  for (int i = 0; i < n; i++) {
    size_t len = strlen(v[i]) + 1;
    kafu_wasi_put_u32(ptr_mem + 4 * (size_t)i, buf + off);
    memmove(buf_mem + off, v[i], len);
    off += (uint32_t)len;
  }
  return WASI_ESUCCESS;
}

WASI_HOSTFN(args_sizes_get) {
  kafu_wasi *w = env;
  WASI_RET(sizes_get(inst, w->argv, w->argc, WASI_ARG32(0), WASI_ARG32(1)));
}

WASI_HOSTFN(args_get) {
  kafu_wasi *w = env;
  WASI_RET(vector_get(inst, w->argv, w->argc, WASI_ARG32(0), WASI_ARG32(1)));
}

WASI_HOSTFN(environ_sizes_get) {
  kafu_wasi *w = env;
  WASI_RET(sizes_get(inst, w->envp, w->envc, WASI_ARG32(0), WASI_ARG32(1)));
}

WASI_HOSTFN(environ_get) {
  kafu_wasi *w = env;
  WASI_RET(vector_get(inst, w->envp, w->envc, WASI_ARG32(0), WASI_ARG32(1)));
}
