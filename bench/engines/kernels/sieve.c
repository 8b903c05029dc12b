/* Sieve of Eratosthenes, repeated: byte stores and branches. */
#include <stdio.h>
#include <string.h>
#define N 2000000
static char composite[N];
int main(void) {
  int count = 0;
  for (int r = 0; r < 50; r++) {
    memset(composite, 0, sizeof composite);
    count = 0;
    for (int i = 2; i < N; i++) {
      if (composite[i]) continue;
      count++;
      for (int j = 2 * i; j < N; j += i) composite[j] = 1;
    }
  }
  printf("%d\n", count);
  return 0;
}
