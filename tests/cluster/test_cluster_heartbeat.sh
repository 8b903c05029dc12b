#!/usr/bin/env bash
# Heartbeats: a follower whose coordinator (the first node) goes away shuts
# itself down with follower_on_coordinator_lost: shutdown_self, and keeps
# serving with ignore.
source "$(dirname "$0")/lib.sh"
make_work
pick_engines

for mode in shutdown_self ignore; do
  HEARTBEAT_MS=100 ON_COORDINATOR_LOST=$mode \
    write_config "$work/kafu.yaml" app.wasm "cloud1:$e_interp" "edge1:$e_interp"
  serve_node cloud1
  serve_node edge1
  c=${pids[0]} e=${pids[1]}
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
