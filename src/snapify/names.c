/* Converting between human function names (as in C and the kafu section) and
 * Binaryen 108's escaped internal names (WasmBinaryBuilder::escape). */
#include <stdlib.h>
#include <string.h>

#include "snapify/internal.h"

/* Binaryen 108's isIdChar: the text format's identifier characters, except
 * the backslash (which Binaryen escapes, so escaped names stay unambiguous). */
static bool is_id_char(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return c != 0 && strchr("!#$%&'*+-./:<=>?@^_`|~", c) != NULL;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

char *kafu_snapify_name_escape(const char *human) {
  size_t n = strlen(human);
  bool all_id = true;
  for (size_t i = 0; i < n && all_id; i++) all_id = is_id_char((unsigned char)human[i]);
  char *out = malloc(all_id ? n + 1 : 3 * n + 1);
  if (!out) return NULL;
  if (all_id) {
    memcpy(out, human, n + 1);
    return out;
  }
  static const char hex[] = "0123456789abcdef";
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)human[i];
    if (is_id_char(c)) {
      out[k++] = (char)c;
    } else {
      out[k++] = '\\';
      out[k++] = hex[c >> 4];
      out[k++] = hex[c & 15];
    }
  }
  out[k] = '\0';
  return out;
}

char *kafu_snapify_name_unescape(const char *internal) {
  size_t n = strlen(internal);
  char *out = malloc(n + 1);
  if (!out) return NULL;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    int hi, lo;
    if (internal[i] == '\\' && i + 2 < n && (hi = hex_value(internal[i + 1])) >= 0 &&
        (lo = hex_value(internal[i + 2])) >= 0 && (hi || lo)) {
      out[k++] = (char)(hi << 4 | lo);
      i += 2;
    } else {
      out[k++] = internal[i];
    }
  }
  out[k] = '\0';
  return out;
}
