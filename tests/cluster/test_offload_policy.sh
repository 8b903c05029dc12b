#!/usr/bin/env bash
# offload.policy at KAFU_MAY_OFFLOAD polls (docs/offload.md), three nodes:
# main on cloud1, stage() on edge1, heavy() MAY_OFFLOAD("cloud2").
#  - always: heavy's loop moves to cloud2, a KAFU_DEST("edge1") call inside it
#    still goes to edge1 and comes back to cloud2, and when heavy returns
#    execution is back on edge1, where heavy was entered;
#  - never: everything of heavy stays on edge1;
#  - always, but cloud2 stopped (SIGSTOP: no heartbeat replies): stays on edge1;
#  - never, plus `kafu offload --node edge1`: moves anyway.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/offload_lib.sh"
make_work
stopped=
at_exit '[ -n "$stopped" ] && kill -CONT "$stopped" 2>/dev/null'
build "$CLUSTER_DIR/progs/offload_policy.c" "$work/app.wasm"

# 1. always, with a nested DEST inside the offloaded region.
offload_config "$work/kafu.yaml" app.wasm '["300", "1", "1"]' always
"$KAFU" run "$work/kafu.yaml" --timeout 60 >"$work/out" 2>"$work/err" || { cat "$work/err"; fail "always: kafu run failed"; }
expect_lines "always" "main on cloud1" "stage on edge1" "heavy enters on edge1" "heavy loop ends on cloud2" \
  "nested runs on edge1" "heavy after nested on cloud2" "stage after heavy on edge1" "main after on cloud1"
grep -Eq "edge1 -> cloud2 +2 " "$work/err" || { cat "$work/err"; fail "always: expected 2 edge1 -> cloud2 (offload, return from nested)"; }
grep -Eq "cloud2 -> edge1 +2 " "$work/err" || { cat "$work/err"; fail "always: expected 2 cloud2 -> edge1 (nested DEST, return of heavy)"; }
grep -q "offload to cloud2? offload (policy always" "$work/.kafu/edge1/serve.log" || fail "always: edge1 log lacks the decision"
echo "ok always"

# 2. never.
offload_config "$work/kafu.yaml" app.wasm '["300", "1", "1"]' never
"$KAFU" run "$work/kafu.yaml" --timeout 60 >"$work/out" 2>"$work/err" || { cat "$work/err"; fail "never: kafu run failed"; }
expect_lines "never" "main on cloud1" "stage on edge1" "heavy enters on edge1" "heavy loop ends on edge1" \
  "nested runs on edge1" "heavy after nested on edge1" "stage after heavy on edge1" "main after on cloud1"
! grep -q "cloud2" "$work/err" || { cat "$work/err"; fail "never: a migration involved cloud2"; }
echo "ok never"

# 3. always, but the destination stops answering heartbeats while stage()
#    pauses before heavy(): no offload.
offload_config "$work/kafu.yaml" app.wasm '["500", "1", "0", "1500"]' always
run_bg "$KAFU" run "$work/kafu.yaml" --timeout 60 >"$work/out" 2>"$work/err"
wait_for "$work/out" "stage on edge1" "$bg_pid"
stopped=$(node_pid "$work" cloud2)
[ -n "$stopped" ] || fail "dead: no pid for cloud2"
kill -STOP "$stopped"
wait_for "$work/out" "heavy loop ends" "$bg_pid"
kill -CONT "$stopped"; stopped=
wait_bg
expect_rc 0 "dead: kafu run"
expect_lines "dead destination" "main on cloud1" "stage on edge1" "heavy enters on edge1" "heavy loop ends on edge1" \
  "stage after heavy on edge1" "main after on cloud1"
grep -q "offload to cloud2? stay: no recent heartbeat from the destination" "$work/.kafu/edge1/serve.log" ||
  fail "dead: edge1 log lacks the reason"
echo "ok dead destination"

# 4. never, but kafu offload: the manual trigger moves it anyway.
offload_config "$work/kafu.yaml" app.wasm '["3000", "1", "0"]' never
run_bg "$KAFU" run "$work/kafu.yaml" --timeout 60 >"$work/out" 2>"$work/err"
wait_for "$work/out" "heavy enters on edge1" "$bg_pid"
"$KAFU" offload --config "$work/kafu.yaml" --node edge1
wait_bg
expect_rc 0 "manual: kafu run"
expect_lines "manual" "main on cloud1" "stage on edge1" "heavy enters on edge1" "heavy loop ends on cloud2" \
  "stage after heavy on edge1" "main after on cloud1"
grep -q "offload requested" "$work/.kafu/edge1/serve.log" || fail "manual: edge1 log lacks the request"
echo "ok manual"
