#!/usr/bin/env bash
# Cross-ISA migration: checkpoint a program on x86_64 (aot), restore and
# continue it on aarch64 under qemu-aarch64 (interpreter-only kafu), then come
# back to x86_64, and compare the output with a native run. Skips (exit 77)
# with a message when the cross tools are missing.
source "$(dirname "$0")/../programs/lib.sh"
skip() { echo "SKIPPED: $*"; exit 77; }
command -v aarch64-linux-gnu-gcc >/dev/null || skip "aarch64-linux-gnu-gcc missing (apt-get install gcc-aarch64-linux-gnu)"
command -v qemu-aarch64 >/dev/null || skip "qemu-aarch64 missing (apt-get install qemu-user)"
for lib in libzstd.a libxxhash.a libcrypto.a; do
  [ -f /usr/lib/aarch64-linux-gnu/$lib ] || skip "/usr/lib/aarch64-linux-gnu/$lib missing (scripts/install-deps installs the :arm64 libraries)"
done
[ "$(uname -m)" = x86_64 ] || skip "host is $(uname -m), not x86_64"

a64="${KAFU_BUILD:?}/aarch64"
echo "building the interpreter-only kafu for aarch64 in $a64"
cmake -S "$KAFU_SRC" -B "$a64" -DKAFU_INTERP_ONLY=ON -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE="$KAFU_SRC/cmake/aarch64-linux-gnu.cmake" >/dev/null
cmake --build "$a64" -j2 2>&1 | grep -E "error" && exit 1
file "$a64/bin/kafu" | grep -q aarch64 || { echo "not an aarch64 binary"; exit 1; }
KAFU_A64=(qemu-aarch64 "$a64/bin/kafu")

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
engines=$(available_engines | tr '\n' ' ')
x86_engine=aot; case " $engines " in *" aot "*) ;; *) x86_engine=interp ;; esac
pass=0 fail=0
for prog in dest_nested heap_strings nbody_float; do
  src="$CORPUS/$prog.c"
  build_native "$src" "$work/native"; "$work/native" >"$work/expected"
  build_kafu "$src" "$work/app.wasm" always
  every=7
  "$KAFU" exec "$work/app.wasm" --engine $x86_engine --migrate-every $every --checkpoint-to "$work/s1" --quiet >"$work/p1"
  "${KAFU_A64[@]}" exec "$work/app.wasm" --engine interp --restore "$work/s1" --migrate-every $every \
    --checkpoint-to "$work/s2" --quiet >"$work/p2"
  "$KAFU" exec "$work/app.wasm" --engine $x86_engine --restore "$work/s2" --quiet >"$work/p3"
  if [ -s "$work/s2" ] && cat "$work/p1" "$work/p2" "$work/p3" | cmp -s - "$work/expected"; then
    pass=$((pass+1)); echo "ok: $prog x86_64($x86_engine) -> aarch64(interp) -> x86_64($x86_engine)"
  else
    fail=$((fail+1)); echo "FAIL: $prog"; cat "$work/p1" "$work/p2" "$work/p3" | diff - "$work/expected" | head
  fi
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
