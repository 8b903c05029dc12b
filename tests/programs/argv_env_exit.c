/* argv, environ and a non-zero exit code through an annotated function. */
// args: alpha beta gamma
// env: KAFU_TEST=hello KAFU_OTHER=42
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafu.h"

KAFU_DEST("edge1")
static int sum_lengths(int argc, char **argv) {
  int total = 0;
  for (int i = 1; i < argc; i++) total += (int)strlen(argv[i]);
  return total;
}

int main(int argc, char **argv) {
  printf("argc=%d\n", argc);
  for (int i = 1; i < argc; i++) printf("arg[%d]=%s\n", i, argv[i]);
  const char *t = getenv("KAFU_TEST");
  const char *o = getenv("KAFU_OTHER");
  printf("KAFU_TEST=%s KAFU_OTHER=%s MISSING=%s\n", t ? t : "(null)", o ? o : "(null)",
         getenv("KAFU_MISSING") ? "set" : "(null)");
  int n = sum_lengths(argc, argv);
  printf("sum of lengths=%d\n", n);
  fflush(stdout);
  return 3 + n % 5;
}
