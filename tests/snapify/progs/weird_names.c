/* Test program: an annotated function whose symbol name has characters that
 * Binaryen escapes and Asyncify's list parser treats specially (<>(), space). */
#include <stdio.h>
__attribute__((noinline)) int wf(int x) __asm__("weird<name>(int, int)");
__attribute__((noinline)) int wf(int x) { return x + 1; }
int main(void) { for (int i = 0; i < 3; i++) printf("%d\n", wf(i)); return 0; }
