#!/bin/bash
# Engine benchmark: each kernel in kernels/ natively (gcc -O2) and as wasm
# (clang -O2, wasm32-wasi) under `kafu exec --engine interp` (and aot with
# ENGINES="interp aot"). CPU time (user+sys; wall time is meaningless on a
# shared, oversubscribed machine), min of RUNS runs, including process start
# and module load. Prints a markdown table with per-kernel ratios and the
# geometric mean. Outputs are checked against the same kernel built natively
# with clang -O2 (clang and gcc may round differently at -O2).
#   usage: bench/engines/run.sh [build-dir]      (default: build)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
kafu=$build/bin/kafu
runs=${RUNS:-3}
engines=${ENGINES:-interp}
work=$(mktemp -d /tmp/kafu-bench-engines.XXXXXX)
trap 'rm -rf "$work"' EXIT

best() { # best CPU time (user+sys, s) of "$@" over $runs runs; output to $work/out
  local min=
  for _ in $(seq "$runs"); do
    local t
    t=$( { TIMEFORMAT='%U %S'; time "$@" >"$work/out" 2>/dev/null; } 2>&1 )
    min=$(echo "$t" | awk -v m="$min" '{ s = $1 + $2; if (m == "" || s < m) print s; else print m }')
  done
  echo "$min"
}

printf '| kernel | native (s) |'
for e in $engines; do printf ' %s (s) | %s / native |' "$e" "$e"; done
printf '\n|---|---|'
for e in $engines; do printf -- '---|---|'; done
printf '\n'
declare -A logsum
for e in $engines; do logsum[$e]=0; done
n=0
for src in "$here"/kernels/*.c; do
  k=$(basename "$src" .c)
  gcc -O2 "$src" -o "$work/$k.native" -lm
  clang -O2 "$src" -o "$work/$k.clang" -lm
  clang --target=wasm32-wasi --sysroot=/usr -O2 "$src" -o "$work/$k.wasm" -lm
  "$work/$k.clang" >"$work/$k.expected"
  tn=$(best "$work/$k.native")
  printf '| %s | %.3f |' "$k" "$tn"
  for e in $engines; do
    "$kafu" exec "$work/$k.wasm" --engine "$e" >/dev/null 2>&1 || true # warm caches (aot compile)
    te=$(best "$kafu" exec "$work/$k.wasm" --engine "$e")
    if ! cmp -s "$work/out" "$work/$k.expected"; then echo "output mismatch: $k on $e" >&2; exit 1; fi
    ratio=$(echo "$te / $tn" | bc -l)
    logsum[$e]=$(echo "${logsum[$e]} + l($ratio)" | bc -l)
    printf ' %.3f | %.1f× |' "$te" "$ratio"
  done
  printf '\n'
  n=$((n + 1))
done
printf '| **geomean** | |'
for e in $engines; do printf ' | **%.1f×** |' "$(echo "e(${logsum[$e]} / $n)" | bc -l)"; done
printf '\n'
