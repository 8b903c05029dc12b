/* Write tracking for a memory range: which 4 KiB units were written since
 * the last look, without reading the memory. On Linux this is userfaultfd
 * write-protection in async mode (the kernel lifts the protection on the
 * first write itself) read back with the PAGEMAP_SCAN ioctl, kernel 6.7 or
 * later (dirty_linux.c). Design and costs: docs/dirty-tracking.md. */
#ifndef KAFU_UTIL_DIRTY_H
#define KAFU_UTIL_DIRTY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define KAFU_DIRTY_UNIT 4096u

typedef struct kafu_dirty kafu_dirty;

/* A tracker with no range yet. Errors: KAFU_E_UNSUPPORTED (message names
 * the missing kernel feature) when this kernel cannot track writes this
 * way; callers then read the memory instead. KAFU_E_NOMEM. */
kafu_err kafu_dirty_open(kafu_dirty **out, kafu_error *err);
/* Unregisters the range (if any) and frees d. NULL is a no-op. Must be
 * called before the tracked memory is freed or reused. */
void kafu_dirty_close(kafu_dirty *d);

/* Starts tracking [mem, mem+len), replacing the previous range: every unit
 * counts as clean from now on. mem need not be page aligned (a unit then
 * spans two OS pages and is dirty when either is written). Costs one pass
 * over the range's page tables (~5 ms for 64 MiB on a paravirtualized
 * guest). Errors: KAFU_E_IO (the range is not anonymous private memory,
 * say); d then tracks nothing. */
kafu_err kafu_dirty_arm(kafu_dirty *d, const void *mem, size_t len, kafu_error *err);

/* Stops tracking: unregisters the range. */
void kafu_dirty_disarm(kafu_dirty *d);

/* True when d tracks exactly [mem, mem+len). */
bool kafu_dirty_covers(const kafu_dirty *d, const void *mem, size_t len);

/* Sets, in bitmap (one bit per unit of the tracked range, unit i at
 * mem + i * 4 KiB, LSB first; ceil(units / 8) bytes, cleared here), the
 * units written since the range was armed or last scanned, and makes them
 * clean again in the same step. *n_dirty receives the count. Errors:
 * KAFU_E_IO; the tracker is then disarmed (treat every unit as dirty). */
kafu_err kafu_dirty_scan(kafu_dirty *d, uint8_t *bitmap, size_t *n_dirty, kafu_error *err);

/* Marks units [first, first + n) written now, before the caller writes
 * them, so that its writes do not fault one page at a time: one ioctl lifts
 * the protection of the run (its OS pages; with an unaligned range the
 * neighbouring units then count as written too). The next scan reports
 * them. Errors: KAFU_E_IO; the tracker is then disarmed. */
kafu_err kafu_dirty_unprotect(kafu_dirty *d, size_t first, size_t n, kafu_error *err);

/* Microseconds kafu_dirty_unprotect costs for one unit, measured with
 * kafu_dirty_fault_us; 0 if unsupported. */
double kafu_dirty_unprotect_us(void);

/* Microseconds one tracked write costs (the first write to a clean page
 * faults into the kernel), measured once per process; 0 if unsupported. */
double kafu_dirty_fault_us(void);

#endif
