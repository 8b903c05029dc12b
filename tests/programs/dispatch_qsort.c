/* Function-pointer dispatch tables (a tiny stack machine and a comparator
 * table for qsort/bsearch), static locals that must survive migration, and
 * printf formatting of doubles and integers. Under --policy always every
 * comparator and handler call is a point: the workload stays small. */
// slow-always
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafu.h"

/* ---- records sorted by several keys; every comparator is a total order
 * (ties broken by the unique id) so qsort's instability cannot show. */

typedef struct record {
  int id;
  int group;
  double score;
  char name[16];
} record;

#define N_RECORDS 200

static record records[N_RECORDS];

/* A generator whose state is a static local: it must travel in snapshots. */
static uint32_t next_random(void) {
  static uint32_t state = 0x2545f491u;
  state ^= state << 13;
  state ^= state >> 17;
  state ^= state << 5;
  return state;
}

static int by_id(const void *a, const void *b) {
  const record *x = a, *y = b;
  return (x->id > y->id) - (x->id < y->id);
}

static int by_name(const void *a, const void *b) {
  const record *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c ? c : by_id(a, b);
}

static int by_score_desc(const void *a, const void *b) {
  const record *x = a, *y = b;
  if (x->score != y->score) return x->score < y->score ? 1 : -1;
  return by_id(a, b);
}

static int by_group_then_score(const void *a, const void *b) {
  const record *x = a, *y = b;
  if (x->group != y->group) return x->group - y->group;
  return by_score_desc(a, b);
}

typedef int (*compare_fn)(const void *, const void *);

static const struct {
  const char *label;
  compare_fn compare;
} orders[] = {
    {"name", by_name},
    {"score", by_score_desc},
    {"group", by_group_then_score},
    {"id", by_id},
};

static uint64_t fold_ids(void) {
  uint64_t h = 14695981039346656037ull;
  for (int i = 0; i < N_RECORDS; i++)
    h = (h ^ (uint32_t)records[i].id) * 1099511628211ull;
  return h;
}

KAFU_DEST("edge1")
static uint64_t sort_by(int order) {
  static int sorts_done; /* counts calls across migrations */
  sorts_done++;
  qsort(records, N_RECORDS, sizeof records[0], orders[order].compare);
  printf("sort #%d by %-5s first=%-8s id=%3d score=%8.3f last id=%3d\n", sorts_done,
         orders[order].label, records[0].name, records[0].id, records[0].score,
         records[N_RECORDS - 1].id);
  return fold_ids();
}

/* ---- a stack machine whose opcodes dispatch through a handler table */

enum { OP_PUSH, OP_ADD, OP_MUL, OP_SUB, OP_DUP, OP_OVER, OP_SWAP, OP_JNZ, OP_HASH, OP_HALT, N_OPS };

typedef struct vm {
  int64_t stack[16];
  int sp;
  int pc;
  uint32_t hash;
  const int32_t *code;
} vm;

typedef int (*op_fn)(vm *m);

static int op_push(vm *m) {
  m->stack[m->sp++] = m->code[m->pc++];
  return 1;
}
static int op_add(vm *m) {
  m->sp--;
  m->stack[m->sp - 1] += m->stack[m->sp];
  return 1;
}
static int op_mul(vm *m) {
  m->sp--;
  m->stack[m->sp - 1] = (m->stack[m->sp - 1] * m->stack[m->sp]) % 1000003;
  return 1;
}
static int op_sub(vm *m) {
  m->sp--;
  m->stack[m->sp - 1] -= m->stack[m->sp];
  return 1;
}
static int op_dup(vm *m) {
  m->stack[m->sp] = m->stack[m->sp - 1];
  m->sp++;
  return 1;
}
static int op_over(vm *m) {
  m->stack[m->sp] = m->stack[m->sp - 2];
  m->sp++;
  return 1;
}
static int op_swap(vm *m) {
  int64_t top = m->stack[m->sp - 1];
  m->stack[m->sp - 1] = m->stack[m->sp - 2];
  m->stack[m->sp - 2] = top;
  return 1;
}
/* pops the condition; jumps when it is non-zero */
static int op_jnz(vm *m) {
  int target = m->code[m->pc++];
  if (m->stack[--m->sp] != 0) m->pc = target;
  return 1;
}
static int op_hash(vm *m) {
  static unsigned calls; /* every hash ever done, across runs and migrations */
  calls++;
  m->hash = (m->hash ^ (uint32_t)m->stack[m->sp - 1]) * 16777619u + calls;
  return 1;
}
static int op_halt(vm *m) {
  (void)m;
  return 0;
}

static op_fn const handlers[N_OPS] = {op_push, op_add,  op_mul, op_sub,  op_dup,
                                      op_over, op_swap, op_jnz, op_hash, op_halt};

/* Runs acc = (acc * 3 + counter) mod p; hash(acc); counter -= 1 until the
 * counter reaches 0, dispatching every opcode through `handlers`. */
KAFU_DEST("cloud1")
KAFU_MAY_OFFLOAD("edge1")
static uint32_t run_loop(int rounds) {
  const int32_t code[] = {
      OP_PUSH,          0,                        /* [acc] */
      OP_PUSH,          rounds,                   /* [acc counter] */
      /* 4: */ OP_SWAP, OP_PUSH, 3,       OP_MUL, /* [counter acc*3] */
      OP_OVER,          OP_ADD,  OP_HASH,         /* [counter acc'] */
      OP_SWAP,          OP_PUSH, 1,       OP_SUB, /* [acc' counter-1] */
      OP_DUP,           OP_JNZ,  4,               /* loop while counter != 0 */
      OP_HALT,
  };
  vm m;
  memset(&m, 0, sizeof m);
  m.code = code;
  m.hash = 2166136261u;
  int steps = 0;
  for (;;) {
    int op = code[m.pc++];
    if (!handlers[op](&m)) break;
    steps++;
  }
  return m.hash ^ (uint32_t)steps ^ (uint32_t)m.stack[0];
}

/* ---- printf formatting */

static void print_formats(void) {
  static const double values[] = {0.0,     -0.0,      1.0 / 3.0, 2.0 / 3.0, 1e-7,  123456789.125,
                                  6.02e23, -1.5e-300, 0.1 + 0.2, 1e21,      255.5, 0.000123456};
  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
    double v = values[i];
    printf("[%2zu] %%f=%f %%.3e=%.3e %%g=%g %%.12g=%.12g %%10.4f=|%10.4f| %%-12.2f=|%-12.2f|\n", i,
           v, v, v, v, v, v);
  }
  printf("%+d %+d % d %05d %-5d| %x %X %#x %o %#o %c %% %s\n", 42, -42, 7, 42, 42, 48879, 48879,
         255, 8, 8, 'K', "done");
  printf("%lld %llu %lld %*d|%-*d| %.*f %.0f %.0f %.0f\n", -9223372036854775807ll - 1,
         18446744073709551615ull, 1234567890123ll, 6, 17, 6, 17, 3, 3.14159265, 0.5, 1.5, 2.5);
  printf("%8.3s|%-8s|%.2s|%5c|\n", "abcdef", "ab", "xyz", 'q');
}

int main(void) {
  for (int i = 0; i < N_RECORDS; i++) {
    record *r = &records[i];
    r->id = i;
    r->group = (int)(next_random() % 7);
    r->score = (double)(next_random() % 100000) / 97.0 - 300.0;
    static const char *syllables[] = {"ka", "fu", "mi", "ro", "te", "su", "no", "ha"};
    uint32_t bits = next_random();
    snprintf(r->name, sizeof r->name, "%s%s%s%d", syllables[bits & 7], syllables[(bits >> 3) & 7],
             syllables[(bits >> 6) & 7], (int)(bits >> 9) % 10);
  }
  for (int round = 0; round < 2; round++)
    for (int order = round; order < 4; order += 2)
      printf("  fold %016llx\n", (unsigned long long)sort_by(order));

  qsort(records, N_RECORDS, sizeof records[0], by_name);
  record key;
  memset(&key, 0, sizeof key);
  for (int probe = 0; probe < N_RECORDS; probe += 57) {
    key = records[probe];
    record *hit = bsearch(&key, records, N_RECORDS, sizeof records[0], by_name);
    printf("bsearch %-8s id %3d -> %s\n", key.name, key.id, hit ? "found" : "missing");
  }
  snprintf(key.name, sizeof key.name, "zzz");
  printf("bsearch zzz -> %s\n",
         bsearch(&key, records, N_RECORDS, sizeof records[0], by_name) ? "found" : "missing");

  for (int rounds = 10; rounds <= 1000; rounds *= 10)
    printf("vm(%d) = %08x\n", rounds, run_loop(rounds));
  print_formats();
  printf("random after: %08x\n", next_random());
  return 0;
}
