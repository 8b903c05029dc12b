#!/usr/bin/env bash
# A destination that is there but broken: edge1's port answered by a fake
# peer that hangs up, sends garbage, sends a corrupt Kafu frame, or never
# answers. Each time cloud1 must give up within about migration_timeout_ms
# with one error naming edge1 and a resume file (no hang), and the job must
# finish with byte-identical output once the real edge1 is back.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib.sh"
work=$(mktemp -d)
fake=""
trap '[ -n "$fake" ] && kill "$fake" 2>/dev/null; stop_all; rm -rf "$work"' EXIT
command -v gcc >/dev/null || { echo "skip: no gcc"; exit 77; }
gcc -O1 -o "$work/fakepeer" "$FAULT_DIR/helpers/fakepeer.c"
APP_ARGS="1 4 0 800"
TIMEOUT_MS=1500
fault_setup 2
port=$(awk '$0=="  edge1:"{f=1} f&&/port:/{print $2; exit}' "$work/kafu.yaml")
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
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  kill "$fake"; wait "$fake" 2>/dev/null || true; fake=""
  [ "$rc" = 1 ] || { cat "$work/err"; fail "$mode: kafu run exit $rc, want 1"; }
  grep -q "migration to node edge1 failed" "$work/err" || { cat "$work/err"; fail "$mode: error does not name edge1"; }
  [ "$ms" -lt 15000 ] || fail "$mode: took $ms ms to give up"
  snap=$(resume_file)
  [ -n "$snap" ] || fail "$mode: no resume file"
  start_node edge1
  set +e; timeout 60 "$KAFU" resume "$snap" --config "$work/kafu.yaml" --timeout 50 >"$work/out2" 2>"$work/err2"; r2=$?; set -e
  [ "$r2" = 0 ] || { cat "$work/err2"; fail "$mode: resume exit $r2"; }
  cat "$work/out" "$work/out2" >"$work/all"
  expect_same "$mode: run + resume vs native" "$work/expected" "$work/all"
  kill9_node edge1
  echo "$mode: gave up after $ms ms, resumed identically"
done
echo "ok"
