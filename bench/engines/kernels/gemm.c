/* Dense matrix multiply C = A*B + C (double), PolyBench-style. */
#include <stdio.h>
#define N 256
static double A[N][N], B[N][N], C[N][N];
int main(void) {
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) {
      A[i][j] = (double)((i * j + 1) % N) / N;
      B[i][j] = (double)((i * (j + 1) + 2) % N) / N;
      C[i][j] = (double)((i * (j + 2) + 3) % N) / N;
    }
  for (int r = 0; r < 16; r++)
    for (int i = 0; i < N; i++)
      for (int k = 0; k < N; k++) {
        double a = 1.5 * A[i][k];
        for (int j = 0; j < N; j++) C[i][j] = 1.2 * C[i][j] + a * B[k][j];
      }
  double s = 0;
  for (int i = 0; i < N; i++) s += C[i][i];
  printf("%.6e\n", s);
  return 0;
}
