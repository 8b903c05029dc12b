#!/usr/bin/env bash
# Several jobs at once on the same two daemons (kafu run --attach in
# parallel): each client gets exactly its own job's output and exit code.
source "$(dirname "$0")/lib.sh"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

e1=aot; e2=interp
have_engine aot || e1=interp
have_engine interp || e2=aot
build "$CLUSTER_DIR/progs/places.c" "$work/app.wasm"
write_config "$work/kafu.yaml" app.wasm "cloud1:$e1" "edge1:$e2"
for n in cloud1 edge1; do
  "$KAFU" serve --config "$work/kafu.yaml" --node $n 2>"$work/$n.log" &
  pids+=($!)
done
for i in $(seq 100); do
  grep -q listening "$work/cloud1.log" && grep -q listening "$work/edge1.log" && break
  sleep 0.1
done
clients=()
for code in 11 12 13 14; do
  timeout 120 "$KAFU" run "$work/kafu.yaml" --attach --quiet -- $code >"$work/out.$code" 2>"$work/err.$code" &
  clients+=($!)
done
i=0
for code in 11 12 13 14; do
  set +e; wait "${clients[$i]}"; rc=$?; set -e
  i=$((i + 1))
  [ "$rc" = "$code" ] || { cat "$work/err.$code"; fail "job $code: exit $rc"; }
  [ "$(grep -c '^leaf(' "$work/out.$code")" = 8 ] || fail "job $code: wrong output"
  tail -n1 "$work/out.$code" | grep -qx "main returns $code on cloud1" || fail "job $code: last line"
done
[ "$(grep -c ': started ' "$work/cloud1.log")" = 4 ] || fail "cloud1 did not start 4 jobs"
echo "ok"
