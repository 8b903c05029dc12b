/* Page-hash tables: the XXH3-128 of every 4 KiB page of a memory image. A
 * node keeps one per delta baseline instead of a copy of the image: 16 bytes
 * per page (256 KiB for 64 MiB), and a delta against it costs one pass over
 * the current memory. Large images are hashed on two threads. */
#include <pthread.h>
#include <string.h>

#include "snapshot/internal.h"

#define PAGE KAFU_SNAPSHOT_PAGE
/* Below this many pages a second thread costs more than it saves. */
#define THREAD_MIN_PAGES 2048u

static kafu_page_hash zero_page_hash;
static pthread_once_t zero_once = PTHREAD_ONCE_INIT;

static void init_zero_hash(void) {
  static const uint8_t zero[PAGE];
  zero_page_hash = kafu_page_hash_of(zero);
}

kafu_page_hash kafu_page_hash_of(const uint8_t *page) {
  uint64_t h[2];
  kafu_hash128(page, PAGE, 0, h);
  return (kafu_page_hash){h[0], h[1]};
}

kafu_page_hash kafu_page_hash_zero(void) {
  pthread_once(&zero_once, init_zero_hash);
  return zero_page_hash;
}

bool kafu_page_table_resize(kafu_page_table *t, size_t n) {
  t->track_tag = 0;
  if (n > t->cap) {
    size_t old_bytes = t->cap * sizeof *t->h;
    kafu_snapshot_alloc_fn fn;
    void *ud;
    kafu_snapshot_get_allocator(&fn, &ud);
    kafu_page_hash *h = fn(ud, t->h, old_bytes, n * sizeof *t->h);
    if (!h) return false;
    t->h = h;
    t->cap = n;
  }
  t->n = n;
  return true;
}

bool kafu_page_table_copy(kafu_page_table *dst, const kafu_page_table *src) {
  if (!kafu_page_table_resize(dst, src->n)) return false;
  if (src->n) memcpy(dst->h, src->h, src->n * sizeof *src->h);
  return true;
}

void kafu_page_table_free(kafu_page_table *t) {
  if (!t) return;
  kafu_snap_free(t->h, t->cap * sizeof *t->h);
  memset(t, 0, sizeof *t);
}

/* Two XXH3-128s of the table (seeds 0 and 1): 32 bytes, like a SHA-256,
 * at ~20 GB/s instead of ~2 GB/s (64 MiB of memory is a 256 KiB table, and
 * the id is computed on the migration pause). */
void kafu_page_table_id(const kafu_page_table *t, uint8_t out[KAFU_SHA256_LEN]) {
  for (uint64_t seed = 0; seed < 2; seed++) {
    uint64_t h[2];
    kafu_hash128(t->h, t->n * sizeof *t->h, seed, h);
    for (int i = 0; i < 8; i++) {
      out[seed * 16 + i] = (uint8_t)(h[0] >> (8 * i));
      out[seed * 16 + 8 + i] = (uint8_t)(h[1] >> (8 * i));
    }
  }
}

/* ---- hashing many pages, maybe on two threads ---- */

typedef struct hash_span {
  const uint8_t *mem;
  const kafu_page_hash *base; /* optional: compare and mark differing pages */
  size_t base_n;
  kafu_page_hash *out;
  uint8_t *bitmap;      /* optional: one bit per page, whole bytes per span */
  const uint8_t *dirty; /* optional: pages below dirty_n not in it are known */
  size_t dirty_n;
  size_t from, to; /* pages; from is a multiple of 8 */
  size_t marked;
} hash_span;

static bool same(kafu_page_hash a, kafu_page_hash b) {
  return a.lo == b.lo && a.hi == b.hi;
}

/* Marks a page when it differs from the baseline or, past the baseline (or
 * without one), when it is not all zero. A hash equal to the zero page's is
 * confirmed by looking at the page (cheap: it is in cache). */
static void *hash_span_run(void *arg) {
  hash_span *s = arg;
  kafu_page_hash zero = kafu_page_hash_zero();
  for (size_t byte = s->from / 8; byte * 8 < s->to; byte++) {
    uint8_t bits = 0;
    for (unsigned b = 0; b < 8 && byte * 8 + b < s->to; b++) {
      size_t i = byte * 8 + b;
      const uint8_t *page = s->mem + i * PAGE;
      bool known = s->dirty && i < s->dirty_n && !((s->dirty[i >> 3] >> (i & 7)) & 1);
      kafu_page_hash h = known ? s->out[i] : kafu_page_hash_of(page);
      bool differs =
          i < s->base_n ? !same(h, s->base[i]) : !(same(h, zero) && kafu_snap_page_is_zero(page));
      s->out[i] = h; /* after the comparison: out may be base itself */
      if (differs) bits |= (uint8_t)(1u << b);
    }
    if (s->bitmap) s->bitmap[byte] = bits;
    s->marked += (size_t)__builtin_popcount(bits);
  }
  return NULL;
}

/* Pages the scan must read: all of them, or the dirty ones and those past
 * dirty_n. */
static size_t pages_to_read(size_t n_pages, const uint8_t *dirty, size_t dirty_n) {
  if (!dirty) return n_pages;
  size_t known_n = dirty_n < n_pages ? dirty_n : n_pages;
  size_t n = n_pages - known_n;
  for (size_t byte = 0; byte < known_n / 8; byte++)
    n += (size_t)__builtin_popcount(dirty[byte]);
  for (size_t i = known_n & ~(size_t)7; i < known_n; i++)
    n += (dirty[i >> 3] >> (i & 7)) & 1;
  return n;
}

size_t kafu_snap_map_hashed(const uint8_t *mem, size_t n_pages, const kafu_page_hash *base,
                            size_t base_n, kafu_page_hash *out, uint8_t *bitmap,
                            const uint8_t *dirty, size_t dirty_n) {
  hash_span spans[2] = {
      {mem, base, base_n, out, bitmap, dirty, dirty_n, 0, n_pages, 0},
      {mem, base, base_n, out, bitmap, dirty, dirty_n, 0, n_pages, 0},
  };
  pthread_t helper;
  bool two = pages_to_read(n_pages, dirty, dirty_n) >= THREAD_MIN_PAGES;
  if (two) {
    size_t half = (n_pages / 2) & ~(size_t)7;
    spans[0].to = half;
    spans[1].from = half;
    two = pthread_create(&helper, NULL, hash_span_run, &spans[1]) == 0;
    if (!two) spans[0].to = n_pages;
  }
  hash_span_run(&spans[0]);
  if (two) pthread_join(helper, NULL);
  return spans[0].marked + (two ? spans[1].marked : 0);
}

bool kafu_page_table_build(kafu_page_table *t, const uint8_t *mem, size_t len) {
  size_t n = len / PAGE;
  if (!kafu_page_table_resize(t, n)) return false;
  kafu_snap_map_hashed(mem, n, NULL, 0, t->h, NULL, NULL, 0);
  return true;
}

bool kafu_snap_table_update(kafu_page_table *t, const uint8_t *mem, const uint8_t *bitmap,
                            size_t n_pages, bool keep_old) {
  size_t old_n = keep_old ? t->n : 0;
  if (!kafu_page_table_resize(t, n_pages)) return false;
  kafu_page_hash zero = kafu_page_hash_zero();
  for (size_t i = 0; i < n_pages; i++) {
    bool marked = (bitmap[i >> 3] >> (i & 7)) & 1;
    if (marked)
      t->h[i] = kafu_page_hash_of(mem + i * PAGE);
    else if (i >= old_n)
      t->h[i] = zero;
  }
  return true;
}
