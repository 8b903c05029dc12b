#!/usr/bin/env bash
# Heartbeats: a follower whose coordinator (the first node) goes away shuts
# itself down with follower_on_coordinator_lost: shutdown_self, and keeps
# serving with ignore.
source "$(dirname "$0")/lib.sh"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
e1=interp; have_engine interp || e1=aot

for mode in shutdown_self ignore; do
  CLUSTER_YAML=$'  heartbeat:\n    interval_ms: 100\n    follower_on_coordinator_lost: '"$mode"
  # write_config already emits a heartbeat block: use our own instead.
  write_config "$work/kafu.yaml" app.wasm "cloud1:$e1" "edge1:$e1"
  sed -i '/^cluster:/,$d' "$work/kafu.yaml"
  printf 'cluster:\n%s\n' "$CLUSTER_YAML" >>"$work/kafu.yaml"
  "$KAFU" serve --config "$work/kafu.yaml" --node cloud1 2>"$work/cloud1.log" & c=$!
  "$KAFU" serve --config "$work/kafu.yaml" --node edge1 2>"$work/edge1.log" & e=$!
  pids=("$c" "$e")
  sleep 1
  kill -0 "$e" || fail "$mode: edge1 died while cloud1 was up"
  kill "$c"; wait "$c" 2>/dev/null || true
  sleep 1.5
  if [ "$mode" = shutdown_self ]; then
    kill -0 "$e" 2>/dev/null && fail "shutdown_self: edge1 still running"
    grep -q "coordinator cloud1 lost.*shutting down" "$work/edge1.log" || fail "shutdown_self: no log line"
  else
    kill -0 "$e" 2>/dev/null || fail "ignore: edge1 stopped"
    grep -q "coordinator cloud1 lost.*ignoring" "$work/edge1.log" || fail "ignore: no log line"
    kill "$e"; wait "$e" 2>/dev/null || true
  fi
  pids=()
done
echo "ok"
