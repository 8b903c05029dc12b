/* zstd for the page payload: one frame over the marked pages, streamed
 * straight from and into linear memory (no gather buffer), with the
 * decompressed size capped to exactly the declared page count. */
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_customMem: route zstd's allocations through the hook */
#include <zstd.h>
#include <zstd_errors.h>

#include <string.h>

#include "snapshot/internal.h"

#define PAGE KAFU_SNAPSHOT_PAGE
/* Frames use at most an 8 MiB window, so a decoder of hostile frames never
 * needs more than that (docs/snapshot-format.md). */
#define WINDOW_LOG_MAX 23

static const ZSTD_customMem snap_zmem = {kafu_snap_zstd_alloc, kafu_snap_zstd_free, NULL};

kafu_err kafu_snap_compress(const uint8_t *mem, const uint8_t *bitmap, size_t n_pages,
                            size_t n_present, int level, int threads, kafu_buf *out,
                            kafu_error *err) {
  kafu_err rc = KAFU_OK;
  size_t raw_len = n_present * PAGE;
  size_t bound = ZSTD_compressBound(raw_len);
  if (!kafu_buf_reserve(out, 8 + bound))
    return kafu_fail(err, KAFU_E_NOMEM, "snapshot: out of memory for %zu compressed bytes", bound);
  size_t len_at = out->len;
  out->len += 8;
  ZSTD_CCtx *cctx = ZSTD_createCCtx_advanced(snap_zmem);
  if (!cctx) return kafu_fail(err, KAFU_E_NOMEM, "snapshot: out of memory for a zstd context");
  size_t zr = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
  if (!ZSTD_isError(zr) && ZSTD_getCParams(level, raw_len, 0).windowLog > WINDOW_LOG_MAX)
    zr = ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, WINDOW_LOG_MAX);
  if (!ZSTD_isError(zr) && threads > 0)
    zr = ZSTD_CCtx_setParameter(cctx, ZSTD_c_nbWorkers, threads);
  if (!ZSTD_isError(zr)) zr = ZSTD_CCtx_setPledgedSrcSize(cctx, raw_len);
  ZSTD_outBuffer dst = {out->data + out->len, bound, 0};
  size_t run_len;
  for (size_t i = kafu_snap_next_run(bitmap, n_pages, 0, &run_len); run_len && !ZSTD_isError(zr);
       i = kafu_snap_next_run(bitmap, n_pages, i + run_len, &run_len)) {
    ZSTD_inBuffer src = {mem + i * PAGE, run_len * PAGE, 0};
    while (src.pos < src.size && !ZSTD_isError(zr))
      zr = ZSTD_compressStream2(cctx, &dst, &src, ZSTD_e_continue);
  }
  if (!ZSTD_isError(zr)) {
    ZSTD_inBuffer none = {NULL, 0, 0};
    do
      zr = ZSTD_compressStream2(cctx, &dst, &none, ZSTD_e_end);
    while (zr != 0 && !ZSTD_isError(zr));
  }
  if (ZSTD_isError(zr)) {
    /* zstd reports its own allocation failures as errors too */
    rc = kafu_fail(
        err, ZSTD_getErrorCode(zr) == ZSTD_error_memory_allocation ? KAFU_E_NOMEM : KAFU_E_INTERNAL,
        "snapshot: zstd compression failed: %s", ZSTD_getErrorName(zr));
    out->len = len_at;
    goto out;
  }
  for (int b = 0; b < 8; b++)
    out->data[len_at + b] = (uint8_t)((uint64_t)dst.pos >> (8 * b));
  out->len += dst.pos;
out:
  ZSTD_freeCCtx(cctx);
  return rc;
}

/* Turns a zstd error into our message; allocation failures are not bad input. */
static kafu_err zstd_fail(kafu_error *err, size_t zr, size_t frame_off) {
  if (ZSTD_getErrorCode(zr) == ZSTD_error_memory_allocation)
    return kafu_fail(err, KAFU_E_NOMEM, "snapshot: out of memory in zstd");
  return kafu_fail(err, KAFU_E_INPUT, "snapshot: memory pages at offset 0x%zx: zstd: %s", frame_off,
                   ZSTD_getErrorName(zr));
}

kafu_err kafu_snap_decompress(const uint8_t *frame, size_t frame_len, size_t frame_off,
                              uint8_t *mem, const uint8_t *bitmap, size_t n_pages, size_t n_present,
                              kafu_error *err) {
  kafu_err rc = KAFU_OK;
  size_t raw_len = n_present * PAGE;
  unsigned long long declared = ZSTD_getFrameContentSize(frame, frame_len);
  if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != ZSTD_CONTENTSIZE_ERROR &&
      declared != raw_len)
    return kafu_fail(err, KAFU_E_INPUT,
                     "snapshot: compressed pages at offset 0x%zx declare %llu bytes, the page "
                     "map needs %zu",
                     frame_off, declared, raw_len);
  ZSTD_DCtx *dctx = ZSTD_createDCtx_advanced(snap_zmem);
  if (!dctx) return kafu_fail(err, KAFU_E_NOMEM, "snapshot: out of memory for a zstd context");
  ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, WINDOW_LOG_MAX);
  ZSTD_inBuffer src = {frame, frame_len, 0};
  size_t zr = 1; /* becomes 0 once the frame is complete */
  size_t produced = 0, run_len;
  for (size_t i = kafu_snap_next_run(bitmap, n_pages, 0, &run_len); run_len;
       i = kafu_snap_next_run(bitmap, n_pages, i + run_len, &run_len)) {
    ZSTD_outBuffer dst = {mem + i * PAGE, run_len * PAGE, 0};
    while (dst.pos < dst.size) {
      size_t in_before = src.pos, out_before = dst.pos;
      zr = ZSTD_decompressStream(dctx, &dst, &src);
      if (ZSTD_isError(zr)) {
        rc = zstd_fail(err, zr, frame_off);
        goto out;
      }
      if ((zr == 0 && dst.pos < dst.size) ||
          (src.pos == in_before && dst.pos == out_before && src.pos == src.size)) {
        rc = kafu_fail(err, KAFU_E_INPUT,
                       "snapshot: compressed pages at offset 0x%zx end after %zu of the %zu "
                       "declared bytes",
                       frame_off, produced + dst.pos, raw_len);
        goto out;
      }
    }
    produced += dst.size;
  }
  while (zr != 0) { /* the frame must end exactly here, without more output */
    uint8_t extra;
    ZSTD_outBuffer dst = {&extra, 1, 0};
    size_t in_before = src.pos;
    zr = ZSTD_decompressStream(dctx, &dst, &src);
    if (ZSTD_isError(zr)) {
      rc = zstd_fail(err, zr, frame_off);
      goto out;
    }
    if (dst.pos) {
      rc = kafu_fail(err, KAFU_E_INPUT,
                     "snapshot: compressed pages at offset 0x%zx decompress to more than the "
                     "declared %zu bytes",
                     frame_off, raw_len);
      goto out;
    }
    if (zr != 0 && src.pos == in_before) {
      rc = kafu_fail(err, KAFU_E_INPUT,
                     "snapshot: compressed pages at offset 0x%zx: zstd frame truncated", frame_off);
      goto out;
    }
  }
  if (src.pos != src.size)
    rc = kafu_fail(err, KAFU_E_INPUT,
                   "snapshot: %zu unexpected bytes after the zstd frame at offset 0x%zx",
                   src.size - src.pos, frame_off + src.pos);
out:
  ZSTD_freeDCtx(dctx);
  return rc;
}
