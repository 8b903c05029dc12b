#!/usr/bin/env bash
# Destination killed after a transfer and restarted empty (kill -9 of edge1
# while the job is back on cloud1): cloud1 still holds a delta baseline for
# edge1, edge1 does not. The next migration's delta is refused with NACK
# (baseline) and resent in full; the job finishes with byte-identical output.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib.sh"
make_work
at_exit stop_all
APP_ARGS="2 4 0 0 1500"
TIMEOUT_MS=3000
fault_setup 2
start_node cloud1
start_node edge1
run_job_bg
wait_out "step 0 sum $(sed -n 's/^step 0 sum //p' "$work/expected")"
kill9_node edge1
start_node edge1
wait_run
expect_rc 0 "kafu run"
expect_same "output after a restarted destination" "$work/expected" "$work/out"
grep -q "no instance of this job is parked here" "$work/edge1.log" || { cat "$work/edge1.log"; fail "edge1 did not refuse the delta"; }
grep -q "resending in full" "$work/cloud1.log" || fail "cloud1 did not resend in full"
grep -Eq "bytes on the wire \(delta\)" "$work/cloud1.log" || fail "no delta transfer at all"
echo "ok"
