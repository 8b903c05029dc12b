#!/usr/bin/env bash
# A node that runs the job is killed (-9) and restarted at once (bench/faults
# trials 4, 13, 15): the new process heartbeats again but has lost the job.
# The coordinator must tell by the HEARTBEAT replies' uptime that edge1
# restarted after the job got there and report the job lost, naming edge1,
# long before kafu run's --timeout; the output so far is a prefix of native.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib.sh"
make_work
at_exit stop_all
# the reference run without the sleeps (the output does not depend on them)
APP_ARGS="1 1 0 0 0"
TIMEOUT_MS=1500
fault_setup 2
APP_ARGS="1 1 5000 0 0"
start_node cloud1
start_node edge1
t0=$(date +%s%N)
run_job_bg --timeout 30
for _ in $(seq 200); do grep -q "arrived from cloud1" "$work/edge1.log" && break; sleep 0.05; done
grep -q "arrived from cloud1" "$work/edge1.log" || fail "the job never reached edge1"
kill9_node edge1
start_node edge1
wait_run
ms=$(ms_since "$t0")
expect_rc 1 "after $ms ms"
grep -q "node edge1 lost while running the job (it restarted" "$work/err" ||
  { cat "$work/err"; fail "no error naming the restarted edge1"; }
out_is_native_prefix || fail "output is not a prefix of native"
# the job sleeps 5 s on edge1: an answer before that came from the restart
[ "$ms" -lt 5000 ] || fail "the loss took $ms ms to report"
echo "lost on the restarted edge1, reported after $ms ms: ok"
