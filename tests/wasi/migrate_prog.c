/* Guest program for test_wasi_migrate.sh: reads a file in small raw chunks,
 * lists a directory and appends to a file, with a migration point (a
 * KAFU_DEST function) between every step, and checks that the monotonic
 * clock never goes backwards. Paths are below the preopen /data. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kafu.h"

static long long last_ns;
static int clock_back;

KAFU_DEST("edge1")
static void step(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  long long ns = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
  if (ns < last_ns) clock_back++;
  last_ns = ns;
}

int main(void) {
  int in = open("/data/input.txt", O_RDONLY);
  int out = open("/data/out.txt", O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (in < 0 || out < 0) {
    printf("open failed\n");
    return 1;
  }
  char buf[16];
  for (;;) {
    step();
    ssize_t n = read(in, buf, 7);
    if (n < 0) {
      printf("read error %s\n", errno == EBADF ? "EBADF" : "other");
      break;
    }
    if (n == 0) break;
    printf("chunk [%.*s]\n", (int)n, buf);
    step();
    dprintf(out, "%zd;", n);
  }
  DIR *d = opendir("/data/list");
  struct dirent *de;
  while (d && (de = readdir(d)) != NULL) {
    step();
    if (de->d_name[0] != '.') printf("entry %s\n", de->d_name);
  }
  if (d) closedir(d);
  close(in);
  close(out);
  printf("clock went back %d times\n", clock_back);
  return 0;
}
