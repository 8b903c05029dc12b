#!/bin/bash
# Differential: programs built by kafu cc (-O0 and -O2, one step and -c +
# link) print exactly what the same sources print natively with gcc, when run
# by kafu exec on the interpreter with a forced migration at every point.
set -u
KAFU=${KAFU:?KAFU must point to the kafu binary}
SRC=${KAFU_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fails=0

cat > common.h <<'C'
#include <stdio.h>
#include <string.h>
#include "kafu.h"
KAFU_DEST("edge1")
unsigned checksum(const char *text);
C
cat > prog.c <<'C'
#include "common.h"

static int depth_sum(int n) { return n == 0 ? 0 : n + depth_sum(n - 1); }

KAFU_DEST(fib, "edge2")
static long long fib(int n) {
  long long a = 0, b = 1;
  for (int i = 0; i < n; i++) {
    long long t = a + b;
    a = b;
    b = t;
  }
  return a;
}

KAFU_DEST("cloud1") KAFU_MAY_OFFLOAD("cloud2")
double work(int n) {
  double acc = 0;
  for (int i = 1; i <= n; i++) acc += 1.0 / i;
  return acc + depth_sum(50);
}

int main(int argc, char **argv) {
  char buf[64];
  printf("args %d\n", argc);
  for (int i = 0; i < 3; i++) {
    snprintf(buf, sizeof buf, "round %d fib %lld", i, fib(10 * i + 5));
    puts(buf);
    printf("checksum %u\n", checksum(buf));
  }
  printf("work %.6f\n", work(100000));
  return argc > 5 ? 1 : 0;
}
C
cat > lib.c <<'C'
#include "common.h"
unsigned checksum(const char *text) {
  unsigned h = 2166136261u;
  for (size_t i = 0; i < strlen(text); i++) h = (h ^ (unsigned char)text[i]) * 16777619u;
  return h;
}
C

gcc -O1 -I"$SRC/include" prog.c lib.c -o native || { echo "FAIL native build"; exit 1; }
./native > want.txt

check() {
  local name=$1
  if ! "$KAFU" exec "$name.wasm" --engine interp --migrate-every 1 --stats --quiet > got.txt 2> err.txt; then
    echo "FAIL $name: kafu exec failed"; cat err.txt; fails=$((fails + 1)); return
  fi
  # The annotated sites were really migration points.
  local n
  n=$(sed -n 's/.* \([0-9][0-9]*\) forced migrations.*/\1/p' err.txt)
  if [ -z "$n" ] || [ "$n" -lt 6 ]; then
    echo "FAIL $name: too few forced migrations: '$(cat err.txt)'"; fails=$((fails + 1)); return
  fi
  if cmp -s want.txt got.txt; then
    echo "ok   $name: same output as native ($(wc -l < got.txt) lines, $n migrations)"
  else
    echo "FAIL $name: output differs"; diff want.txt got.txt | head; fails=$((fails + 1))
  fi
}

for opt in -O0 -O2; do
  if "$KAFU" cc $opt prog.c lib.c -o "one$opt.wasm"; then check "one$opt"; else
    echo "FAIL kafu cc $opt"; fails=$((fails + 1)); fi
done
if "$KAFU" cc -O1 -c prog.c && "$KAFU" cc -O1 -c lib.c && "$KAFU" cc prog.o lib.o -o split.wasm; then
  check split
else
  echo "FAIL -c then link"; fails=$((fails + 1))
fi

[ "$fails" = 0 ] && echo "all passed"
exit $((fails > 0))
