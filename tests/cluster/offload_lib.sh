# Helpers for the offload tests (sourced after lib.sh): a three-node config
# with per-node offload policy and CPU pinning, and finding a node's pid.

# offload_config FILE APP ARGS EDGE1_POLICY [CPUS_EDGE1 CPUS_CLOUD2] — nodes
# cloud1 (first; main), edge1 (the DEST node; its policy under test), cloud2
# (the MAY_OFFLOAD node). ARGS is a YAML flow list. All run the interpreter.
offload_config() {
  local file=$1 app=$2 args=$3 policy=$4 cpus_edge=${5:-} cpus_cloud=${6:-}
  {
    echo "name: offload-test-$$"
    echo "app:"
    echo "  path: $app"
    echo "  args: $args"
    echo "nodes:"
    echo "  cloud1:"
    echo "    address: 127.0.0.1"
    echo "    port: $(free_port)"
    echo "    engine: interp"
    echo "    offload: {policy: never}"
    echo "  edge1:"
    echo "    address: 127.0.0.1"
    echo "    port: $(free_port)"
    echo "    engine: interp"
    [ -n "$cpus_edge" ] && echo "    cpus: \"$cpus_edge\""
    echo "    offload: {policy: $policy, cpu_threshold: 0.8, window_ms: 300}"
    echo "  cloud2:"
    echo "    address: 127.0.0.1"
    echo "    port: $(free_port)"
    echo "    engine: interp"
    [ -n "$cpus_cloud" ] && echo "    cpus: \"$cpus_cloud\""
    echo "    offload: {policy: never}"
    echo "cluster:"
    echo "  heartbeat:"
    echo "    interval_ms: 200"
    echo "    follower_on_coordinator_lost: shutdown_self"
  } >"$file"
}

# node_pid DIR NODE: the pid `kafu serve` logged for NODE of the config in DIR.
node_pid() {
  sed -n 's/.*listening on .*pid \([0-9]*\)).*/\1/p' "$1/.kafu/$2/serve.log" 2>/dev/null | tail -1
}

# wait_for FILE PATTERN PID: until FILE has a line matching PATTERN (30 s at
# most, or until PID exits); fails the test otherwise.
wait_for() { wait_line "$1" "$2" "$3" || fail "never saw '$2' in $1"; }

# cpu_busy CPU...: the busy fraction (0..1) of each CPU over one second,
# from /proc/stat, space-separated.
cpu_busy() {
  local a b cpu
  a=$(grep '^cpu[0-9]' /proc/stat)
  sleep 1
  b=$(grep '^cpu[0-9]' /proc/stat)
  for cpu in "$@"; do
    paste <(echo "$a" | grep "^cpu$cpu ") <(echo "$b" | grep "^cpu$cpu ") | awk '{
      t1 = 0; for (i = 2; i <= 9; i++) t1 += $i
      t2 = 0; for (i = 13; i <= 20; i++) t2 += $i
      idle = ($16 + $17) - ($5 + $6)
      printf "%.2f ", (t2 > t1) ? 1 - idle / (t2 - t1) : 0 }'
  done
}

# start_hog CPU: a busy loop pinned to CPU; its pid in $hog_pid.
start_hog() {
  taskset -c "$1" bash -c 'while :; do :; done' &
  hog_pid=$!
}
