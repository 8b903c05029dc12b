# Helpers for the fault tests: daemons started by the test itself (so one can
# be killed without kafu run noticing a child's death), kafu run --attach,
# the native reference output. Sourced after ../lib.sh.
FAULT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# fault_setup: $work with app.wasm, native reference $work/expected (args in
# $APP_ARGS), and kafu.yaml (cloud1, edge1[, edge2]) with migration_timeout_ms
# $TIMEOUT_MS. Sets e_cloud/e_edge engines.
fault_setup() {
  local nodes=${1:-2}
  pick_engines
  e_cloud=$e_aot e_edge=$e_interp
  build "$FAULT_DIR/progs/steps.c" "$work/app.wasm"
  cc -O2 -I"$KAFU_SRC/include" "$FAULT_DIR/progs/steps.c" -o "$work/native" 2>/dev/null ||
    gcc -O2 -I"$KAFU_SRC/include" "$FAULT_DIR/progs/steps.c" -o "$work/native"
  # shellcheck disable=SC2086
  "$work/native" $APP_ARGS >"$work/expected"
  local extra=()
  [ "$nodes" = 3 ] && extra=("edge2:$e_cloud")
  # followers must survive a dead coordinator only as long as the test needs
  CLUSTER_YAML="  migration:
    memory_migration: ${MEMORY_MIGRATION:-delta}
    memory_compression: ${MEMORY_COMPRESSION:-true}
    migration_timeout_ms: ${TIMEOUT_MS:-1500}" ON_COORDINATOR_LOST=ignore \
    write_config "$work/kafu.yaml" app.wasm "cloud1:$e_cloud" "edge1:$e_edge" "${extra[@]}"
}

declare -A node_pid

# start_node NAME [CONFIG]: kafu serve in the background (with CONFIG,
# default $work/kafu.yaml), logging to $work/NAME.log (appended); waits until
# it accepts connections (10 s at most).
start_node() {
  local name=$1 config=${2:-$work/kafu.yaml} port
  port=$(node_port "$name" "$config")
  "$KAFU" serve --config "$config" --node "$name" 2>>"$work/$name.log" &
  node_pid[$name]=$!
  wait_port "$port" || fail "node $name did not come up"
}

# kill9_node NAME: kill -9 of start_node's NAME, reaped.
kill9_node() { kill -9 "${node_pid[$1]}" 2>/dev/null || true; wait "${node_pid[$1]}" 2>/dev/null || true; }

# stop_all: kill (SIGTERM) and reap every node start_node started.
stop_all() {
  local p
  for p in "${node_pid[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${node_pid[@]}"; do wait "$p" 2>/dev/null || true; done
}

# run_job [kafu run options]: kafu run --attach, stdout to $work/out, stderr
# to $work/err, exit status in $rc. Bounded by --timeout and timeout(1).
run_job() {
  set +e
  # shellcheck disable=SC2086
  timeout 120 "$KAFU" run "$work/kafu.yaml" --attach --timeout 90 "$@" -- $APP_ARGS \
    >"$work/out" 2>"$work/err"
  rc=$?
  set -e
}

# run_job_bg [options]: run_job in the background (pid in $run_pid);
# wait_out TEXT: until $work/out has a line TEXT (20 s at most).
run_job_bg() {
  # shellcheck disable=SC2086
  timeout 120 "$KAFU" run "$work/kafu.yaml" --attach --timeout 90 "$@" -- $APP_ARGS \
    >"$work/out" 2>"$work/err" &
  run_pid=$!
}
wait_out() {
  for _ in $(seq 200); do grep -qx "$1" "$work/out" 2>/dev/null && return 0; sleep 0.1; done
  fail "no '$1' in the output"
}
wait_run() { wait_rc "$run_pid"; }

# resume_file: the one .kafu-resume file in cloud1's state dir (or nothing)
resume_file() { ls "$work"/.kafu/cloud1/snapshots/*.kafu-resume 2>/dev/null | head -1 || true; }

# resume_job SNAP SECS KAFU_TIMEOUT: kafu resume SNAP (under timeout SECS,
# --timeout KAFU_TIMEOUT), stdout to $work/out2, stderr to $work/err2,
# exit status in $r2.
resume_job() {
  set +e
  timeout "$2" "$KAFU" resume "$1" --config "$work/kafu.yaml" --timeout "$3" >"$work/out2" 2>"$work/err2"
  r2=$?
  set -e
}

# expect_resumed WHAT: resume_job exited 0 and $work/out + $work/out2 (the
# run, then the resume) is byte-identical to native.
expect_resumed() {
  [ "$r2" = 0 ] || { cat "$work/err2"; fail "$1: resume exit $r2"; }
  cat "$work/out" "$work/out2" >"$work/all"
  expect_same "$1: run + resume vs native" "$work/expected" "$work/all"
}

# out_is_native_prefix: $work/out is a prefix of native's $work/expected
# (what ran before a loss, nothing twice).
out_is_native_prefix() {
  head -c "$(stat -c %s "$work/out")" "$work/expected" | cmp -s - "$work/out"
}
