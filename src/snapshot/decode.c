/* Snapshot v1 decoder. The input is hostile: every length is checked before
 * it is used, the checksum is verified before anything is allocated or
 * decompressed, and each refusal names the offset and the section. */
#include <stdio.h>
#include <string.h>

#include "snapshot/internal.h"

#define PAGE KAFU_SNAPSHOT_PAGE

/* Where each section sits in the input; pointers borrow the input. */
typedef struct snap_view {
  uint16_t flags;
  uint64_t baseline_seq;
  uint32_t baseline_pages;
  const uint8_t *baseline_hash;
  const uint8_t *mig_stack, *state, *wasi, *bitmap, *payload;
  uint32_t mig_stack_len, state_base, state_len, wasi_len, mem_pages;
  size_t payload_len, payload_off, n_present;
} snap_view;

static uint32_t get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t get_u64(const uint8_t *p) {
  return (uint64_t)get_u32(p) | ((uint64_t)get_u32(p + 4) << 32);
}

static uint16_t get_u16(const uint8_t *p) {
  return (uint16_t)(p[0] | (p[1] << 8));
}

static kafu_err truncated(kafu_error *err, size_t offset, const char *section) {
  return kafu_fail(err, KAFU_E_INPUT, "snapshot: truncated at offset 0x%zx (%s)", offset, section);
}

/* Reads a u32 field of `section`, or reports the truncation. */
static kafu_err read_u32(kafu_rd *r, uint32_t *v, const char *section, kafu_error *err) {
  size_t at = kafu_rd_offset(r);
  const uint8_t *p = kafu_rd_bytes(r, 4);
  if (!p) return truncated(err, at, section);
  *v = get_u32(p);
  return KAFU_OK;
}

/* Takes n declared bytes of `section`; a length past the input is refused. */
static kafu_err read_span(kafu_rd *r, size_t n, const uint8_t **p, const char *section,
                          kafu_error *err) {
  size_t at = kafu_rd_offset(r);
  if (n > kafu_rd_left(r))
    return kafu_fail(err, KAFU_E_INPUT,
                     "snapshot: %s at offset 0x%zx declares %zu bytes but only %zu remain", section,
                     at, n, kafu_rd_left(r));
  *p = kafu_rd_bytes(r, n);
  return KAFU_OK;
}

static void short_hex(const uint8_t *digest, char out[17]) {
  for (int i = 0; i < 8; i++)
    snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

static kafu_err parse_header(const uint8_t *bytes, size_t len, const uint8_t *expected_sha256,
                             snap_view *v, kafu_error *err) {
  size_t magic_have = len < SNAP_MAGIC_LEN ? len : SNAP_MAGIC_LEN;
  if (memcmp(bytes, SNAP_MAGIC, magic_have) != 0)
    return kafu_fail(err, KAFU_E_INPUT, "snapshot: bad magic (not a Kafu snapshot)");
  if (len < SNAP_OFF_FLAGS)
    return truncated(err, len < SNAP_MAGIC_LEN ? len : SNAP_OFF_VERSION, "header");
  uint16_t version = get_u16(bytes + SNAP_OFF_VERSION);
  if (version != KAFU_SNAPSHOT_VERSION)
    return kafu_fail(err, KAFU_E_INPUT,
                     "snapshot: unsupported version %u (this build reads version %u)", version,
                     KAFU_SNAPSHOT_VERSION);
  if (len < SNAP_HEADER_LEN) return truncated(err, len & ~(size_t)3, "header");
  v->flags = get_u16(bytes + SNAP_OFF_FLAGS);
  if (v->flags & ~SNAP_FLAGS_KNOWN)
    return kafu_fail(err, KAFU_E_INPUT, "snapshot: unknown flags 0x%x in header at offset 0x%x",
                     v->flags, SNAP_OFF_FLAGS);
  if (get_u32(bytes + SNAP_OFF_RESERVED0) || get_u32(bytes + SNAP_OFF_RESERVED1))
    return kafu_fail(err, KAFU_E_INPUT, "snapshot: reserved header field is not zero");
  if (expected_sha256 && memcmp(bytes + SNAP_OFF_MODULE, expected_sha256, KAFU_SHA256_LEN)) {
    char have[17], want[17];
    short_hex(bytes + SNAP_OFF_MODULE, have);
    short_hex(expected_sha256, want);
    return kafu_fail(err, KAFU_E_INPUT,
                     "snapshot: module hash mismatch (snapshot is for module %s..., this "
                     "module is %s...)",
                     have, want);
  }
  v->baseline_seq = get_u64(bytes + SNAP_OFF_BASE_SEQ);
  v->baseline_pages = get_u32(bytes + SNAP_OFF_BASE_PAGES);
  v->baseline_hash = bytes + SNAP_OFF_BASE_HASH;
  if (!(v->flags & SNAP_FLAG_DELTA)) {
    static const uint8_t zero[KAFU_SHA256_LEN];
    if (v->baseline_seq || v->baseline_pages || memcmp(v->baseline_hash, zero, KAFU_SHA256_LEN))
      return kafu_fail(err, KAFU_E_INPUT, "snapshot: baseline fields set in a full snapshot");
  } else if (v->baseline_pages > KAFU_SNAPSHOT_MAX_MEM_PAGES) {
    return kafu_fail(err, KAFU_E_INPUT,
                     "snapshot: baseline of %u pages exceeds the limit of %u (header offset "
                     "0x%x)",
                     v->baseline_pages, KAFU_SNAPSHOT_MAX_MEM_PAGES, SNAP_OFF_BASE_PAGES);
  }
  return KAFU_OK;
}

/* Locates every section and checks every length, without copying. */
static kafu_err parse_sections(const uint8_t *bytes, size_t len, snap_view *v, kafu_error *err) {
  kafu_rd r = kafu_rd_init(bytes, len);
  kafu_rd_bytes(&r, SNAP_HEADER_LEN);
  kafu_err rc;
  if ((rc = read_u32(&r, &v->mig_stack_len, "migration stack", err)) ||
      (rc = read_span(&r, v->mig_stack_len, &v->mig_stack, "migration stack", err)) ||
      (rc = read_u32(&r, &v->state_base, "state region", err)) ||
      (rc = read_u32(&r, &v->state_len, "state region", err)))
    return rc;
  if ((uint64_t)v->state_base + v->state_len > ((uint64_t)1 << 32))
    return kafu_fail(err, KAFU_E_INPUT,
                     "snapshot: state region 0x%x+0x%x wraps past 4 GiB (offset 0x%zx)",
                     v->state_base, v->state_len, kafu_rd_offset(&r) - 8);
  if ((rc = read_span(&r, v->state_len, &v->state, "state region", err)) ||
      (rc = read_u32(&r, &v->wasi_len, "WASI state", err)) ||
      (rc = read_span(&r, v->wasi_len, &v->wasi, "WASI state", err)))
    return rc;
  size_t mem_at = kafu_rd_offset(&r);
  if ((rc = read_u32(&r, &v->mem_pages, "memory section", err))) return rc;
  if (v->mem_pages > KAFU_SNAPSHOT_MAX_MEM_PAGES)
    return kafu_fail(err, KAFU_E_INPUT,
                     "snapshot: memory of %u pages at offset 0x%zx exceeds the wasm limit of %u",
                     v->mem_pages, mem_at, KAFU_SNAPSHOT_MAX_MEM_PAGES);
  size_t n_pages = (size_t)v->mem_pages * SNAP_PAGES_PER_WASM_PAGE;
  if (kafu_rd_left(&r) < n_pages / 8) return truncated(err, kafu_rd_offset(&r), "memory page map");
  v->bitmap = kafu_rd_bytes(&r, n_pages / 8);
  v->n_present = kafu_snap_count(v->bitmap, n_pages);
  size_t raw_len = v->n_present * PAGE;
  if (v->flags & SNAP_FLAG_ZSTD) {
    size_t at = kafu_rd_offset(&r);
    const uint8_t *p = kafu_rd_bytes(&r, 8);
    if (!p) return truncated(err, at, "memory pages");
    uint64_t frame_len = get_u64(p);
    if (frame_len > kafu_rd_left(&r))
      return kafu_fail(err, KAFU_E_INPUT,
                       "snapshot: compressed pages at offset 0x%zx declare %llu bytes but only "
                       "%zu remain",
                       at, (unsigned long long)frame_len, kafu_rd_left(&r));
    v->payload_len = (size_t)frame_len;
  } else {
    v->payload_len = raw_len;
  }
  v->payload_off = kafu_rd_offset(&r);
  if (v->payload_len > kafu_rd_left(&r))
    return truncated(err, v->payload_off + kafu_rd_left(&r), "memory pages");
  v->payload = kafu_rd_bytes(&r, v->payload_len);
  if (kafu_rd_left(&r) < SNAP_TRAILER_LEN) return truncated(err, kafu_rd_offset(&r), "checksum");
  if (kafu_rd_left(&r) > SNAP_TRAILER_LEN)
    return kafu_fail(err, KAFU_E_INPUT,
                     "snapshot: %zu unexpected bytes before the checksum at offset 0x%zx",
                     kafu_rd_left(&r) - SNAP_TRAILER_LEN, kafu_rd_offset(&r));
  uint64_t stored = get_u64(r.p);
  uint64_t computed = kafu_checksum64(bytes, len - SNAP_TRAILER_LEN);
  if (stored != computed)
    return kafu_fail(err, KAFU_E_INPUT,
                     "snapshot: checksum mismatch (stored 0x%016llx, computed 0x%016llx)",
                     (unsigned long long)stored, (unsigned long long)computed);
  return KAFU_OK;
}

static kafu_err check_baseline(const snap_view *v, const kafu_snapshot_decode_opts *o,
                               kafu_error *err) {
  char want[17], have[17];
  short_hex(v->baseline_hash, want);
  if (!o->baseline && !o->baseline_in_memory)
    return kafu_fail(err, KAFU_E_INPUT,
                     "snapshot: delta against baseline seq %llu (%s...) but no baseline given",
                     (unsigned long long)v->baseline_seq, want);
  if (o->baseline_len != (size_t)v->baseline_pages * KAFU_SNAPSHOT_WASM_PAGE)
    return kafu_fail(err, KAFU_E_INPUT,
                     "snapshot: baseline mismatch: seq %llu is %u pages, the given baseline "
                     "is %zu bytes",
                     (unsigned long long)v->baseline_seq, v->baseline_pages, o->baseline_len);
  uint8_t digest[KAFU_SHA256_LEN];
  const uint8_t *have_hash = o->baseline_sha256;
  if (!have_hash && o->baseline_in_memory)
    return kafu_fail(err, KAFU_E_INTERNAL, "snapshot: in-memory baseline without its hash");
  if (!have_hash) {
    kafu_sha256(o->baseline, o->baseline_len, digest);
    have_hash = digest;
  }
  if (memcmp(have_hash, v->baseline_hash, KAFU_SHA256_LEN)) {
    short_hex(have_hash, have);
    return kafu_fail(err, KAFU_E_INPUT,
                     "snapshot: baseline mismatch: seq %llu needs image %s..., the given "
                     "baseline hashes to %s...",
                     (unsigned long long)v->baseline_seq, want, have);
  }
  return KAFU_OK;
}

/* Copies an opaque section into a fresh block from the hook. */
static bool dup_section(const uint8_t *src, size_t n, uint8_t **dst) {
  *dst = kafu_snap_alloc(n);
  if (n && !*dst) return false;
  if (n) memcpy(*dst, src, n);
  return true;
}

/* Writes the whole memory image: the carried pages, the baseline's pages
 * (delta) and zero for the rest. `zeroed` says mem came zero-filled from the
 * hook, so elided zero pages need no writes. */
static kafu_err fill_memory(const snap_view *v, const kafu_snapshot_decode_opts *o, uint8_t *mem,
                            bool zeroed, kafu_error *err) {
  size_t mem_len = (size_t)v->mem_pages * KAFU_SNAPSHOT_WASM_PAGE;
  size_t n_pages = (size_t)v->mem_pages * SNAP_PAGES_PER_WASM_PAGE;
  size_t keep = 0; /* bytes that come from the baseline */
  if (v->flags & SNAP_FLAG_DELTA) {
    keep = o->baseline_len < mem_len ? o->baseline_len : mem_len;
    if (keep && !o->baseline_in_memory && mem != o->baseline) memmove(mem, o->baseline, keep);
  }
  if (!zeroed) kafu_snap_zero_gaps(mem, v->bitmap, n_pages, keep / KAFU_SNAPSHOT_PAGE);
  if (v->flags & SNAP_FLAG_ZSTD) {
    kafu_err rc = kafu_snap_decompress(v->payload, v->payload_len, v->payload_off, mem, v->bitmap,
                                       n_pages, v->n_present, err);
    if (rc) return rc;
  } else {
    kafu_snap_scatter(mem, v->bitmap, n_pages, v->payload);
  }
  if (o->table) {
    bool delta = v->flags & SNAP_FLAG_DELTA;
    if (delta && o->table->n != (size_t)v->baseline_pages * SNAP_PAGES_PER_WASM_PAGE)
      return kafu_fail(err, KAFU_E_INTERNAL,
                       "snapshot: page-hash table of %zu pages for a baseline of %u wasm pages",
                       o->table->n, v->baseline_pages);
    if (!kafu_snap_table_update(o->table, mem, v->bitmap, n_pages, delta))
      return kafu_fail(err, KAFU_E_NOMEM, "snapshot: out of memory for a page-hash table");
  }
  return KAFU_OK;
}

kafu_err kafu_snapshot_decode_ex(const uint8_t *bytes, size_t len,
                                 const kafu_snapshot_decode_opts *opts, kafu_snapshot *out,
                                 kafu_error *err) {
  static const kafu_snapshot_decode_opts no_opts;
  const kafu_snapshot_decode_opts *o = opts ? opts : &no_opts;
  memset(out, 0, sizeof *out);
  snap_view v;
  memset(&v, 0, sizeof v);
  kafu_err rc = parse_header(bytes, len, o->expected_sha256, &v, err);
  if (!rc) rc = parse_sections(bytes, len, &v, err);
  if (!rc && o->max_mem_pages && v.mem_pages > o->max_mem_pages)
    rc = kafu_fail(err, KAFU_E_LIMIT, "snapshot: memory of %u pages exceeds the limit of %u",
                   v.mem_pages, o->max_mem_pages);
  if (!rc && (v.flags & SNAP_FLAG_DELTA)) rc = check_baseline(&v, o, err);
  if (rc) return rc;

  memcpy(out->module_sha256, bytes + SNAP_OFF_MODULE, KAFU_SHA256_LEN);
  out->job_id = get_u64(bytes + SNAP_OFF_JOB);
  out->seq = get_u64(bytes + SNAP_OFF_SEQ);
  out->state_base = v.state_base;
  /* lengths are set only once their block exists, so kafu_snapshot_free
   * always sees matching sizes */
  if (!dup_section(v.mig_stack, v.mig_stack_len, &out->mig_stack)) goto nomem;
  out->mig_stack_len = v.mig_stack_len;
  if (!dup_section(v.state, v.state_len, &out->state)) goto nomem;
  out->state_len = v.state_len;
  if (!dup_section(v.wasi, v.wasi_len, &out->wasi)) goto nomem;
  out->wasi_len = v.wasi_len;

  size_t mem_len = (size_t)v.mem_pages * KAFU_SNAPSHOT_WASM_PAGE;
  uint8_t *mem;
  if (o->memory_for) {
    if (err) err->code = KAFU_OK;
    mem = o->memory_for(o->memory_ud, v.mem_pages, err);
    if (!mem) {
      rc = err && err->code ? err->code
                            : kafu_fail(err, KAFU_E_NOMEM, "snapshot: no memory to decode into");
      goto fail;
    }
    /* In place, only the carried pages change (fill_memory). */
    if (o->will_write && (v.flags & SNAP_FLAG_DELTA) && o->baseline_in_memory &&
        o->baseline_len == mem_len)
      o->will_write(o->memory_ud, v.bitmap, (size_t)v.mem_pages * SNAP_PAGES_PER_WASM_PAGE);
    rc = fill_memory(&v, o, mem, false, err);
    if (rc) goto fail;
    out->mem_pages = v.mem_pages;
    return KAFU_OK;
  }
  out->memory = mem = kafu_snap_alloc(mem_len);
  if (mem_len && !mem) goto nomem;
  out->mem_pages = v.mem_pages;
  rc = fill_memory(&v, o, mem, true, err);
  if (rc) goto fail;
  return KAFU_OK;
nomem:
  rc = kafu_fail(err, KAFU_E_NOMEM, "snapshot: out of memory while decoding");
fail:
  kafu_snapshot_free(out);
  return rc;
}

kafu_err kafu_snapshot_decode(const uint8_t *bytes, size_t len, const uint8_t *expected_sha256,
                              const uint8_t *baseline, size_t baseline_len, kafu_snapshot *out,
                              kafu_error *err) {
  kafu_snapshot_decode_opts o = {
      .expected_sha256 = expected_sha256, .baseline = baseline, .baseline_len = baseline_len};
  return kafu_snapshot_decode_ex(bytes, len, &o, out, err);
}

bool kafu_snapshot_is_delta(const uint8_t *bytes, size_t len, uint64_t *baseline_seq,
                            uint8_t baseline_hash[KAFU_SHA256_LEN]) {
  if (!bytes || len < SNAP_HEADER_LEN || memcmp(bytes, SNAP_MAGIC, SNAP_MAGIC_LEN) ||
      get_u16(bytes + SNAP_OFF_VERSION) != KAFU_SNAPSHOT_VERSION ||
      !(get_u16(bytes + SNAP_OFF_FLAGS) & SNAP_FLAG_DELTA))
    return false;
  if (baseline_seq) *baseline_seq = get_u64(bytes + SNAP_OFF_BASE_SEQ);
  if (baseline_hash) memcpy(baseline_hash, bytes + SNAP_OFF_BASE_HASH, KAFU_SHA256_LEN);
  return true;
}
