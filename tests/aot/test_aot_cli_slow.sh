#!/bin/bash
# kafu exec --engine aot end to end: a clang-compiled WASI program runs with
# its output and exit code; the first run compiles (with a progress line when
# slow), the second is a silent cache hit; a corrupt cache entry is rebuilt.
set -euo pipefail
: "${KAFU:?KAFU must point to the kafu binary}"
: "${KAFU_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export XDG_CACHE_HOME="$work/cache"

clang --target=wasm32-wasi --sysroot=/usr -O2 "$KAFU_SRC/tests/aot/hello.c" -o "$work/hello.wasm"

run() { # expects exit code 3 and the program's stdout
  local rc=0
  "$KAFU" exec "$work/hello.wasm" one two --engine aot >"$work/out" 2>"$work/err" || rc=$?
  if [ "$rc" != 3 ]; then
    echo "FAIL: exit code $rc, expected 3"; cat "$work/err"; exit 1
  fi
  printf 'hello from aot: argc=3 last=two\ndepth=10000\n' | cmp - "$work/out" ||
    { echo "FAIL: stdout differs"; cat "$work/out"; exit 1; }
  grep -q "to stderr" "$work/err" || { echo "FAIL: program stderr missing"; exit 1; }
}

start=$(date +%s)
run
first=$(( $(date +%s) - start ))
so=$(ls "$XDG_CACHE_HOME"/kafu/aot/*.so)
[ -f "$so.sha256" ] || { echo "FAIL: no checksum next to $so"; exit 1; }
if [ "$first" -ge 3 ] && ! grep -q "kafu: compiling hello.wasm with" "$work/err"; then
  echo "FAIL: a ${first}s compile printed no progress"; cat "$work/err"; exit 1
fi

mtime=$(stat -c %Y "$so")
sleep 1
run
grep -q "compiling" "$work/err" && { echo "FAIL: second run compiled again"; exit 1; }
[ "$(stat -c %Y "$so")" = "$mtime" ] || { echo "FAIL: cached object was rewritten"; exit 1; }

head -c 100 "$so" > "$so.cut" && mv "$so.cut" "$so" # truncate the object
run
[ "$(stat -c %s "$so")" -gt 1000 ] || { echo "FAIL: corrupt object not rebuilt"; exit 1; }
grep -q "corrupt" "$work/err" || { echo "FAIL: no warning about the corrupt entry"; exit 1; }
echo "ok: aot exec, cache hit, corrupt entry rebuilt (first run ${first}s)"
