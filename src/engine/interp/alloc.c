/* The interpreter's single allocation hook (Lua's frealloc shape): every
 * allocation of code, stacks, memory and tables goes through it, so tests can
 * inject failures. */
#include <stdlib.h>

#include "engine/interp/interp.h"

static void *default_alloc(void *ud, void *ptr, size_t old_size, size_t new_size) {
  (void)ud;
  (void)old_size;
  if (new_size == 0) {
    free(ptr);
    return NULL;
  }
  return realloc(ptr, new_size);
}

static kafu_interp_alloc_fn g_alloc = default_alloc;
static void *g_alloc_ud;

void kafu_interp_set_allocator(kafu_interp_alloc_fn fn, void *ud) {
  g_alloc = fn ? fn : default_alloc;
  g_alloc_ud = fn ? ud : NULL;
}

void *kafu_interp_realloc(void *ptr, size_t old_size, size_t new_size) {
  if (!ptr && new_size == 0) return NULL;
  return g_alloc(g_alloc_ud, ptr, old_size, new_size);
}
