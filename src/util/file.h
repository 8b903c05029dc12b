/* Whole-file I/O and small filesystem helpers used by the CLI and caches. */
#ifndef KAFU_UTIL_FILE_H
#define KAFU_UTIL_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Reads all of path into a new malloc'd buffer (owned by caller; NUL-terminated
 * one past *len for convenience). Errors: KAFU_E_INPUT if missing/unreadable. */
kafu_err kafu_file_read(const char *path, uint8_t **out, size_t *len, kafu_error *err);

/* Writes data to path atomically (temp file in the same directory + rename),
 * so readers never see a partial file. Devices and pipes (e.g. /dev/null)
 * are written in place. Errors: KAFU_E_IO, KAFU_E_INPUT for a directory. */
kafu_err kafu_file_write(const char *path, const void *data, size_t len, kafu_error *err);

/* mkdir -p with mode 0755. */
kafu_err kafu_mkdirs(const char *path, kafu_error *err);

#endif
