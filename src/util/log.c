/* stderr logger; level can come from the KAFU_LOG environment variable. */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_level = -1;

void kafu_log_set_level(kafu_log_level level) { g_level = (int)level; }

static int current_level(void) {
  if (g_level >= 0) return g_level;
  const char *env = getenv("KAFU_LOG");
  g_level = KAFU_LOG_INFO;
  if (env) {
    if (!strcmp(env, "debug")) g_level = KAFU_LOG_DEBUG;
    else if (!strcmp(env, "warn")) g_level = KAFU_LOG_WARN;
    else if (!strcmp(env, "error")) g_level = KAFU_LOG_ERROR;
  }
  return g_level;
}

void kafu_log(kafu_log_level level, const char *tag, const char *fmt, ...) {
  if ((int)level < current_level()) return;
  static const char *names[] = {"debug", "info", "warn", "error"};
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  fprintf(stderr, "kafu[%s] %s: %s\n", tag, names[level], line);
}
