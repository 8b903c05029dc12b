/* Snapshot v1 encoder: header, the three opaque sections, the page map and
 * the page payload, written into the caller's buffer in one reservation and
 * read straight from linear memory. */
#include <string.h>
#include <zstd.h>

#include "snapshot/internal.h"

#define PAGE KAFU_SNAPSHOT_PAGE

static void put_u16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static size_t base_len(const kafu_snapshot_opts *opts) {
  return opts->baseline ? opts->baseline_len : opts->baseline_table->n * PAGE;
}

/* Refuses what cannot be encoded; these are caller bugs, not bad input. */
static kafu_err check_args(const kafu_snapshot *s, const kafu_snapshot_opts *opts,
                           kafu_error *err) {
  if (s->mem_pages > KAFU_SNAPSHOT_MAX_MEM_PAGES)
    return kafu_fail(err, KAFU_E_LIMIT, "snapshot: memory of %u pages exceeds the limit of %u",
                     s->mem_pages, KAFU_SNAPSHOT_MAX_MEM_PAGES);
  if (s->mig_stack_len > UINT32_MAX || s->wasi_len > UINT32_MAX)
    return kafu_fail(err, KAFU_E_LIMIT, "snapshot: migration stack or WASI state over 4 GiB");
  if ((uint64_t)s->state_base + s->state_len > ((uint64_t)1 << 32))
    return kafu_fail(err, KAFU_E_INTERNAL, "snapshot: state region wraps past 4 GiB");
  if ((s->mem_pages && !s->memory) || (s->mig_stack_len && !s->mig_stack) ||
      (s->state_len && !s->state) || (s->wasi_len && !s->wasi))
    return kafu_fail(err, KAFU_E_INTERNAL, "snapshot: section with a length but no bytes");
  if (opts && (opts->baseline || opts->baseline_table)) {
    size_t len = base_len(opts);
    if (opts->baseline && opts->baseline_table)
      return kafu_fail(err, KAFU_E_INTERNAL, "snapshot: two baselines given");
    if (len % KAFU_SNAPSHOT_WASM_PAGE ||
        len / KAFU_SNAPSHOT_WASM_PAGE > KAFU_SNAPSHOT_MAX_MEM_PAGES)
      return kafu_fail(err, KAFU_E_INTERNAL,
                       "snapshot: baseline of %zu bytes is not a whole number of wasm pages", len);
  }
  return KAFU_OK;
}

/* Marks the pages to carry and, if asked, hashes every page into
 * opts->table_out in the same pass. Returns the number marked, or
 * (size_t)-1 when the table cannot grow. */
static size_t map_pages(const kafu_snapshot *s, const kafu_snapshot_opts *opts, size_t n_pages,
                        uint8_t *bitmap) {
  kafu_page_table *out = opts ? opts->table_out : NULL;
  const kafu_page_table *bt = opts ? opts->baseline_table : NULL;
  if (opts && opts->baseline) {
    size_t base_pages = opts->baseline_len / PAGE;
    size_t n = kafu_snap_map_delta(s->memory, n_pages, opts->baseline,
                                   base_pages < n_pages ? base_pages : n_pages, bitmap);
    if (out && !kafu_page_table_build(out, s->memory, n_pages * PAGE)) return (size_t)-1;
    return n;
  }
  if (!out && !bt) return kafu_snap_map_full(s->memory, n_pages, bitmap);
  kafu_page_table tmp = {0};
  kafu_page_table *dst = out ? out : &tmp;
  size_t base_n = bt ? (bt->n < n_pages ? bt->n : n_pages) : 0;
  /* dst may be bt itself: each entry is compared before it is replaced, and
   * growing (which may move bt->h) happens first. */
  size_t want = bt && bt->n > n_pages ? bt->n : n_pages;
  size_t out_n_before = out ? out->n : 0; /* entries a dirty hint may vouch for */
  if (!kafu_page_table_resize(dst, want)) return (size_t)-1;
  /* The dirty hint speaks of table_out's entries: without table_out there
   * is nothing it could vouch for. */
  const uint8_t *dirty = out ? opts->dirty : NULL;
  size_t dirty_n = dirty ? opts->dirty_n : 0;
  if (dirty_n > out_n_before) dirty_n = out_n_before;
  size_t n = kafu_snap_map_hashed(s->memory, n_pages, bt ? bt->h : NULL, base_n, dst->h, bitmap,
                                  dirty, dirty_n);
  dst->n = n_pages;
  kafu_page_table_free(&tmp);
  return n;
}

kafu_err kafu_snapshot_encode(const kafu_snapshot *s, const kafu_snapshot_opts *opts, kafu_buf *out,
                              kafu_error *err) {
  kafu_err rc = check_args(s, opts, err);
  if (rc) return rc;
  bool delta = opts && (opts->baseline || opts->baseline_table);
  bool compress = opts && opts->compress;
  int level = opts && opts->level ? opts->level : KAFU_SNAPSHOT_DEFAULT_LEVEL;
  size_t n_pages = (size_t)s->mem_pages * SNAP_PAGES_PER_WASM_PAGE;
  size_t bitmap_len = n_pages / 8;
  size_t start = out->len;
  uint8_t *bitmap = kafu_snap_alloc(bitmap_len);
  if (bitmap_len && !bitmap)
    return kafu_fail(err, KAFU_E_NOMEM, "snapshot: out of memory for a %zu-byte page map",
                     bitmap_len);

  size_t blen = delta ? base_len(opts) : 0; /* before table_out may replace the table */
  size_t n_present = map_pages(s, opts, n_pages, bitmap);
  if (n_present == (size_t)-1) {
    rc = kafu_fail(err, KAFU_E_NOMEM, "snapshot: out of memory for a page-hash table");
    goto out;
  }
  size_t raw_len = n_present * PAGE;
  size_t fixed_len =
      SNAP_HEADER_LEN + 4 + s->mig_stack_len + 8 + s->state_len + 4 + s->wasi_len + 4 + bitmap_len;
  size_t payload_max = compress ? 8 + ZSTD_compressBound(raw_len) : raw_len;
  if (!kafu_buf_reserve(out, fixed_len + payload_max + SNAP_TRAILER_LEN)) {
    rc = kafu_fail(err, KAFU_E_NOMEM, "snapshot: out of memory for a %zu-byte snapshot",
                   fixed_len + payload_max + SNAP_TRAILER_LEN);
    goto out;
  }

  uint8_t *h = out->data + out->len;
  memset(h, 0, SNAP_HEADER_LEN);
  memcpy(h, SNAP_MAGIC, SNAP_MAGIC_LEN);
  put_u16(h + SNAP_OFF_VERSION, KAFU_SNAPSHOT_VERSION);
  put_u16(h + SNAP_OFF_FLAGS,
          (uint16_t)((compress ? SNAP_FLAG_ZSTD : 0) | (delta ? SNAP_FLAG_DELTA : 0)));
  memcpy(h + SNAP_OFF_MODULE, s->module_sha256, KAFU_SHA256_LEN);
  put_u64(h + SNAP_OFF_JOB, s->job_id);
  put_u64(h + SNAP_OFF_SEQ, s->seq);
  if (delta) {
    put_u64(h + SNAP_OFF_BASE_SEQ, opts->baseline_seq);
    put_u32(h + SNAP_OFF_BASE_PAGES, (uint32_t)(blen / KAFU_SNAPSHOT_WASM_PAGE));
    memcpy(h + SNAP_OFF_BASE_HASH, opts->baseline_hash, KAFU_SHA256_LEN);
  }
  out->len += SNAP_HEADER_LEN;

  kafu_buf_u32le(out, (uint32_t)s->mig_stack_len);
  kafu_buf_append(out, s->mig_stack, s->mig_stack_len);
  kafu_buf_u32le(out, s->state_base);
  kafu_buf_u32le(out, s->state_len);
  kafu_buf_append(out, s->state, s->state_len);
  kafu_buf_u32le(out, (uint32_t)s->wasi_len);
  kafu_buf_append(out, s->wasi, s->wasi_len);
  kafu_buf_u32le(out, s->mem_pages);
  kafu_buf_append(out, bitmap, bitmap_len);

  if (compress) {
    rc = kafu_snap_compress(s->memory, bitmap, n_pages, n_present, level, opts->threads, out, err);
    if (rc) goto out;
  } else {
    kafu_snap_gather(s->memory, bitmap, n_pages, out->data + out->len);
    out->len += raw_len;
  }
  uint64_t sum = kafu_checksum64(out->data + start, out->len - start);
  kafu_buf_u64le(out, sum);
  if (out->failed) rc = kafu_fail(err, KAFU_E_NOMEM, "snapshot: out of memory while encoding");
out:
  if (rc) out->len = start;
  kafu_snap_free(bitmap, bitmap_len);
  return rc;
}
