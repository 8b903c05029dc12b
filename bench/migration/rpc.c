/* bench/migration: the bare RPC baseline. A server process and a client
 * process exchange a request and a response of PAYLOAD bytes each over
 * loopback TCP with TCP_NODELAY, N times; prints the round-trip times. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int io_all(int fd, unsigned char *buf, size_t len, int writing) {
  while (len) {
    ssize_t n = writing ? write(fd, buf, len) : read(fd, buf, len);
    if (n <= 0) return -1;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  size_t payload = argc > 1 ? strtoul(argv[1], NULL, 10) : 256;
  int n = argc > 2 ? atoi(argv[2]) : 1000;
  int one = 1, ls = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t sl = sizeof sa;
  if (bind(ls, (struct sockaddr *)&sa, sizeof sa) || listen(ls, 1) ||
      getsockname(ls, (struct sockaddr *)&sa, &sl)) {
    perror("rpc: listen");
    return 1;
  }
  unsigned char *buf = malloc(payload ? payload : 1);
  for (size_t i = 0; i < payload; i++) buf[i] = (unsigned char)(i * 131 + (i >> 7));
  pid_t pid = fork();
  if (pid == 0) { /* server: echo */
    int fd = accept(ls, NULL, NULL);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    while (io_all(fd, buf, payload, 0) == 0 && io_all(fd, buf, payload, 1) == 0) {
    }
    _exit(0);
  }
  close(ls);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
    perror("rpc: connect");
    return 1;
  }
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  double *rt = malloc(sizeof *rt * (size_t)n);
  for (int i = -10; i < n; i++) {
    double a = now_us();
    if (io_all(fd, buf, payload, 1) || io_all(fd, buf, payload, 0)) {
      fprintf(stderr, "rpc: I/O failed\n");
      return 1;
    }
    if (i >= 0) rt[i] = now_us() - a;
  }
  close(fd);
  waitpid(pid, NULL, 0);
  qsort(rt, (size_t)n, sizeof *rt, cmp);
  double sum = 0;
  for (int i = 0; i < n; i++) sum += rt[i];
  printf("rpc payload %zu roundtrips %d mean_us %.1f p50_us %.1f p90_us %.1f min_us %.1f\n",
         payload, n, sum / n, rt[n / 2], rt[n * 9 / 10], rt[0]);
  return 0;
}
