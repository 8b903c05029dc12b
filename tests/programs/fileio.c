/* File I/O inside a preopened directory, with migration points between the
 * open, the writes, the seeks and the reads. */
// dir
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafu.h"

static char path_buf[512];

static const char *in_dir(const char *dir, const char *name) {
  snprintf(path_buf, sizeof path_buf, "%s/%s", dir, name);
  return path_buf;
}

KAFU_DEST("edge1")
static int write_lines(FILE *f, int n) {
  int bytes = 0;
  for (int i = 0; i < n; i++) bytes += fprintf(f, "line %03d: %d\n", i, i * i);
  return bytes;
}

KAFU_DEST("cloud1")
static long long checksum_file(FILE *f) {
  long long sum = 0;
  int c, pos = 0;
  while ((c = fgetc(f)) != EOF) sum += (long long)c * (++pos % 13);
  return sum;
}

static int cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  const char *dir = argv[1];
  FILE *f = fopen(in_dir(dir, "data.txt"), "w+");
  if (!f) {
    printf("cannot open\n");
    return 1;
  }
  int bytes = write_lines(f, 200);
  printf("wrote %d bytes\n", bytes);
  fseek(f, 0, SEEK_SET);
  printf("checksum %lld\n", checksum_file(f));
  fseek(f, 14 * 10, SEEK_SET);
  char line[64];
  if (fgets(line, sizeof line, f)) printf("line at 140: %s", line);
  printf("tell %ld\n", ftell(f));
  fclose(f);

  FILE *g = fopen(in_dir(dir, "second.txt"), "w");
  fputs("second file\n", g);
  fclose(g);
  g = fopen(in_dir(dir, "second.txt"), "a");
  fputs("appended\n", g);
  fclose(g);
  g = fopen(in_dir(dir, "second.txt"), "r");
  while (fgets(line, sizeof line, g)) printf("second: %s", line);
  fclose(g);

  DIR *d = opendir(dir);
  char *names[16];
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)) && n < 16)
    if (e->d_name[0] != '.') names[n++] = strdup(e->d_name);
  if (d) closedir(d);
  qsort(names, (size_t)n, sizeof names[0], cmp);
  for (int i = 0; i < n; i++) {
    printf("entry %s\n", names[i]);
    free(names[i]);
  }
  remove(in_dir(dir, "second.txt"));
  printf("missing after remove: %s\n", fopen(in_dir(dir, "second.txt"), "r") ? "no" : "yes");
  return 0;
}
