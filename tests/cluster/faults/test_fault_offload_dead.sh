#!/usr/bin/env bash
# MAY_OFFLOAD to a dead node: `kafu offload` asks edge1 to move its
# KAFU_MAY_OFFLOAD("edge2") work, but edge2 was killed (-9). edge1 retries
# for migration_timeout_ms, logs that it continues locally, and the job ends
# normally with the work done on edge1.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib.sh"
make_work
at_exit stop_all
pick_engines
build "$FAULT_DIR/progs/offload_dead.c" "$work/app.wasm"
CLUSTER_YAML="  migration:
    migration_timeout_ms: 1500" ON_COORDINATOR_LOST=ignore \
  write_config "$work/kafu.yaml" app.wasm "cloud1:$e_aot" "edge1:$e_aot" "edge2:$e_aot"
# edge1 never offloads on its own (only kafu offload moves its work):
# write_config gives every node offload policy never
start_node cloud1
start_node edge1
start_node edge2
APP_ARGS=5000
run_job_bg
wait_out "work starts on edge1"
kill9_node edge2
"$KAFU" offload --config "$work/kafu.yaml" --node edge1
wait_run
expect_rc 0 "kafu run"
expect_lines "offload to a dead node" "main on cloud1" "work starts on edge1" "work ends on edge1" "main again on cloud1 (1)"
grep -q "offload to edge2 failed.*continuing on edge1" "$work/edge1.log" || { cat "$work/edge1.log"; fail "edge1 did not log continuing locally"; }
echo "ok"
