#!/usr/bin/env bash
# The source of a migration dies right after COMMIT (bench/faults trial 16):
# edge1 hands the job back to cloud1 and gets kill -9 once its COMMIT is
# written. The migration EVENT, whose out_seq edge1 reserved, travels in the
# COMMIT and is emitted by the destination (cloud1, here also the
# coordinator) before the job goes on there, so nothing depends on edge1
# after COMMIT: the run must end with exit 0, output identical to native,
# the migration edge1 -> cloud1 in the client's summary and trace, and no
# output hole skipped by the coordinator. Made deterministic by a proxy
# (helpers/holdproxy.py) on edge1's way to cloud1 that holds exactly that
# COMMIT until edge1 is dead (in the second round edge1 is then restarted).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib.sh"
make_work
proxy=
at_exit stop_all
at_exit '[ -z "$proxy" ] || { kill "$proxy"; wait "$proxy"; } 2>/dev/null'
APP_ARGS="1 1 100 200 0"
# cloud1 waits this long for the held COMMIT: room for a loaded machine
TIMEOUT_MS=5000
fault_setup 2
# edge1 reaches cloud1 through the proxy; cloud1 reaches edge1 directly.
proxy_port=$(free_port)
sed "/^  cloud1:/,/port:/s/port: .*/port: $proxy_port/" "$work/kafu.yaml" >"$work/edge1.yaml"
[ "$(node_port cloud1 "$work/edge1.yaml")" = "$proxy_port" ] || fail "edge1.yaml not rewritten"
start_node cloud1

for restart in never at-once; do
  rm -f "$work/held" "$work/release" "$work/trace.json"
  python3 "$FAULT_DIR/helpers/holdproxy.py" "$proxy_port" "$(node_port cloud1)" \
    "migrate edge1 cloud1 " "$work/held" "$work/release" &
  proxy=$!
  wait_port "$proxy_port" || true
  lines_before=$(wc -l <"$work/cloud1.log")
  start_node edge1 "$work/edge1.yaml"
  t0=$(date +%s%N)
  run_job_bg --timeout 30 --trace "$work/trace.json"
  for _ in $(seq 200); do [ -e "$work/held" ] && break; sleep 0.05; done
  [ -e "$work/held" ] || fail "restart $restart: edge1's COMMIT with the migration event never reached the proxy"
  kill9_node edge1
  touch "$work/release"
  [ "$restart" = never ] || start_node edge1 "$work/edge1.yaml"
  wait_run
  ms=$(ms_since "$t0")
  expect_rc 0 "restart $restart: after $ms ms"
  expect_same "restart $restart" "$work/expected" "$work/out"
  grep -Eq "^  cloud1 -> edge1 +1 " "$work/err" && grep -Eq "^  edge1 -> cloud1 +1 " "$work/err" ||
    { cat "$work/err"; fail "restart $restart: the summary lacks a migration"; }
  python3 -c "import json,sys; t=json.load(open(sys.argv[1])); \
    names=sorted(e['name'] for e in t['traceEvents'] if e.get('cat')=='migration' and e['ph']=='X'); \
    assert names[0].startswith('migrate cloud1 -> edge1') and names[1].startswith('migrate edge1 -> cloud1') \
      and len(names)==2, names" "$work/trace.json" ||
    fail "restart $restart: the trace lacks a migration"
  new_log=$(tail -n +"$((lines_before + 1))" "$work/cloud1.log")
  grep -q "arrived from edge1" <<<"$new_log" || fail "restart $restart: cloud1 did not take the job"
  ! grep -q "will not come" <<<"$new_log" || fail "restart $restart: cloud1 skipped an output hole"
  echo "restart $restart: identical output, both migrations reported, in $ms ms (held: $(cat "$work/held"))"
  kill9_node edge1
  kill "$proxy"; wait "$proxy" 2>/dev/null || true
  proxy=
done
echo "ok"
