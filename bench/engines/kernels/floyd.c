/* Floyd-Warshall all-pairs shortest paths (int), PolyBench-style. */
#include <stdio.h>
#define N 600
static int path[N][N];
int main(void) {
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) {
      path[i][j] = i * j % 7 + 1;
      if ((i + j) % 13 == 0 || (i + j) % 7 == 0 || (i + j) % 11 == 0) path[i][j] = 999;
    }
  for (int k = 0; k < N; k++)
    for (int i = 0; i < N; i++)
      for (int j = 0; j < N; j++)
        path[i][j] = path[i][j] < path[i][k] + path[k][j] ? path[i][j] : path[i][k] + path[k][j];
  long s = 0;
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) s += path[i][j];
  printf("%ld\n", s);
  return 0;
}
