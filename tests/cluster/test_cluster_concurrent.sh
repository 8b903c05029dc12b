#!/usr/bin/env bash
# Several jobs at once on the same two daemons (kafu run --attach in
# parallel): each client gets exactly its own job's output and exit code.
source "$(dirname "$0")/lib.sh"
make_work
pick_engines
build "$CLUSTER_DIR/progs/places.c" "$work/app.wasm"
write_config "$work/kafu.yaml" app.wasm "cloud1:$e_aot" "edge1:$e_interp"
start_nodes cloud1 edge1
clients=()
for code in 11 12 13 14; do
  timeout 120 "$KAFU" run "$work/kafu.yaml" --attach --quiet -- $code >"$work/out.$code" 2>"$work/err.$code" &
  clients+=($!)
done
i=0
for code in 11 12 13 14; do
  wait_rc "${clients[$i]}"
  i=$((i + 1))
  expect_rc "$code" "job $code" "$work/err.$code"
  [ "$(grep -c '^leaf(' "$work/out.$code")" = 8 ] || fail "job $code: wrong output"
  tail -n1 "$work/out.$code" | grep -qx "main returns $code on cloud1" || fail "job $code: last line"
done
[ "$(grep -c ': started ' "$work/cloud1.log")" = 4 ] || fail "cloud1 did not start 4 jobs"
echo "ok"
