/* One-line logging to stderr, with a component tag and a global level. */
#ifndef KAFU_UTIL_LOG_H
#define KAFU_UTIL_LOG_H

typedef enum { KAFU_LOG_DEBUG, KAFU_LOG_INFO, KAFU_LOG_WARN, KAFU_LOG_ERROR } kafu_log_level;

/* Messages below this level are dropped. Default INFO; KAFU_LOG=debug|warn|error. */
void kafu_log_set_level(kafu_log_level level);
void kafu_log(kafu_log_level level, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
