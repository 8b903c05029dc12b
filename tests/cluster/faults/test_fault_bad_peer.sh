#!/usr/bin/env bash
# A destination that is there but broken: edge1's port answered by a fake
# peer that hangs up, sends garbage, sends a corrupt Kafu frame, or never
# answers. Each time cloud1 must give up within about migration_timeout_ms
# with one error naming edge1 and a resume file (no hang), and the job must
# finish with byte-identical output once the real edge1 is back.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib.sh"
make_work
fake=""
at_exit '[ -n "$fake" ] && kill "$fake" 2>/dev/null'
at_exit stop_all
command -v gcc >/dev/null || { echo "skip: no gcc"; exit 77; }
gcc -O1 -o "$work/fakepeer" "$FAULT_DIR/helpers/fakepeer.c"
APP_ARGS="1 4 0 800"
TIMEOUT_MS=1500
fault_setup 2
port=$(node_port edge1)
start_node cloud1
for mode in hangup garbage corrupt silent; do
  rm -f "$work"/.kafu/cloud1/snapshots/*
  start_node edge1
  t0=$(date +%s%N)
  run_job_bg
  wait_out start
  kill9_node edge1
  "$work/fakepeer" "$port" "$mode" & fake=$!
  wait_run
  ms=$(ms_since "$t0")
  kill "$fake"; wait "$fake" 2>/dev/null || true; fake=""
  expect_rc 1 "$mode: kafu run"
  grep -q "migration to node edge1 failed" "$work/err" || { cat "$work/err"; fail "$mode: error does not name edge1"; }
  [ "$ms" -lt 15000 ] || fail "$mode: took $ms ms to give up"
  snap=$(resume_file)
  [ -n "$snap" ] || fail "$mode: no resume file"
  start_node edge1
  resume_job "$snap" 60 50
  expect_resumed "$mode"
  kill9_node edge1
  echo "$mode: gave up after $ms ms, resumed identically"
done
echo "ok"
