/* The one error convention of Kafu: functions that can fail return a kafu_err
 * code (KAFU_OK = 0) and put one human line into a caller-supplied kafu_error. */
#ifndef KAFU_UTIL_ERR_H
#define KAFU_UTIL_ERR_H

#include <stdarg.h>
#include <stddef.h>

typedef enum kafu_err {
  KAFU_OK = 0,
  KAFU_E_INPUT,       /* bad input: malformed file, config, frame, CLI args (exit 2) */
  KAFU_E_IO,          /* an OS call failed (open, read, connect, ...) */
  KAFU_E_NOMEM,       /* allocation failed */
  KAFU_E_TRAP,        /* the Wasm program trapped */
  KAFU_E_EXIT,        /* the Wasm program called proc_exit (code kept by the WASI host) */
  KAFU_E_UNSUPPORTED, /* valid input that Kafu does not handle (yet) */
  KAFU_E_LIMIT,       /* a configured limit was hit (stack, state region, size) */
  KAFU_E_INTERNAL,    /* a bug or an impossible state */
} kafu_err;

#define KAFU_ERROR_MAX 512

/* Where a failing function writes its one-line message. Callers own it,
 * usually on the stack; callees only write into msg. */
typedef struct kafu_error {
  kafu_err code;
  char msg[KAFU_ERROR_MAX];
} kafu_error;

/* Records code and a printf-style message into err (which may be NULL) and
 * returns code, so a failure reads: return kafu_fail(err, KAFU_E_INPUT, "..."). */
kafu_err kafu_fail(kafu_error *err, kafu_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
kafu_err kafu_vfail(kafu_error *err, kafu_err code, const char *fmt, va_list ap);

/* Prefixes err->msg with "prefix: " (e.g. a file name); returns err->code. */
kafu_err kafu_error_prefix(kafu_error *err, const char *prefix);

/* A short stable name for a code ("bad input", "trap", ...). */
const char *kafu_err_name(kafu_err code);

/* The CLI exit status for an error: 2 for bad input, 1 otherwise. */
int kafu_err_exit_status(kafu_err code);

#endif
