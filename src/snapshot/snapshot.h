/* Snapshot v1: the bytes that carry a check-pointed Kafu program from one
 * instance (or node) to another. Format: docs/snapshot-format.md. Every
 * decoder treats its input as hostile. */
#ifndef KAFU_SNAPSHOT_H
#define KAFU_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/hash.h"

#define KAFU_SNAPSHOT_VERSION 1
#define KAFU_SNAPSHOT_PAGE 4096u           /* unit of zero elision and delta */
#define KAFU_SNAPSHOT_WASM_PAGE 65536u     /* a Wasm memory page */
#define KAFU_SNAPSHOT_MAX_MEM_PAGES 65536u /* 4 GiB, the wasm32 limit */
/* zstd level used when opts->level is 0; chosen by bench/checkpoint. */
#define KAFU_SNAPSHOT_DEFAULT_LEVEL 1

/* The one allocation hook of the snapshot code, shaped like Lua's frealloc:
 * new_size 0 frees ptr (returns NULL); ptr NULL allocates a block that must be
 * zero-filled (decoders rely on it for elided pages); otherwise resizes.
 * old_size is the size the block was allocated with (0 for NULL). Returning
 * NULL for a non-zero new_size means out of memory. */
typedef void *(*kafu_snapshot_alloc_fn)(void *ud, void *ptr, size_t old_size, size_t new_size);

/* The default hook: calloc/realloc/free, so blocks it returns may also be
 * released with free(). */
void *kafu_snapshot_default_alloc(void *ud, void *ptr, size_t old_size, size_t new_size);

/* Replaces the process-wide hook (NULL restores the default). Not thread-safe:
 * set it before any snapshot work starts (tests use it to inject failures).
 * Blocks must be released by the hook that allocated them. */
void kafu_snapshot_set_allocator(kafu_snapshot_alloc_fn fn, void *ud);
void kafu_snapshot_get_allocator(kafu_snapshot_alloc_fn *fn, void **ud);

/* A decoded snapshot. All pointers are owned by the snapshot and released by
 * kafu_snapshot_free. */
typedef struct kafu_snapshot {
  uint8_t module_sha256[KAFU_SHA256_LEN];
  uint64_t job_id;
  uint64_t seq;       /* migration sequence number within the job */
  uint8_t *mig_stack; /* runtime-encoded migration stack (opaque here) */
  size_t mig_stack_len;
  uint32_t state_base; /* state region address in memory */
  uint8_t *state;      /* state region bytes */
  uint32_t state_len;
  uint8_t *wasi; /* kafu_wasi_save bytes (opaque here) */
  size_t wasi_len;
  uint8_t *memory; /* full linear memory image, mem_pages * 64 KiB */
  uint32_t mem_pages;
} kafu_snapshot;

/* The XXH3-128 of one 4 KiB page. */
typedef struct kafu_page_hash {
  uint64_t lo, hi;
} kafu_page_hash;

/* A page-hash table: the hash of every 4 KiB page of a memory image, in page
 * order (table.c). A delta baseline can be a table instead of a copy of the
 * image: a page is sent when its hash differs. Zero-initialize; the entries
 * come from the snapshot allocation hook. */
typedef struct kafu_page_table {
  kafu_page_hash *h;
  size_t n;   /* entries in use: pages of the image */
  size_t cap; /* entries allocated */
  /* Set by an owner that tracks writes to the memory (the runtime): nonzero
   * means "exact, except for pages the tracker reports". Every function
   * here that changes the table clears it. */
  uint64_t track_tag;
} kafu_page_table;

kafu_page_hash kafu_page_hash_of(const uint8_t *page);
kafu_page_hash kafu_page_hash_zero(void);
/* Sets t->n to n, growing the allocation if needed (new entries unset).
 * Returns false when out of memory (t unchanged). */
bool kafu_page_table_resize(kafu_page_table *t, size_t n);
bool kafu_page_table_copy(kafu_page_table *dst, const kafu_page_table *src);
/* Hashes every page of mem (len a multiple of 4 KiB) into t; two threads for
 * large images. Returns false when out of memory. */
bool kafu_page_table_build(kafu_page_table *t, const uint8_t *mem, size_t len);
/* The image id: 32 bytes, two XXH3-128s (seeds 0 and 1) over the table's
 * entries. Kafu nodes name delta baselines by it (docs/snapshot-format.md,
 * "Baseline identity"). */
void kafu_page_table_id(const kafu_page_table *t, uint8_t out[KAFU_SHA256_LEN]);
void kafu_page_table_free(kafu_page_table *t);

typedef struct kafu_snapshot_opts {
  bool compress; /* zstd the memory pages */
  int level;     /* zstd level; 0 = default chosen by measurement */
  int threads;   /* zstd worker threads; 0 = compress on the calling thread. With
                  * workers the allocation hook is also called from them. */
  /* Optional delta baseline: memory image both sides hold. When set, only
   * 4 KiB pages that differ from it are encoded. */
  const uint8_t *baseline;
  size_t baseline_len;
  uint64_t baseline_seq;
  uint8_t baseline_hash[KAFU_SHA256_LEN]; /* identity of the baseline image */
  /* Optional delta baseline as a page-hash table (instead of `baseline`; the
   * baseline's size is baseline_table->n pages, a whole number of wasm
   * pages): pages whose hash differs are encoded. baseline_seq and
   * baseline_hash are used as with `baseline`. */
  const kafu_page_table *baseline_table;
  /* Optional: receives the hash of every page of s->memory (resized), for
   * keeping the encoded image as a later baseline. Costs one hashing pass
   * (two threads for large memories), fused with the page scan. */
  kafu_page_table *table_out;
  /* Optional, with table_out: a bitmap (one bit per 4 KiB page, LSB first)
   * of the first dirty_n pages, from write tracking. A page below dirty_n
   * whose bit is clear is not read: table_out already holds its hash.
   * Pages from dirty_n on are read as usual. */
  const uint8_t *dirty;
  size_t dirty_n;
} kafu_snapshot_opts;

/* Encodes s into out (appended). opts may be NULL (full, uncompressed).
 * s and its buffers are borrowed and read in place (memory is not copied
 * first); a caller that keeps `out` between calls (len = 0) avoids paying
 * for fresh pages. A delta needs baseline_len to be whole wasm pages and
 * trusts baseline_hash (kafu_sha256 of the baseline). On failure out->len is
 * unchanged. Errors: KAFU_E_NOMEM; KAFU_E_LIMIT for sizes the format cannot
 * hold; KAFU_E_INTERNAL for inconsistent arguments (a length without bytes). */
kafu_err kafu_snapshot_encode(const kafu_snapshot *s, const kafu_snapshot_opts *opts, kafu_buf *out,
                              kafu_error *err);

/* Decodes bytes (borrowed) into out. If expected_sha256 is non-NULL, a module
 * hash mismatch is refused. A delta snapshot needs `baseline` (the image named
 * by its baseline hash; NULL otherwise) and fails with KAFU_E_INPUT
 * "baseline mismatch" if the hash differs. Errors: KAFU_E_INPUT with a
 * specific message for truncation, bad magic/version, hash mismatch, oversize
 * counts and bad checksum; never reads out of bounds. KAFU_E_NOMEM when an
 * allocation fails. On any failure out is left empty (nothing to free). */
kafu_err kafu_snapshot_decode(const uint8_t *bytes, size_t len, const uint8_t *expected_sha256,
                              const uint8_t *baseline, size_t baseline_len, kafu_snapshot *out,
                              kafu_error *err);

/* Options for kafu_snapshot_decode_ex; zero-initialize, then set fields. */
typedef struct kafu_snapshot_decode_opts {
  const uint8_t *expected_sha256; /* refuse other modules' snapshots; NULL accepts any */
  const uint8_t *baseline;        /* delta baseline image (borrowed); NULL for none */
  size_t baseline_len;
  /* The caller's own SHA-256 of baseline, e.g. kept since the baseline was
   * stored. When set the decoder trusts it instead of hashing the image
   * (SHA-256 runs at ~1.5 GB/s and would dominate a delta decode). */
  const uint8_t *baseline_sha256;
  uint32_t max_mem_pages; /* refuse bigger memories; 0 = KAFU_SNAPSHOT_MAX_MEM_PAGES */
  /* Decode memory into the caller's buffer instead of a new one. Called once,
   * after the snapshot passed every check up to its checksum and baseline,
   * with the memory size in wasm pages; returns at least mem_pages * 64 KiB
   * writable bytes (e.g. the instance's grown memory), or NULL after setting
   * err (the decode then fails with that error). The decoder overwrites every
   * byte of the first mem_pages * 64 KiB. The buffer may be the baseline
   * itself: a delta is then applied in place. out->memory stays NULL (the
   * buffer is not the snapshot's); out->mem_pages is set. */
  uint8_t *(*memory_for)(void *ud, uint32_t mem_pages, kafu_error *err);
  void *memory_ud;
  /* The baseline is the first baseline_len bytes of the buffer memory_for
   * returns (e.g. a spent instance's memory that holds exactly that image):
   * the delta is applied in place, even if growing the buffer moved it.
   * `baseline` may then be NULL and baseline_sha256 must be set. */
  bool baseline_in_memory;
  /* Optional page-hash table, updated to the decoded image: for a delta it
   * must hold the baseline's table on entry (only carried pages are
   * rehashed); for a full snapshot it is rebuilt. Left unspecified when the
   * decode fails. */
  kafu_page_table *table;
  /* Optional, with memory_for: called when a delta is applied in place
   * (baseline_in_memory, same size), after every check and before the first
   * write, with the pages it will write: the carried ones (one bit per page,
   * LSB first, n_pages bits; borrowed for the call). E.g. to lift a write
   * protection in bulk. Called with memory_ud. */
  void (*will_write)(void *ud, const uint8_t *bitmap, size_t n_pages);
} kafu_snapshot_decode_opts;

/* kafu_snapshot_decode with options (opts may be NULL). Same errors, plus
 * KAFU_E_LIMIT when memory exceeds opts->max_mem_pages and whatever
 * memory_for reports. If it fails after memory_for, that memory holds
 * partial contents. */
kafu_err kafu_snapshot_decode_ex(const uint8_t *bytes, size_t len,
                                 const kafu_snapshot_decode_opts *opts, kafu_snapshot *out,
                                 kafu_error *err);

/* True if bytes start with a v1 delta header; then sets its baseline seq and
 * hash (either may be NULL). A header peek for choosing the baseline: it does
 * not validate the rest, kafu_snapshot_decode does. */
bool kafu_snapshot_is_delta(const uint8_t *bytes, size_t len, uint64_t *baseline_seq,
                            uint8_t baseline_hash[KAFU_SHA256_LEN]);

void kafu_snapshot_free(kafu_snapshot *s);

#endif
