/* Where does each part run? Nested and recursive KAFU_DEST, a DEST reached
 * through a function pointer, returns to the caller's node, output order on
 * stdout and stderr, a file that exists only in edge1's preopened dir, and
 * the exit code (argv[1]) reported from a remote node. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafu.h"

KAFU_DEST("edge1")
static int leaf(int x) {
  printf("leaf(%d) on %s\n", x, kafu_node());
  return x + 1;
}

KAFU_DEST("cloud1")
static int back_to_cloud(int x) {
  printf("back_to_cloud(%d) on %s\n", x, kafu_node());
  int r = leaf(x) * 2; /* cloud1 -> edge1 -> cloud1 */
  printf("back_to_cloud after leaf on %s\n", kafu_node());
  return r;
}

KAFU_DEST("edge1")
static int outer(int x) {
  printf("outer(%d) on %s\n", x, kafu_node());
  int r = back_to_cloud(x);
  printf("outer after back_to_cloud on %s\n", kafu_node());
  return r;
}

KAFU_DEST("edge1")
static int recursive(int n) {
  if (n == 0) {
    printf("recursive bottom on %s\n", kafu_node());
    return 0;
  }
  return n + recursive(n - 1);
}

KAFU_DEST("edge1")
static int read_camera(const char *name) {
  FILE *f = fopen(name, "r");
  if (!f) {
    printf("read_camera on %s: %s missing\n", kafu_node(), name);
    return -1;
  }
  char line[128] = "";
  if (!fgets(line, sizeof line, f)) line[0] = '\0';
  fclose(f);
  line[strcspn(line, "\n")] = '\0';
  printf("read_camera on %s: '%s'\n", kafu_node(), line);
  return (int)strlen(line);
}

#ifdef THREE_NODES
KAFU_DEST("edge2")
static int on_edge2(int x) {
  printf("on_edge2(%d) on %s\n", x, kafu_node());
  return leaf(x) + 100; /* edge2 -> edge1 -> edge2 */
}
#endif

KAFU_DEST("edge1")
static void exit_remotely(int code) {
  printf("exit_remotely(%d) on %s\n", code, kafu_node());
  fflush(stdout);
  exit(code);
}

static int (*volatile via_pointer)(int) = leaf;

int main(int argc, char **argv) {
  int code = argc > 1 ? atoi(argv[1]) : 0;
  printf("main on %s\n", kafu_node());
  printf("leaf -> %d, main on %s\n", leaf(1), kafu_node());
  printf("outer -> %d, main on %s\n", outer(2), kafu_node());
  printf("recursive -> %d, main on %s\n", recursive(5), kafu_node());
  printf("pointer -> %d, main on %s\n", via_pointer(3), kafu_node());
  FILE *f = fopen("camera.txt", "r");
  printf("main sees camera.txt: %s\n", f ? "yes" : "no");
  if (f) fclose(f);
  printf("read_camera -> %d\n", read_camera("camera.txt"));
#ifdef THREE_NODES
  printf("on_edge2 -> %d, main on %s\n", on_edge2(4), kafu_node());
#endif
  for (int i = 0; i < 5; i++) {
    printf("order %d\n", leaf(10 * i));
    fprintf(stderr, "err %d on %s\n", i, kafu_node());
  }
  if (code >= 100) exit_remotely(code - 100);
  printf("main returns %d on %s\n", code, kafu_node());
  return code;
}
