# Helpers for the multi-node tests: a work dir cleaned up on exit, free
# loopback ports, kafu.yaml writers, building test programs with kafu cc,
# starting daemons and waiting for them, and the checks the tests share.
# Sourced, not executed (also by bench/faults/run, bench/migration/part2 and
# tests/node: keep what they use working).
set -euo pipefail

: "${KAFU:?KAFU must point to the kafu binary}"
: "${KAFU_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
CLUSTER_DIR="$KAFU_SRC/tests/cluster"

_exit_hooks=()
pids=()
bg_pid=

# make_work: a fresh temporary directory in $work; on exit the at_exit hooks
# run, then the background command of run_bg and the daemons in $pids are
# stopped, then $work is removed. The script's exit status is kept.
make_work() {
  work=$(mktemp -d)
  trap _cluster_exit EXIT
}

# at_exit CMD: eval CMD (a string) on exit, before make_work's own cleanup;
# hooks run in the order they were added, and their failures are ignored.
at_exit() { _exit_hooks+=("$1"); }

_cluster_exit() {
  local h
  for h in "${_exit_hooks[@]}"; do eval "$h" || true; done
  kill_bg
  stop_daemons
  rm -rf "$work" || true
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now, taken
# below the kernel's ephemeral range (32768+) so that no outgoing connection
# grabs it between now and the daemon's bind.
free_port() {
  python3 -c '
import random, socket
for _ in range(200):
    p = random.randint(20000, 32000)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); print(p); break
    except OSError:
        pass
    finally:
        s.close()
'
}

# write_config FILE APP NAME:ENGINE[:DIR]... — a cluster on free loopback
# ports, nodes in order (the first one starts the program). ENGINE is aot or
# interp; DIR is the node's preopened dir. OFFLOAD_POLICY (default never),
# HEARTBEAT_MS (default 200), ON_COORDINATOR_LOST (default shutdown_self) and
# CLUSTER_YAML (extra YAML for the cluster section) adjust it.
write_config() {
  local file=$1 app=$2; shift 2
  {
    echo "name: test-$$"
    echo "app:"
    echo "  path: $app"
    echo "nodes:"
    local spec name engine dir
    for spec in "$@"; do
      IFS=: read -r name engine dir <<<"$spec"
      echo "  $name:"
      echo "    address: ${NODE_ADDR:-127.0.0.1}"
      echo "    port: $(free_port)"
      echo "    engine: $engine"
      [ -n "$dir" ] && echo "    preopened_dir: $dir"
      # no spontaneous load-based offloads on a busy test machine unless asked
      echo "    offload:"
      echo "      policy: ${OFFLOAD_POLICY:-never}"
    done
    echo "cluster:"
    echo "  heartbeat:"
    echo "    interval_ms: ${HEARTBEAT_MS:-200}"
    echo "    follower_on_coordinator_lost: ${ON_COORDINATOR_LOST:-shutdown_self}"
    [ -n "${CLUSTER_YAML:-}" ] && echo "$CLUSTER_YAML"
    true
  } >"$file"
}

# engines built into this kafu
have_engine() {
  case "$("$KAFU" exec /dev/null --engine "$1" 2>&1 || true)" in *"not built"*) return 1 ;; esac
}

# pick_engines: $e_aot is aot if this kafu has it, else interp; $e_interp is
# interp if this kafu has it, else aot (mixed-engine clusters use both).
pick_engines() {
  e_aot=aot e_interp=interp
  have_engine aot || e_aot=interp
  have_engine interp || e_interp=aot
}

# node_port NAME [CONFIG]: the port of node NAME in CONFIG ($work/kafu.yaml)
node_port() {
  awk -v n="  $1:" '$0==n{f=1} f&&/port:/{print $2; exit}' "${2:-$work/kafu.yaml}"
}

# build SRC OUT [extra kafu cc flags...]
build() {
  local src=$1 out=$2; shift 2
  "$KAFU" cc -O2 -I"$KAFU_SRC/include" "$@" "$src" -o "$out"
}

fail() { echo "FAIL: $*" >&2; exit 1; }

# expect_same NAME EXPECTED_FILE ACTUAL_FILE
expect_same() {
  if ! cmp -s "$2" "$3"; then
    echo "FAIL: $1 differs:" >&2
    diff "$2" "$3" | head -20 >&2 || true
    exit 1
  fi
}

# ms_since T0: milliseconds since T0, a $(date +%s%N) reading.
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# run_rc CMD...: CMD with errexit off; its exit status in $rc.
run_rc() { set +e; "$@"; rc=$?; set -e; }

# wait_rc PID: waits for the background PID; its exit status in $rc.
wait_rc() { set +e; wait "$1"; rc=$?; set -e; }

# run_bg CMD...: CMD in the background (redirect the call to redirect it),
# its pid in $bg_pid; make_work's exit cleanup kills it unless wait_bg reaped it.
run_bg() { "$@" & bg_pid=$!; }

# wait_bg: waits for run_bg's command; its exit status in $rc.
wait_bg() { wait_rc "$bg_pid"; bg_pid=; }

# kill_bg: kills and reaps run_bg's command if it still runs (no-op otherwise).
kill_bg() {
  [ -n "$bg_pid" ] && kill "$bg_pid" 2>/dev/null && wait "$bg_pid" 2>/dev/null || true
  bg_pid=
}

# serve_node NODE [PREFIX...]: `kafu serve` for NODE of $work/kafu.yaml in the
# background, run under PREFIX if given (e.g. ip netns exec NS), stderr to
# $work/NODE.log (truncated), pid appended to $pids.
serve_node() {
  local node=$1; shift
  "$@" "$KAFU" serve --config "$work/kafu.yaml" --node "$node" 2>"$work/$node.log" &
  pids+=($!)
}

# wait_listening NODE...: until every NODE's $work/NODE.log says it is
# listening, 10 s at most; it then gives up quietly (the next step fails).
wait_listening() {
  local i node up
  for i in $(seq 100); do
    up=1
    for node in "$@"; do grep -q listening "$work/$node.log" || { up=0; break; }; done
    [ "$up" = 1 ] && break
    sleep 0.1
  done
  true
}

# start_nodes NODE...: serve_node for each NODE, then wait_listening for all.
start_nodes() {
  local node
  for node in "$@"; do serve_node "$node"; done
  wait_listening "$@"
}

# stop_daemons: kill (SIGTERM) and reap every daemon in $pids; empties $pids.
stop_daemons() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}

# wait_port PORT: until something accepts connections on 127.0.0.1:PORT,
# 10 s at most; false if nothing did.
wait_port() {
  local i
  for i in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# wait_line FILE PATTERN [PID [TRIES]]: true once FILE has a line matching
# PATTERN (grep -q), polled every 0.1 s TRIES times (default 300, i.e. 30 s)
# or until PID (if given) exits; false if it never did.
wait_line() {
  local file=$1 pattern=$2 pid=${3:-} tries=${4:-300} i
  for i in $(seq "$tries"); do
    grep -q "$pattern" "$file" 2>/dev/null && return 0
    [ -z "$pid" ] || kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  grep -q "$pattern" "$file" 2>/dev/null
}

# expect_rc WANT WHAT [ERRFILE]: unless $rc is WANT, prints ERRFILE
# ($work/err) and fails with "WHAT: exit $rc, expected WANT".
expect_rc() {
  [ "$rc" = "$1" ] || { cat "${3:-$work/err}"; fail "$2: exit $rc, expected $1"; }
}

# expect_lines WHAT LINE...: $work/out must be exactly the LINEs (written to
# $work/expected); fails with a diff otherwise.
expect_lines() {
  local what=$1; shift
  printf '%s\n' "$@" >"$work/expected"
  expect_same "$what" "$work/expected" "$work/out"
}
