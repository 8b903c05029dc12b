#!/usr/bin/env bash
# kill -9 of the destination during the transfer of a 32 MiB heap, at a few
# moments around the first handoff. Every round must end cleanly within its
# bounds: identical output, or an error naming edge1 with a resume file that
# finishes the job identically, or an error naming edge1 with output that is a
# prefix of native (the job was lost on edge1). Never a hang, never output
# that differs from or repeats native.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib.sh"
make_work
at_exit stop_all
APP_ARGS="32 2 0 500"
TIMEOUT_MS=1500
fault_setup 2
start_node cloud1
for delay in 0.45 0.55 0.7; do
  rm -rf "$work"/.kafu/cloud1/snapshots
  start_node edge1
  run_job_bg
  wait_out start
  sleep "$delay"
  kill9_node edge1
  wait_run
  snap=$(resume_file)
  if [ "$rc" = 0 ]; then
    expect_same "kill at +$delay s" "$work/expected" "$work/out"
    outcome=identical
  else
    [ "$rc" != 124 ] || fail "kill at +$delay s: kafu run timed out"
    grep -q edge1 "$work/err" || { cat "$work/err"; fail "kill at +$delay s: error does not name edge1"; }
    if [ -n "$snap" ]; then
      start_node edge1
      resume_job "$snap" 120 100
      expect_resumed "kill at +$delay s"
      kill9_node edge1
      outcome=resumed
    else
      out_is_native_prefix || fail "kill at +$delay s: output is not a prefix of native"
      outcome=lost
    fi
  fi
  echo "kill at +$delay s: $outcome"
done
echo "ok"
