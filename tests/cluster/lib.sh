# Helpers for the multi-node tests: free loopback ports, kafu.yaml writers,
# and building test programs with kafu cc. Sourced, not executed.
set -euo pipefail

: "${KAFU:?KAFU must point to the kafu binary}"
: "${KAFU_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
CLUSTER_DIR="$KAFU_SRC/tests/cluster"

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

# write_config FILE APP NAME:ENGINE[:DIR] ... — nodes in order (the first one
# starts the program). ENGINE is aot or interp; DIR is the node's preopened dir.
# Extra YAML for the cluster section can be passed in $CLUSTER_YAML.
# write_config FILE APP NAME:ENGINE[:DIR]... — a cluster on free loopback
# ports; OFFLOAD_POLICY (default never) and CLUSTER_YAML adjust it.
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
    echo "    interval_ms: 200"
    echo "    follower_on_coordinator_lost: shutdown_self"
    [ -n "${CLUSTER_YAML:-}" ] && echo "$CLUSTER_YAML"
    true
  } >"$file"
}

# engines built into this kafu
have_engine() {
  case "$("$KAFU" exec /dev/null --engine "$1" 2>&1 || true)" in *"not built"*) return 1 ;; esac
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
