/* malloc/realloc/free, qsort with a comparator through a function pointer,
 * string building and hashing, across annotated calls. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafu.h"

typedef struct node {
  int key;
  char *name;
  struct node *next;
} node;

static node *push(node *head, int key) {
  node *n = malloc(sizeof *n);
  char tmp[32];
  snprintf(tmp, sizeof tmp, "item-%d-%x", key, key * 2654435761u);
  n->key = key;
  n->name = strdup(tmp);
  n->next = head;
  return n;
}

static int by_key_desc(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x < y) - (x > y);
}

KAFU_DEST("edge1")
static uint64_t hash_list(node *head) {
  uint64_t h = 1469598103934665603ull;
  for (node *n = head; n; n = n->next)
    for (const char *p = n->name; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
  return h;
}

KAFU_MAY_OFFLOAD("cloud1")
static char *build_report(int *keys, int n) {
  size_t cap = 16, len = 0;
  char *out = malloc(cap);
  out[0] = 0;
  for (int i = 0; i < n; i++) {
    char piece[24];
    int m = snprintf(piece, sizeof piece, "%d,", keys[i]);
    while (len + (size_t)m + 1 > cap) {
      cap *= 2;
      out = realloc(out, cap);
    }
    memcpy(out + len, piece, (size_t)m + 1);
    len += (size_t)m;
  }
  return out;
}

int main(void) {
  node *head = NULL;
  int keys[300];
  for (int i = 0; i < 300; i++) {
    keys[i] = (i * 7919) % 1009;
    head = push(head, keys[i]);
  }
  printf("hash %016llx\n", (unsigned long long)hash_list(head));
  qsort(keys, 300, sizeof keys[0], by_key_desc);
  char *rep = build_report(keys, 40);
  printf("top: %s\n", rep);
  free(rep);
  int freed = 0;
  while (head) {
    node *n = head->next;
    free(head->name);
    free(head);
    head = n;
    freed++;
  }
  printf("freed %d\n", freed);
  return 0;
}
