#!/usr/bin/env bash
# WASI state across real migrations (kafu exec): a program reading a file in
# raw chunks, listing a directory and appending to a file gives the same
# output with a migration at every point; a checkpoint restored against a
# different host directory of the same guest name continues at the same
# offset; a file missing on the restoring side turns into EBADF with exactly
# one warning; the monotonic clock never goes backwards.
source "$(dirname "$0")/../programs/lib.sh"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
pass=0 fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*"; }
engines=$(available_engines | tr '\n' ' ')
[ -n "${KAFU_ASAN:-}" ] && engines=interp
[ -z "$engines" ] && { echo "no engine built: skipping"; exit 77; }
echo "engines: $engines"

mkdata() { # dir
  mkdir -p "$1/list"
  printf 'The quick brown fox jumps over the lazy dog.\n' >"$1/input.txt"
  for n in delta alpha charlie bravo; do : >"$1/list/$n"; done
  rm -f "$1/out.txt"
}

build_kafu "$KAFU_SRC/tests/wasi/migrate_prog.c" "$work/app.wasm" kafu
e=$(echo $engines | cut -d' ' -f1)
# A broken offset restore re-reads the file forever: bound every run.
kexec() { timeout 120 "$KAFU" exec "$@"; }

# 0. reference run without migrations
mkdata "$work/ref"
kexec "$work/app.wasm" --engine "$e" --dir "$work/ref:/data" --quiet >"$work/expected"
grep -q "chunk \[The qui\]" "$work/expected" && grep -q "entry alpha" "$work/expected" \
  && grep -q "clock went back 0 times" "$work/expected" || bad "reference run: $(cat "$work/expected")"

# 1. a migration at every point, every engine: same output, same file
for eng in $engines; do
  mkdata "$work/m-$eng"
  kexec "$work/app.wasm" --engine "$eng" --migrate-every 1 --dir "$work/m-$eng:/data" \
    --quiet >"$work/out-$eng" 2>"$work/err-$eng" || bad "migrate-every 1 on $eng: $(cat "$work/err-$eng")"
  cmp -s "$work/out-$eng" "$work/expected" && ok || bad "output differs with migrations on $eng"
  cmp -s "$work/m-$eng/out.txt" "$work/ref/out.txt" && ok || bad "appended file differs on $eng"
done

# 2. checkpoint on A, restore on B (another host dir, same guest name /data)
for at in 3 8; do
  mkdata "$work/a"; mkdata "$work/b"
  rm -f "$work/s.snap"
  kexec "$work/app.wasm" --engine "$e" --migrate-every "$at" --checkpoint-to "$work/s.snap" \
    --dir "$work/a:/data" --quiet >"$work/part1" 2>"$work/err1" || { bad "checkpoint at $at: $(cat "$work/err1")"; continue; }
  cp "$work/a/out.txt" "$work/b/out.txt" # the appended file travels with the data set
  kexec "$work/app.wasm" --engine "$e" --restore "$work/s.snap" --dir "$work/b:/data" \
    --quiet >"$work/part2" 2>"$work/err2" || { bad "restore at $at: $(cat "$work/err2")"; continue; }
  cat "$work/part1" "$work/part2" | cmp -s - "$work/expected" && ok || bad "split run at $at differs"
  grep -q "could not be restored" "$work/err2" && bad "unexpected restore warning at $at" || ok
  cmp -s "$work/b/out.txt" "$work/ref/out.txt" && ok || bad "appended file on B differs at $at"
done

# 3. the input file is missing on the restoring side: EBADF and one warning
mkdata "$work/a"; mkdata "$work/c"; rm "$work/c/input.txt"
kexec "$work/app.wasm" --engine "$e" --migrate-every 3 --checkpoint-to "$work/s.snap" \
  --dir "$work/a:/data" --quiet >"$work/part1" 2>/dev/null
cp "$work/a/out.txt" "$work/c/out.txt"
set +e
kexec "$work/app.wasm" --engine "$e" --restore "$work/s.snap" --dir "$work/c:/data" \
  --quiet >"$work/part2" 2>"$work/err2"
set -e
grep -q "read error EBADF" "$work/part2" && ok || bad "no EBADF after losing the file: $(cat "$work/part2")"
n=$(grep -c "could not be restored" "$work/err2" || true)
[ "$n" = 1 ] && ok || bad "expected one warning, got $n: $(cat "$work/err2")"

echo "passed $pass, failed $fail"
[ "$fail" = 0 ]
