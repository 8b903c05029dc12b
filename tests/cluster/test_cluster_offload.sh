#!/usr/bin/env bash
# kafu offload: a job spinning in a KAFU_MAY_OFFLOAD("cloud1") region on
# edge1 moves to cloud1 at its next poll, returns to edge1 when the region
# ends, and main continues on cloud1.
source "$(dirname "$0")/lib.sh"
make_work
pick_engines
build "$CLUSTER_DIR/progs/offload.c" "$work/app.wasm"
write_config "$work/kafu.yaml" app.wasm "cloud1:$e_aot" "edge1:$e_aot"
run_bg "$KAFU" run "$work/kafu.yaml" --timeout 120 >"$work/out" 2>"$work/err"
wait_line "$work/out" "work starts on edge1" "$bg_pid" 600 || { cat "$work/err"; fail "job never reached edge1"; }
"$KAFU" offload --config "$work/kafu.yaml" --node edge1
wait_bg
expect_rc 0 "kafu run"
expect_lines "offload output" "main on cloud1" "work starts on edge1" "work ends on cloud1" "main again on cloud1"
grep -Eq "edge1 -> cloud1 +2 " "$work/err" || { cat "$work/err"; fail "expected 2 edge1 -> cloud1 migrations (offload, return)"; }
grep -q "offload requested" "$work/.kafu/edge1/serve.log" || fail "edge1 log lacks the offload request"
echo "ok"
