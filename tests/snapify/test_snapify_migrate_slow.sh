#!/bin/bash
# Snapified modules survive a full checkpoint/restore at every migration
# point (kafu exec --migrate-every 1) with output identical to the plain
# module: wrappers, polls, globals save/restore and the Asyncify only-list
# together. Needs the runtime (kafu exec, interp engine).
set -u
: "${KAFU:?KAFU must point to the kafu binary}"
SRC=${KAFU_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
T=$(mktemp -d /tmp/kafu-snapify-mig-XXXXXX)
trap 'rm -rf "$T"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

for p in dests leafloop weird_names; do
  clang --target=wasm32-wasi --sysroot=/usr -O2 -c "$SRC/tests/snapify/progs/$p.c" -o "$T/$p.o" &&
    clang --target=wasm32-wasi --sysroot=/usr "$T/$p.o" -o "$T/$p.wasm" || { echo "cannot build $p"; exit 1; }
done

# check NAME PLAIN SNAPIFIED: same stdout with and without forced migrations, and some happened
check() {
  local name=$1 plain=$2 snap=$3
  $KAFU exec "$plain" --engine interp --quiet >"$T/$name.want" 2>"$T/$name.want.err" ||
    { fail "$name: plain run failed: $(cat "$T/$name.want.err")"; return; }
  $KAFU exec "$snap" --engine interp --migrate-every 1 --stats --quiet >"$T/$name.got" 2>"$T/$name.err" ||
    { fail "$name: migrating run failed: $(cat "$T/$name.err")"; return; }
  cmp -s "$T/$name.want" "$T/$name.got" || fail "$name: output differs: $(diff "$T/$name.want" "$T/$name.got" | head -5)"
  local n
  n=$(sed -n 's/.* \([0-9][0-9]*\) forced migrations.*/\1/p' "$T/$name.err")
  [ -n "$n" ] && [ "$n" -gt 0 ] || fail "$name: no forced migrations ($(cat "$T/$name.err"))"
}

$KAFU snapify "$T/dests.wasm" -o "$T/dests.snap.wasm" --dest nested_dest=edge1 --dest leaf_edge=edge2 \
  --dest fib_dest=edge1 --dest ptr_dest=edge2 --offload offload_work=cloud1 || fail "snapify dests"
check dests "$T/dests.wasm" "$T/dests.snap.wasm"
$KAFU snapify "$T/dests.wasm" -o "$T/dests.always.wasm" --policy always || fail "snapify always"
check dests-always "$T/dests.wasm" "$T/dests.always.wasm"
$KAFU snapify "$T/leafloop.wasm" -o "$T/leafloop.snap.wasm" --dest leaf=edge1 || fail "snapify leafloop"
check leafloop "$T/leafloop.wasm" "$T/leafloop.snap.wasm"

# a name Binaryen stores escaped and Asyncify's only-list cannot take verbatim
$KAFU snapify "$T/weird_names.wasm" -o "$T/weird.snap.wasm" --dest "weird<name>(int, int)=edge1" ||
  fail "snapify weird_names"
check weird_names "$T/weird_names.wasm" "$T/weird.snap.wasm"

if [ "$failures" != 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "ok"
