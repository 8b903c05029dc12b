#!/usr/bin/env bash
# A node dies (kill -9) while it runs the job: the coordinator notices by the
# missing heartbeats and the client reports which node, exiting 1 instead of
# waiting forever (kafu run --attach, so kafu run itself does not watch the
# node processes).
source "$(dirname "$0")/lib.sh"
make_work
pick_engines
build "$CLUSTER_DIR/progs/offload.c" "$work/app.wasm"
write_config "$work/kafu.yaml" app.wasm "cloud1:$e_interp" "edge1:$e_interp"
start_nodes cloud1 edge1
run_bg timeout 60 "$KAFU" run "$work/kafu.yaml" --attach --quiet >"$work/out" 2>"$work/err"
wait_line "$work/out" "work starts on edge1" || fail "the job never reached edge1"
kill -9 "${pids[1]}"
wait_bg
expect_rc 1 "kafu run"
# Either edge1 died while running the job, or (slow machines, ASan) the job
# had already come back and the next migration to edge1 failed: both must
# name edge1, and the second must leave a resumable snapshot.
grep -qE "node edge1 lost while running the job|migration to node edge1 failed.*kafu resume" "$work/err" ||
  { cat "$work/err"; fail "no clear error"; }
echo "ok"
