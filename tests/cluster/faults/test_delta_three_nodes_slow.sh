#!/usr/bin/env bash
# Delta transfer on three nodes under --chaos (every pair keeps its own
# baseline): memory_migration delta and full both give output
# byte-identical to native, and delta puts fewer bytes on the wire; with
# memory_compression false the wire carries at least the raw dirty pages.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib.sh"
make_work
APP_ARGS="8 12 0"
declare -A wire
for mode in delta full; do
  for comp in true false; do
    MEMORY_MIGRATION=$mode MEMORY_COMPRESSION=$comp TIMEOUT_MS=10000 fault_setup 3
    # shellcheck disable=SC2086
    run_rc timeout 300 "$KAFU" run "$work/kafu.yaml" --chaos 2 --timeout 240 -- $APP_ARGS \
      >"$work/out" 2>"$work/err"
    expect_rc 0 "$mode/$comp"
    expect_same "$mode/$comp vs native" "$work/expected" "$work/out"
    w=$(awk '$1=="total"{print $4}' "$work/err")
    n=$(awk '$1=="total"{print $2}' "$work/err")
    pairs=$(grep -cE '^  (cloud1|edge1|edge2) -> ' "$work/err" || true)
    [ -n "$w" ] && [ "$n" -ge 4 ] || { cat "$work/err"; fail "$mode/$comp: no migration summary"; }
    [ "$pairs" -ge 6 ] || { cat "$work/err"; fail "$mode/$comp: only $pairs node pairs saw a migration"; }
    wire[$mode/$comp]=$w
    echo "$mode/$comp: $n migrations over $pairs node pairs, $w bytes on the wire"
  done
done
[ "${wire[delta/true]}" -lt "${wire[full/true]}" ] || fail "delta sent no fewer bytes than full (zstd)"
[ "${wire[delta/false]}" -lt "${wire[full/false]}" ] || fail "delta sent no fewer bytes than full (raw)"
[ "${wire[full/true]}" -lt "${wire[full/false]}" ] || fail "zstd did not shrink full snapshots"
echo "ok"
