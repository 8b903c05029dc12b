/* The smallest Kafu program: main runs where the program was started, f runs
 * on edge1 and execution comes back for main's last line. Each line says
 * which node printed it; built natively (gcc) they all say "native". */
#include <stdio.h>

#include "kafu.h"

KAFU_DEST("edge1")
int f(int x) {
  printf("f(%d) runs on %s\n", x, kafu_node());
  return x * 2;
}

int main(void) {
  printf("main starts on %s\n", kafu_node());
  int y = f(21);
  printf("main got %d back on %s\n", y, kafu_node());
  return 0;
}
