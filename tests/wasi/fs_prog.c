/* Guest program for wasi_e2e_test: exercises the WASI host through
 * wasi-libc (stdio, files, directories, stat, symlinks, sandbox escapes,
 * clocks, env, args) and exits with code 5. Built with clang for wasm32-wasi. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  printf("argc=%d last=%s env=%s\n", argc, argv[argc - 1], getenv("KAFU_TEST"));

  FILE *f = fopen("/data/out.txt", "w");
  if (!f) return 10;
  fprintf(f, "line1\nline2\n");
  fclose(f);
  f = fopen("/data/out.txt", "r");
  char buf[64] = {0};
  fseek(f, 6, SEEK_SET);
  if (!fgets(buf, sizeof buf, f)) return 11;
  printf("read=%s", buf);
  fclose(f);

  if (mkdir("/data/d", 0755) != 0) return 12;
  if (rename("/data/out.txt", "/data/d/moved.txt") != 0) return 13;
  close(open("/data/d/b", O_CREAT | O_WRONLY, 0644));
  close(open("/data/d/a", O_CREAT | O_WRONLY, 0644));
  DIR *d = opendir("/data/d");
  struct dirent *de;
  printf("ls:");
  while ((de = readdir(d)) != NULL)
    if (de->d_name[0] != '.') printf(" %s", de->d_name);
  printf("\n");
  closedir(d);
  struct stat st;
  if (stat("/data/d/moved.txt", &st) != 0) return 14;
  printf("size=%lld\n", (long long)st.st_size);

  /* escapes */
  errno = 0;
  int fd = open("/data/../secret", O_RDONLY);
  printf("dotdot=%s\n", fd < 0 && errno == ENOTCAPABLE ? "blocked" : "OPEN");
  fd = open("/etc/passwd", O_RDONLY);
  printf("absolute=%s\n", fd < 0 ? "blocked" : "OPEN");
  if (symlink("../../..", "/data/evil") != 0) return 15;
  errno = 0;
  fd = open("/data/evil/etc/passwd", O_RDONLY);
  printf("symlink=%s\n", fd < 0 && errno == ENOTCAPABLE ? "blocked" : "OPEN");

  struct timespec t1, t2, nap = {0, 10000000};
  clock_gettime(CLOCK_MONOTONIC, &t1);
  nanosleep(&nap, NULL);
  clock_gettime(CLOCK_MONOTONIC, &t2);
  long long ns = (t2.tv_sec - t1.tv_sec) * 1000000000LL + (t2.tv_nsec - t1.tv_nsec);
  printf("slept=%s\n", ns >= 10000000 ? "ok" : "short");

  unlink("/data/evil");
  unlink("/data/d/a");
  unlink("/data/d/b");
  unlink("/data/d/moved.txt");
  if (rmdir("/data/d") != 0) return 16;
  fprintf(stderr, "done\n");
  fflush(stdout);
  exit(5);
}
