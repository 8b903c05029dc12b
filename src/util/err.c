/* kafu_error helpers: formatting and classifying failures. */
#include "util/err.h"

#include <stdio.h>
#include <string.h>

kafu_err kafu_vfail(kafu_error *err, kafu_err code, const char *fmt, va_list ap) {
  if (err) {
    err->code = code;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  }
  return code;
}

kafu_err kafu_fail(kafu_error *err, kafu_err code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  kafu_vfail(err, code, fmt, ap);
  va_end(ap);
  return code;
}

kafu_err kafu_error_prefix(kafu_error *err, const char *prefix) {
  if (!err) return KAFU_E_INTERNAL;
  char old[KAFU_ERROR_MAX];
  memcpy(old, err->msg, sizeof old);
  old[sizeof old - 1] = '\0';
  size_t n = strlen(prefix);
  if (n > sizeof err->msg - 3) n = sizeof err->msg - 3;
  memcpy(err->msg, prefix, n);
  err->msg[n] = ':';
  err->msg[n + 1] = ' ';
  size_t rest = sizeof err->msg - n - 3;
  size_t olen = strnlen(old, rest);
  memcpy(err->msg + n + 2, old, olen);
  err->msg[n + 2 + olen] = '\0';
  return err->code;
}

const char *kafu_err_name(kafu_err code) {
  switch (code) {
  case KAFU_OK: return "ok";
  case KAFU_E_INPUT: return "bad input";
  case KAFU_E_IO: return "i/o error";
  case KAFU_E_NOMEM: return "out of memory";
  case KAFU_E_TRAP: return "trap";
  case KAFU_E_EXIT: return "exit";
  case KAFU_E_UNSUPPORTED: return "unsupported";
  case KAFU_E_LIMIT: return "limit exceeded";
  case KAFU_E_INTERNAL: return "internal error";
  }
  return "unknown error";
}

int kafu_err_exit_status(kafu_err code) {
  return code == KAFU_E_INPUT ? 2 : 1;
}
