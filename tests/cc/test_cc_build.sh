#!/bin/bash
# kafu cc builds: several sources, -c then link, archives, the kafu section's
# sites (read back with kafu inspect --json), wasm-validate, the name section
# kept at -O2, DWARF only with -g, --state-size, and examples/basic.
set -u
KAFU=${KAFU:?KAFU must point to the kafu binary}
SRC=${KAFU_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
ok() { echo "ok   $*"; }

cat > work.h <<'C'
#include "kafu.h"
KAFU_DEST("edge1")
int detect(int frame);
C
cat > app.c <<'C'
#include <stdio.h>
#include "work.h"
int scale(int x);
int main(void) {
  printf("%d %d\n", detect(4), scale(5));
  return 0;
}
C
cat > lib.c <<'C'
#include "work.h"
int detect(int frame) { return frame * 2; }

KAFU_DEST(scale, "edge2")
KAFU_MAY_OFFLOAD(scale, "cloud1")
int scale(int x) {
  int sum = 0;
  for (int i = 0; i < x; i++) sum += i;
  return sum;
}
C

# sites FILE EXPECTED: EXPECTED is "kind func node file line" per site, ';'-separated.
sites() {
  "$KAFU" inspect --json "$1" | python3 -c '
import json, sys
m = json.load(sys.stdin)
print(";".join("%s %s %s %s %d" % (s["kind"], s["func"], s["node"], s["file"], s["line"])
               for s in m["sites"]))'
}
expect_sites() {
  local got
  got=$(sites "$1")
  if [ "$got" = "$2" ]; then ok "$3: sites $got"; else fail "$3: sites '$got', want '$2'"; fi
}
want="dest detect edge1 lib.c 2;dest scale edge2 lib.c 6;offload scale cloud1 lib.c 6"

# One step, two sources.
if "$KAFU" cc -O2 app.c lib.c -o one.wasm; then
  expect_sites one.wasm "$want" "one step"
  wasm-validate one.wasm && ok "one step: wasm-validate" || fail "one step: wasm-validate"
else
  fail "one step: kafu cc failed"
fi

# -c, then link objects; the objects carry their annotations.
if "$KAFU" cc -O2 -c app.c && "$KAFU" cc -O2 -c lib.c -o libobj.o && [ -f app.o ]; then
  if wasm-objdump -h libobj.o | grep -q '"kafu_annot"'; then ok "-c: object has kafu_annot"; else
    fail "-c: object lacks kafu_annot"; fi
  if "$KAFU" cc app.o libobj.o -o two.wasm; then
    expect_sites two.wasm "$want" "-c then link"
    wasm-validate two.wasm && ok "-c then link: wasm-validate" || fail "-c then link: wasm-validate"
    if wasm-objdump -h two.wasm | grep -q '"kafu_annot"'; then fail "kafu_annot left in module"; fi
  else
    fail "-c then link: link failed"
  fi
  # The same object from an archive.
  llvm-ar rcs libwork.a libobj.o # GNU ar cannot index wasm objects
  if "$KAFU" cc app.o -L. -lwork -o three.wasm; then
    expect_sites three.wasm "$want" "archive"
  else
    fail "archive: link failed"
  fi
else
  fail "-c: compile failed"
fi

# --no-snapify: valid, kafu section not marked snapified, no kafu.* migration imports.
if "$KAFU" cc -O2 --no-snapify app.c lib.c -o plain.wasm; then
  expect_sites plain.wasm "$want" "--no-snapify"
  wasm-validate plain.wasm && ok "--no-snapify: wasm-validate" || fail "--no-snapify: wasm-validate"
  snap=$("$KAFU" inspect --json plain.wasm | python3 -c 'import json,sys; print(json.load(sys.stdin)["snapified"])')
  [ "$snap" = False ] && ok "--no-snapify: not snapified" || fail "--no-snapify: snapified=$snap"
  if wasm-objdump -x -j Import plain.wasm | grep -q 'kafu.enter'; then fail "--no-snapify: has kafu.enter"; fi
  # The name section survives -O2 (clang must not run wasm-opt) and DWARF is stripped.
  wasm-objdump -h plain.wasm | grep -q '"name"' && ok "-O2: name section kept" || fail "-O2: name section lost"
  if wasm-objdump -h plain.wasm | grep -q '"\.debug_'; then fail "DWARF kept without -g"; else
    ok "no -g: DWARF stripped"; fi
  # The state region is exported as a global holding its address, which the kafu section repeats.
  base=$(wasm-objdump -x -j Global plain.wasm | grep '<kafu_state_region>' | sed 's/.*init i32=//')
  meta_base=$("$KAFU" inspect --json plain.wasm | python3 -c 'import json,sys; print(json.load(sys.stdin)["state_region"]["base"])')
  if [ -n "$base" ] && [ "$base" = "$meta_base" ] && [ "$base" != 0 ]; then
    ok "state region at $base"; else fail "state region: export '$base', kafu section '$meta_base'"; fi
else
  fail "--no-snapify: kafu cc failed"
fi

# -g keeps DWARF.
if "$KAFU" cc -g --no-snapify app.c lib.c -o debug.wasm; then
  wasm-objdump -h debug.wasm | grep -q '"\.debug_info"' && ok "-g: DWARF kept" || fail "-g: no .debug_info"
else
  fail "-g: kafu cc failed"
fi

# --state-size reaches the support library and the kafu section.
if "$KAFU" cc --state-size 128K app.c lib.c -o big.wasm; then
  size=$("$KAFU" inspect --json big.wasm | python3 -c 'import json,sys; print(json.load(sys.stdin)["state_region"]["size"])')
  [ "$size" = 131072 ] && ok "--state-size 128K" || fail "--state-size: size $size"
  wasm-validate big.wasm || fail "--state-size: wasm-validate"
else
  fail "--state-size: kafu cc failed"
fi

# --policy always marks the section.
if "$KAFU" cc --policy always app.c lib.c -o always.wasm; then
  pol=$("$KAFU" inspect --json always.wasm | python3 -c 'import json,sys; print(json.load(sys.stdin)["policy"])')
  [ "$pol" = always ] && ok "--policy always" || fail "--policy always: policy $pol"
else
  fail "--policy always: kafu cc failed"
fi

# examples/basic.
if "$KAFU" cc -O2 "$SRC/examples/basic/basic.c" -o basic.wasm; then
  expect_sites basic.wasm "dest f edge1 $SRC/examples/basic/basic.c 9" "examples/basic"
  wasm-validate basic.wasm && ok "examples/basic: wasm-validate" || fail "examples/basic: wasm-validate"
else
  fail "examples/basic: kafu cc failed"
fi

# An annotated main: clang names main(argc, argv) __main_argc_argv in IR and
# main in the module; wasi-libc's int main(void) ends up as __original_main.
printf '#include "kafu.h"\nKAFU_DEST("cloud1")\nint main(int argc, char **argv) { return argc - 1; }\n' > main_args.c
printf '#include "kafu.h"\nKAFU_DEST("cloud1")\nint main(void) { return 0; }\n' > main_void.c
if "$KAFU" cc main_args.c -o main_args.wasm && "$KAFU" cc main_void.c -o main_void.wasm; then
  expect_sites main_args.wasm "dest main cloud1 main_args.c 3" "annotated main(argc, argv)"
  expect_sites main_void.wasm "dest __original_main cloud1 main_void.c 3" "annotated main(void)"
else
  fail "annotated main: kafu cc failed"
fi

# Regression: -o naming a device or pipe (e.g. /dev/null) must write through
# it, never rename a regular file over it. A FIFO stands in for the device.
mkfifo out.fifo
cat out.fifo > fifo.got &
reader=$!
if "$KAFU" cc app.c lib.c -o out.fifo; then
  if [ -p out.fifo ]; then wait "$reader"; else kill "$reader"; fi
  if [ -p out.fifo ] && [ "$(head -c 4 fifo.got | od -An -tx1 | tr -d ' ')" = 0061736d ]; then
    ok "-o FIFO: written through, still a FIFO"
  else
    fail "-o FIFO: replaced or empty"
  fi
else
  kill "$reader" 2> /dev/null
  fail "-o FIFO: kafu cc failed"
fi

[ "$fails" = 0 ] && echo "all passed"
exit $((fails > 0))
