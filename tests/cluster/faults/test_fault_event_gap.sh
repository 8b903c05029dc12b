#!/usr/bin/env bash
# The source of a migration dies between COMMIT and its migration EVENT
# (bench/faults trial 16): edge1 hands the job back to cloud1 and is killed
# before the EVENT, whose out_seq it had reserved, reaches the coordinator.
# The job goes on and ends on cloud1; the coordinator must skip the hole once
# edge1 is known dead (silent, or restarted) instead of holding the rest of
# the output, and the exit, back forever. Made deterministic by a proxy
# (helpers/dropproxy.py) on edge1's way to cloud1 that drops exactly that
# EVENT; then edge1 gets kill -9.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib.sh"
make_work
proxy=
at_exit stop_all
at_exit '[ -z "$proxy" ] || { kill "$proxy"; wait "$proxy"; } 2>/dev/null'
APP_ARGS="1 1 100 200 0"
TIMEOUT_MS=1500
fault_setup 2
# edge1 reaches cloud1 through the proxy; cloud1 reaches edge1 directly.
proxy_port=$(free_port)
sed "/^  cloud1:/,/port:/s/port: .*/port: $proxy_port/" "$work/kafu.yaml" >"$work/edge1.yaml"
[ "$(node_port cloud1 "$work/edge1.yaml")" = "$proxy_port" ] || fail "edge1.yaml not rewritten"
start_node cloud1

for restart in never at-once; do
  rm -f "$work/dropped"
  python3 "$FAULT_DIR/helpers/dropproxy.py" "$proxy_port" "$(node_port cloud1)" \
    "migrate edge1 cloud1" "$work/dropped" &
  proxy=$!
  wait_port "$proxy_port" || true
  lines_before=$(wc -l <"$work/cloud1.log")
  start_node edge1 "$work/edge1.yaml"
  t0=$(date +%s%N)
  run_job_bg --timeout 30
  for _ in $(seq 200); do [ -e "$work/dropped" ] && break; sleep 0.05; done
  [ -e "$work/dropped" ] || fail "restart $restart: the EVENT of edge1's handoff never passed the proxy"
  kill9_node edge1
  [ "$restart" = never ] || start_node edge1 "$work/edge1.yaml"
  wait_run
  ms=$(ms_since "$t0")
  expect_rc 0 "restart $restart: after $ms ms"
  expect_same "restart $restart" "$work/expected" "$work/out"
  tail -n +"$((lines_before + 1))" "$work/cloud1.log" | grep -q "will not come: edge1 handed the job on" ||
    fail "restart $restart: cloud1 did not log the skipped hole"
  echo "restart $restart: identical output in $ms ms (dropped EVENT seq $(cat "$work/dropped"))"
  kill9_node edge1
  kill "$proxy"; wait "$proxy" 2>/dev/null || true
  proxy=
done
echo "ok"
