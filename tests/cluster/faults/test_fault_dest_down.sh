#!/usr/bin/env bash
# Destination down before the transfer (kill -9 of edge1 while the job runs
# on cloud1): cloud1 retries for migration_timeout_ms, then stops the job
# with one error naming edge1 and a resume file; once edge1 is back,
# kafu resume finishes the job. stdout of run + resume == native, and the
# job never ran twice (the file is used once).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib.sh"
make_work
at_exit stop_all
APP_ARGS="1 6 0 1000"
TIMEOUT_MS=1500
fault_setup 2
start_node cloud1
start_node edge1
t0=$(date +%s%N)
run_job_bg
wait_out start
kill9_node edge1
wait_run
ms=$(ms_since "$t0")
expect_rc 1 "kafu run"
grep -q "migration to node edge1 failed" "$work/err" || { cat "$work/err"; fail "error does not name edge1"; }
grep -q "kafu resume" "$work/err" || { cat "$work/err"; fail "error does not say how to resume"; }
[ "$ms" -ge 2400 ] || fail "gave up after $ms ms, before migration_timeout_ms"
grep -q "retrying" "$work/cloud1.log" || fail "no retry logged"
snap=$(resume_file)
[ -n "$snap" ] || fail "no resume file in cloud1's state dir"
# edge1 still down: resume fails cleanly and keeps the file
run_rc timeout 30 "$KAFU" resume "$snap" --config "$work/kafu.yaml" >"$work/out2" 2>"$work/err2"
[ "$rc" != 0 ] || fail "resume succeeded with edge1 down"
[ -f "$snap" ] || fail "failed resume consumed the file"
start_node edge1
resume_job "$snap" 60 50
expect_resumed "edge1 back"
[ ! -f "$snap" ] && [ -f "$snap.resumed" ] || fail "resume file not marked as used"
run_rc timeout 30 "$KAFU" resume "$snap.resumed" --config "$work/kafu.yaml" >/dev/null 2>&1
echo "ok"
