#!/usr/bin/env bash
# kafu exec: cross-process checkpoint/restore (both engine directions when
# both are built), bad snapshots and bad command lines.
source "$(dirname "$0")/../programs/lib.sh"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
pass=0 fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*"; }
engines=$(available_engines | tr '\n' ' ')
# Under ASan keep to the interpreter: the aot engine's compile is slow there.
[ -n "${KAFU_ASAN:-}" ] && engines=interp
echo "engines: $engines"

src="$CORPUS/heap_strings.c"
build_native "$src" "$work/native"
"$work/native" >"$work/expected"
build_kafu "$src" "$work/app.wasm" kafu

# 1. checkpoint in one process, restore in another, for every engine pair
for e1 in $engines; do
  for e2 in $engines; do
    for at in 1 2 3; do
      rm -f "$work/s.snap"
      "$KAFU" exec "$work/app.wasm" --engine "$e1" --migrate-every "$at" --checkpoint-to "$work/s.snap" \
        --quiet >"$work/part1" 2>"$work/err1" || { bad "checkpoint $e1 at $at: $(cat "$work/err1")"; continue; }
      [ -s "$work/s.snap" ] || { bad "no snapshot written ($e1 at $at)"; continue; }
      "$KAFU" exec "$work/app.wasm" --engine "$e2" --restore "$work/s.snap" --quiet >"$work/part2" 2>"$work/err2" \
        || { bad "restore $e1->$e2 at $at: $(cat "$work/err2")"; continue; }
      if cat "$work/part1" "$work/part2" | cmp -s - "$work/expected"; then ok; else bad "output differs $e1->$e2 at $at"; fi
    done
  done
done

# 2. a snapshot of another module is refused with exit 2 and one line
build_kafu "$CORPUS/exit_nested.c" "$work/other.wasm" kafu
e=$(echo $engines | cut -d' ' -f1)
case " $engines " in *" interp "*) e=interp ;; esac # fastest to start
"$KAFU" exec "$work/app.wasm" --engine "$e" --migrate-every 1 --checkpoint-to "$work/s.snap" --quiet >/dev/null 2>&1
set +e
"$KAFU" exec "$work/other.wasm" --quiet --engine "$e" --restore "$work/s.snap" >/dev/null 2>"$work/err"; rc=$?
set -e
if [ $rc = 2 ] && [ "$(wc -l <"$work/err")" = 1 ] && grep -q "module" "$work/err"; then ok; else bad "wrong-module restore rc=$rc: $(cat "$work/err")"; fi

# 3. corrupted and truncated snapshots: exit 2, one line, no crash
size=$(stat -c %s "$work/s.snap")
for cut in 0 10 40 $((size / 2)) $((size - 1)); do
  head -c "$cut" "$work/s.snap" >"$work/t.snap"
  set +e; "$KAFU" exec "$work/app.wasm" --engine "$e" --restore "$work/t.snap" >/dev/null 2>"$work/err"; rc=$?; set -e
  if [ $rc = 2 ] && [ "$(wc -l <"$work/err")" = 1 ]; then ok; else bad "truncated($cut) rc=$rc: $(cat "$work/err")"; fi
done
cp "$work/s.snap" "$work/f.snap"
printf '\xff' | dd of="$work/f.snap" bs=1 seek=$((size / 2)) conv=notrunc status=none
set +e; "$KAFU" exec "$work/app.wasm" --engine "$e" --restore "$work/f.snap" >/dev/null 2>"$work/err"; rc=$?; set -e
if [ $rc = 2 ] && grep -q "checksum" "$work/err"; then ok; else bad "bit flip rc=$rc: $(cat "$work/err")"; fi

# 4. bad command lines and inputs: exit 2, one line naming the problem
check_usage() { # expected-substring args...
  local want=$1; shift
  set +e; "$KAFU" exec --quiet "$@" >/dev/null 2>"$work/err"; local rc=$?; set -e
  if [ $rc = 2 ] && [ "$(wc -l <"$work/err")" = 1 ] && grep -q -- "$want" "$work/err"; then ok
  else bad "exec $* -> rc=$rc: $(cat "$work/err")"; fi
}
check_usage "missing app.wasm"
check_usage "unknown" "$work/app.wasm" --bogus
check_usage "positive integer" "$work/app.wasm" --migrate-every zero
check_usage "unknown engine" "$work/app.wasm" --engine jit
check_usage "nonexistent.wasm" "$work/nonexistent.wasm"
echo "garbage" >"$work/garbage.wasm"
check_usage "garbage.wasm" "$work/garbage.wasm" --engine "$e"
head -c 100 "$work/app.wasm" >"$work/trunc.wasm"
check_usage "trunc.wasm" "$work/trunc.wasm" --engine "$e"
"$KAFU" cc -O2 --no-snapify "$src" -o "$work/plain.wasm"
check_usage "not a migratable module" "$work/plain.wasm" --engine "$e" --migrate-every 3
"$KAFU" exec --help | grep -q -- "--migrate-every" && ok || bad "--help"

# 5. regression (recursion_deep): a region too small for a 10,000-frame
# unwind is reported as such, not as memory corruption or a bare trap
"$KAFU" cc -O2 -I"$KAFU_SRC/include" --state-size=65536 "$CORPUS/recursion_deep.c" -o "$work/deep.wasm"
set +e; "$KAFU" exec "$work/deep.wasm" --quiet --engine "$e" --migrate-every 1 >/dev/null 2>"$work/err"; rc=$?; set -e
if [ $rc = 1 ] && grep -q "state region too small: rebuild with kafu cc --state-size=" "$work/err"; then ok
else bad "small state region rc=$rc: $(cat "$work/err")"; fi

# 6. --warm: two instances take turns as two nodes do; after the first
# transfer every restore is a delta applied in place into the other
# instance's kept memory. Output must equal native at every point.
warm_engines=$(echo $engines | tr ' ' ',')
for prog in heap_strings nbody_float dest_nested loops_offload; do
  build_native "$CORPUS/$prog.c" "$work/$prog.native"
  "$work/$prog.native" >"$work/$prog.expected"
  build_kafu "$CORPUS/$prog.c" "$work/$prog.wasm" kafu
  for every in 1 3; do
    "$KAFU" exec "$work/$prog.wasm" --engines "$warm_engines" --migrate-every $every --warm --stats \
      --quiet >"$work/out" 2>"$work/err" || { bad "warm $prog/$every: $(tail -1 "$work/err")"; continue; }
    if ! cmp -s "$work/out" "$work/$prog.expected"; then bad "warm $prog/$every: output differs"; continue; fi
    grep -Eq "[1-9][0-9]* forced migrations" "$work/err" && ok || bad "warm $prog/$every: no migration"
  done
done
# 7. --warm with write tracking on every memory (docs/dirty-tracking.md):
# deltas read only the pages the kernel saw written, and KAFU_DIRTY_VERIFY
# aborts if a page it called clean changed. Skipped where the kernel lacks
# async userfaultfd write-protect (Linux 6.7).
for prog in heap_strings malloc_churn loops_offload; do
  [ -f "$work/$prog.wasm" ] || build_kafu "$CORPUS/$prog.c" "$work/$prog.wasm" kafu
  [ -f "$work/$prog.expected" ] || { build_native "$CORPUS/$prog.c" "$work/$prog.native"; \
    "$work/$prog.native" >"$work/$prog.expected"; }
  KAFU_DIRTY_TRACK=always KAFU_DIRTY_VERIFY=1 KAFU_LOG=debug "$KAFU" exec "$work/$prog.wasm" \
    --engines "$warm_engines" --migrate-every 2 --warm --quiet >"$work/out" 2>"$work/err" \
    || { bad "tracked $prog: $(grep -v debug "$work/err" | tail -1)"; continue; }
  if ! cmp -s "$work/out" "$work/$prog.expected"; then bad "tracked $prog: output differs"; continue; fi
  if grep -q "dirty tracking: .*unavailable\|PAGEMAP_SCAN (Linux 6.7)" "$work/err"; then
    echo "skip: tracked $prog: $(grep -m1 'dirty tracking' "$work/err")"; ok; continue
  fi
  grep -q "pages written since the last encode" "$work/err" && ok || bad "tracked $prog: never tracked"
done

check_usage "--warm needs --migrate-every" "$work/app.wasm" --warm

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
