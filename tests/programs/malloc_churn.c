/* malloc/realloc/free churn whose live heap reaches ~12 MB (the instance memory ~20 MB), with every
 * block filled with a pattern that is checked before it is freed or resized, and string building
 * and searching on a multi-megabyte text. Migration points (KAFU_DEST) come when the heap is at its
 * largest, so a snapshot carries it all. Few calls per megabyte: under --policy always every call
 * is a point. */
// slow-always
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafu.h"

#define N_SLOTS 48

typedef struct slot {
  uint32_t *words;
  size_t n_words;
  uint32_t seed;
} slot;

static slot slots[N_SLOTS];
static size_t live_bytes, peak_bytes;
static unsigned n_malloc, n_realloc, n_free, n_bad;

static uint32_t rng_state = 12345u;

static uint32_t rng(void) {
  rng_state = rng_state * 1103515245u + 12345u;
  return rng_state >> 8;
}

static uint32_t pattern(uint32_t seed, size_t i) {
  return (seed + (uint32_t)i) * 2654435761u;
}

/* Patterns go in one word in 16 (every 64 bytes, so every page is written):
 * the interpreter under --policy always must get through it quickly. */
#define STRIDE 16

static void fill(slot *s, size_t from) {
  for (size_t i = (from + STRIDE - 1) / STRIDE * STRIDE; i < s->n_words; i += STRIDE)
    s->words[i] = pattern(s->seed, i);
}

/* Counts words that lost their pattern (0 unless memory was corrupted). */
static size_t check(const slot *s) {
  size_t bad = 0;
  for (size_t i = 0; i < s->n_words; i += STRIDE)
    bad += s->words[i] != pattern(s->seed, i);
  return bad;
}

static size_t pick_words(void) {
  uint32_t r = rng();
  if (r % 10 < 5) return 8 + r % 2048;         /* 32 B .. 8 KiB */
  return 32768 + (size_t)(rng() % (3u << 18)); /* 128 KiB .. 3 MiB */
}

static void release(slot *s) {
  n_bad += (unsigned)check(s);
  free(s->words);
  live_bytes -= s->n_words * 4;
  s->words = NULL;
  s->n_words = 0;
  n_free++;
}

/* One step of churn on a random slot: allocate, grow/shrink or free it. */
static void churn_step(size_t budget) {
  slot *s = &slots[rng() % N_SLOTS];
  uint32_t what = rng() % 4;
  if (!s->words) {
    size_t n = pick_words();
    if (live_bytes + n * 4 > budget) return;
    s->words = malloc(n * 4);
    s->n_words = n;
    s->seed = rng();
    fill(s, 0);
    live_bytes += n * 4;
    n_malloc++;
  } else if (what == 0) {
    release(s);
  } else {
    size_t n = what == 1 ? s->n_words / 2 + 1 : s->n_words + s->n_words / 2 + 64;
    if (n > s->n_words && live_bytes + (n - s->n_words) * 4 > budget) n = s->n_words / 3 + 1;
    n_bad += (unsigned)check(s);
    uint32_t *grown = realloc(s->words, n * 4);
    if (!grown) {
      printf("realloc failed\n");
      exit(3);
    }
    live_bytes = live_bytes - s->n_words * 4 + n * 4;
    size_t old = s->n_words;
    s->words = grown;
    s->n_words = n;
    if (n > old) fill(s, old);
    n_realloc++;
  }
  if (live_bytes > peak_bytes) peak_bytes = live_bytes;
}

/* Runs on edge1: the whole heap crosses over on entry and comes back. */
KAFU_DEST("edge1")
static uint64_t heap_digest(void) {
  uint64_t h = 14695981039346656037ull;
  for (int i = 0; i < N_SLOTS; i++) {
    const slot *s = &slots[i];
    h = (h ^ s->n_words) * 1099511628211ull;
    for (size_t k = 0; k < s->n_words; k += 97 * STRIDE)
      h = (h ^ s->words[k]) * 1099511628211ull;
    n_bad += (unsigned)check(s);
  }
  return h;
}

/* ---- a growable string and text built from it */

typedef struct text {
  char *data;
  size_t len, cap;
} text;

static void text_reserve(text *t, size_t extra) {
  if (t->len + extra + 1 <= t->cap) return;
  size_t cap = t->cap ? t->cap : 64;
  while (cap < t->len + extra + 1)
    cap *= 2;
  t->data = realloc(t->data, cap);
  t->cap = cap;
}

/* Appends many words in one call: "<word>-<n>;" with hand-made digits and no
 * libc call per word, so the number of calls stays small however long the
 * text gets. */
static void text_append_words(text *t, int n_words) {
  static const char *const words[] = {"edge", "cloud", "frame", "people", "kafu", "snapshot"};
  text_reserve(t, (size_t)n_words * 16); /* the longest word + '-' + 5 digits + ';' */
  uint32_t state = rng_state;            /* the generator inlined by hand: no call per word */
  for (int i = 0; i < n_words; i++) {
    state = state * 1103515245u + 12345u;
    for (const char *w = words[(state >> 8) % 6]; *w; w++)
      t->data[t->len++] = *w;
    t->data[t->len++] = '-';
    char digits[12];
    int nd = 0;
    state = state * 1103515245u + 12345u;
    unsigned v = (state >> 8) % 100000;
    do {
      digits[nd++] = (char)('0' + v % 10);
      v /= 10;
    } while (v);
    while (nd)
      t->data[t->len++] = digits[--nd];
    t->data[t->len++] = (i % 16 == 15) ? '\n' : ';';
  }
  rng_state = state;
  t->data[t->len] = 0;
}

static size_t count_occurrences(const char *hay, const char *needle) {
  size_t n = 0;
  for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
    n++;
  return n;
}

/* Whole-text statistics by hand (one call however long the text is); the
 * libc searches run on a 64 KiB window so that --policy always, where every
 * libc call is a migration point, stays fast. */
KAFU_DEST("cloud1")
static void analyse(const text *t) {
  size_t lines = 0, digits = 0, last_line = 0;
  for (size_t i = 0; i < t->len; i++) {
    char c = t->data[i];
    if (c == '\n') {
      lines++;
      last_line = i + 1;
    } else if (c >= '0' && c <= '9') {
      digits++;
    }
  }
  printf("text: %zu bytes (capacity %zu), %zu lines, %zu digits\n", t->len, t->cap, lines, digits);
  printf("  last line starts with %.20s\n", t->data + last_line);
  char *window = malloc(65537);
  memcpy(window, t->data + t->len / 2, 65536);
  window[65536] = 0;
  static const char *const needles[] = {"kafu-7", "snapshot-9", "\nedge", "people-12"};
  for (int i = 0; i < 4; i++)
    printf("  %-12s x %zu\n", needles[i][0] == '\n' ? "\\nedge" : needles[i],
           count_occurrences(window, needles[i]));
  const char *nl = strchr(window, '\n');
  printf("  window: first newline at %td, last at %td\n", nl ? nl - window : -1,
         strrchr(window, '\n') - window);
  /* tokenise the first 2 KiB of the window */
  window[2048] = 0;
  size_t n_tokens = 0, longest = 0;
  for (char *tok = strtok(window, ";\n"); tok; tok = strtok(NULL, ";\n")) {
    n_tokens++;
    size_t len = strlen(tok);
    if (len > longest) longest = len;
  }
  printf("  window head: %zu tokens, longest %zu\n", n_tokens, longest);
  free(window);
}

int main(void) {
  const size_t budget = 12u << 20;
  for (int round = 0; round < 3; round++) {
    for (int step = 0; step < 80; step++)
      churn_step(budget);
    printf("round %d: live %zu KiB, peak %zu KiB, %u malloc %u realloc %u free\n", round,
           live_bytes >> 10, peak_bytes >> 10, n_malloc, n_realloc, n_free);
    printf("  digest %016llx bad %u\n", (unsigned long long)heap_digest(), n_bad);
  }

  text t = {0};
  for (int part = 0; part < 3; part++)
    text_append_words(&t, 40005);
  analyse(&t);

  for (int i = 0; i < N_SLOTS; i++)
    if (slots[i].words) release(&slots[i]);
  printf("after free: live %zu, bad %u\n", live_bytes, n_bad);

  /* the freed space is reused: one big block, written and read back */
  size_t big_words = 2u << 20;
  slot big = {malloc(big_words * 4), big_words, 99u};
  fill(&big, 0);
  printf("big block: %zu MiB, bad %zu\n", big.n_words * 4 >> 20, check(&big));
  free(big.words);
  free(t.data);
  printf("digest at end %016llx\n", (unsigned long long)heap_digest());
  return n_bad ? 1 : 0;
}
