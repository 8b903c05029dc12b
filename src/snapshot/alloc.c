/* The snapshot module's single allocation hook (Lua frealloc style), so tests
 * can inject failures into every allocation, zstd's included. */
#include <stdlib.h>
#include <string.h>

#include "snapshot/internal.h"

static kafu_snapshot_alloc_fn alloc_fn = kafu_snapshot_default_alloc;
static void *alloc_ud;

void *kafu_snapshot_default_alloc(void *ud, void *ptr, size_t old_size, size_t new_size) {
  (void)ud;
  (void)old_size;
  if (new_size == 0) {
    free(ptr);
    return NULL;
  }
  if (!ptr) return calloc(1, new_size); /* large blocks come zeroed from mmap */
  return realloc(ptr, new_size);
}

void kafu_snapshot_set_allocator(kafu_snapshot_alloc_fn fn, void *ud) {
  alloc_fn = fn ? fn : kafu_snapshot_default_alloc;
  alloc_ud = fn ? ud : NULL;
}

void kafu_snapshot_get_allocator(kafu_snapshot_alloc_fn *fn, void **ud) {
  if (fn) *fn = alloc_fn;
  if (ud) *ud = alloc_ud;
}

void *kafu_snap_alloc(size_t n) {
  return n ? alloc_fn(alloc_ud, NULL, 0, n) : NULL;
}

void kafu_snap_free(void *p, size_t n) {
  if (p) alloc_fn(alloc_ud, p, n, 0);
}

/* zstd frees without a size, so each zstd block carries its size in front. */
#define ZSTD_PREFIX 16

void *kafu_snap_zstd_alloc(void *opaque, size_t size) {
  (void)opaque;
  if (size > SIZE_MAX - ZSTD_PREFIX) return NULL;
  uint8_t *p = kafu_snap_alloc(size + ZSTD_PREFIX);
  if (!p) return NULL;
  memcpy(p, &size, sizeof size);
  return p + ZSTD_PREFIX;
}

void kafu_snap_zstd_free(void *opaque, void *address) {
  (void)opaque;
  if (!address) return;
  uint8_t *p = (uint8_t *)address - ZSTD_PREFIX;
  size_t size;
  memcpy(&size, p, sizeof size);
  kafu_snap_free(p, size + ZSTD_PREFIX);
}

void kafu_snapshot_free(kafu_snapshot *s) {
  if (!s) return;
  kafu_snap_free(s->mig_stack, s->mig_stack_len);
  kafu_snap_free(s->state, s->state_len);
  kafu_snap_free(s->wasi, s->wasi_len);
  kafu_snap_free(s->memory, (size_t)s->mem_pages * KAFU_SNAPSHOT_WASM_PAGE);
  memset(s, 0, sizeof *s);
}
