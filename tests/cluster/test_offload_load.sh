#!/usr/bin/env bash
# ctest: run-serial
# offload.policy: load with pinned nodes (nodes.*.cpus): edge1 on CPU 1,
# cloud2 (the MAY_OFFLOAD node) on CPU 0, each measuring only its own CPU.
# With a CPU hog pinned to CPU 1, edge1 is loaded and cloud2 is not: heavy()
# moves to cloud2. Without the hog, edge1's own job does not count as load
# and heavy() stays. Needs two CPUs that are otherwise idle: on a busy
# machine every node reads as loaded and the test is skipped (77), unless
# KAFU_OFFLOAD_LOAD_FORCE=1.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/offload_lib.sh"
command -v taskset >/dev/null || { echo "skip: no taskset"; exit 77; }
[ "$(nproc)" -ge 2 ] || { echo "skip: needs 2 CPUs"; exit 77; }
make_work
hog_pid=
at_exit '[ -n "$hog_pid" ] && kill "$hog_pid" 2>/dev/null'
busy=$(cpu_busy 0 1)
read -r busy0 busy1 <<<"$busy"
if [ -z "${KAFU_OFFLOAD_LOAD_FORCE:-}" ] && awk -v a="$busy0" -v b="$busy1" 'BEGIN { exit !(a > 0.5 || b > 0.5) }'; then
  echo "skip: CPUs already busy (cpu0 $busy0, cpu1 $busy1): load-based offload cannot be shown"
  exit 77
fi
build "$CLUSTER_DIR/progs/offload_policy.c" "$work/app.wasm"
offload_config "$work/kafu.yaml" app.wasm '["1500", "1", "0"]' load 1 0

# 1. hog on edge1's CPU: offload.
start_hog 1
sleep 0.5
"$KAFU" run "$work/kafu.yaml" --timeout 60 >"$work/out" 2>"$work/err" || { cat "$work/err"; fail "hog: kafu run failed"; }
kill "$hog_pid"; wait "$hog_pid" 2>/dev/null || true; hog_pid=
expect_lines "hog" "main on cloud1" "stage on edge1" "heavy enters on edge1" "heavy loop ends on cloud2" \
  "stage after heavy on edge1" "main after on cloud1"
grep -q "offload to cloud2? offload (policy load" "$work/.kafu/edge1/serve.log" || fail "hog: edge1 log lacks the decision"
echo "ok hog: $(grep -m1 'offload to cloud2? offload' "$work/.kafu/edge1/serve.log" | sed 's/.*offload (/(/')"

# 2. no hog: the job alone keeps CPU 1 busy, which is not load: no offload.
sleep 0.5
"$KAFU" run "$work/kafu.yaml" --timeout 60 >"$work/out" 2>"$work/err" || { cat "$work/err"; fail "no hog: kafu run failed"; }
expect_lines "no hog" "main on cloud1" "stage on edge1" "heavy enters on edge1" "heavy loop ends on edge1" \
  "stage after heavy on edge1" "main after on cloud1"
echo "ok no hog: $(grep -m1 'offload to cloud2?' "$work/.kafu/edge1/serve.log" | sed 's/.*? //')"
