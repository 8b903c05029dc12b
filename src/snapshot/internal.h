/* Private to src/snapshot: the v1 byte layout constants and the helpers that
 * the encoder and decoder share. The layout itself is docs/snapshot-format.md. */
#ifndef KAFU_SNAPSHOT_INTERNAL_H
#define KAFU_SNAPSHOT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "snapshot/snapshot.h"

#define SNAP_MAGIC "KAFUSNAP"
#define SNAP_MAGIC_LEN 8
#define SNAP_HEADER_LEN 112
#define SNAP_TRAILER_LEN 8
#define SNAP_FLAG_ZSTD 0x1u
#define SNAP_FLAG_DELTA 0x2u
#define SNAP_FLAGS_KNOWN (SNAP_FLAG_ZSTD | SNAP_FLAG_DELTA)
#define SNAP_PAGES_PER_WASM_PAGE (KAFU_SNAPSHOT_WASM_PAGE / KAFU_SNAPSHOT_PAGE)

/* Header field offsets (all little-endian). */
#define SNAP_OFF_VERSION 8
#define SNAP_OFF_FLAGS 10
#define SNAP_OFF_RESERVED0 12
#define SNAP_OFF_MODULE 16
#define SNAP_OFF_JOB 48
#define SNAP_OFF_SEQ 56
#define SNAP_OFF_BASE_SEQ 64
#define SNAP_OFF_BASE_PAGES 72
#define SNAP_OFF_RESERVED1 76
#define SNAP_OFF_BASE_HASH 80

/* alloc.c: every allocation of the module goes through the hook. Blocks from
 * snap_alloc are zero-filled; n == 0 returns NULL without calling the hook. */
void *kafu_snap_alloc(size_t n);
void kafu_snap_free(void *p, size_t n);
/* The zstd allocator routed through the hook (opaque ZSTD_customMem). */
void *kafu_snap_zstd_alloc(void *opaque, size_t size);
void kafu_snap_zstd_free(void *opaque, void *address);

/* pages.c: 4 KiB page maps. A bitmap has one bit per page, bit (i & 7) of
 * byte i / 8; n_pages is always a multiple of 16. */
bool kafu_snap_page_is_zero(const uint8_t *page);
/* Marks the non-zero pages of mem; returns how many. */
size_t kafu_snap_map_full(const uint8_t *mem, size_t n_pages, uint8_t *bitmap);
/* Marks the pages of mem that differ from base (the first base_pages) or,
 * past the baseline, are non-zero; returns how many. */
size_t kafu_snap_map_delta(const uint8_t *mem, size_t n_pages, const uint8_t *base,
                           size_t base_pages, uint8_t *bitmap);
/* table.c: hashes every page into out[] and marks the pages that differ from
 * base (its first base_n entries) or, past it, are non-zero; bitmap may be
 * NULL. With a dirty bitmap (kafu_snapshot_opts.dirty), a page below dirty_n
 * whose bit is clear is not read: out[] already holds its hash. Returns how
 * many were marked. */
size_t kafu_snap_map_hashed(const uint8_t *mem, size_t n_pages, const kafu_page_hash *base,
                            size_t base_n, kafu_page_hash *out, uint8_t *bitmap,
                            const uint8_t *dirty, size_t dirty_n);
/* Brings t to the image in mem after a decode: marked pages are rehashed,
 * unmarked ones keep their entry (keep_old, a delta) or get the zero page's
 * hash. Returns false when out of memory. */
bool kafu_snap_table_update(kafu_page_table *t, const uint8_t *mem, const uint8_t *bitmap,
                            size_t n_pages, bool keep_old);
size_t kafu_snap_count(const uint8_t *bitmap, size_t n_pages);
/* The next run of marked pages at or after from: returns its first page and
 * sets *run_len, or returns n_pages (and *run_len = 0) when none is left. */
size_t kafu_snap_next_run(const uint8_t *bitmap, size_t n_pages, size_t from, size_t *run_len);
/* Gathers the marked pages of mem into dst, in order. */
void kafu_snap_gather(const uint8_t *mem, const uint8_t *bitmap, size_t n_pages, uint8_t *dst);
/* Scatters consecutive pages from src onto the marked pages of mem. */
void kafu_snap_scatter(uint8_t *mem, const uint8_t *bitmap, size_t n_pages, const uint8_t *src);

/* Zeroes the unmarked pages at or after page `from`. */
void kafu_snap_zero_gaps(uint8_t *mem, const uint8_t *bitmap, size_t n_pages, size_t from);

/* compress.c: the marked pages as one zstd frame. Compress appends a u64le
 * frame length and the frame to out (reserving the worst case first). */
kafu_err kafu_snap_compress(const uint8_t *mem, const uint8_t *bitmap, size_t n_pages,
                            size_t n_present, int level, int threads, kafu_buf *out,
                            kafu_error *err);
/* Decompresses a frame of exactly n_present pages onto the marked pages of
 * mem; refuses frames that are shorter, longer or followed by extra bytes.
 * frame_off is the frame's offset in the snapshot, for messages. */
kafu_err kafu_snap_decompress(const uint8_t *frame, size_t frame_len, size_t frame_off,
                              uint8_t *mem, const uint8_t *bitmap, size_t n_pages, size_t n_present,
                              kafu_error *err);

#endif
