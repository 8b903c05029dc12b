#!/usr/bin/env bash
# The two-node cluster as separate hosts: cloud1 and edge1 each in its own
# network namespace, joined by a veth pair, daemons started there by hand and
# the client (kafu run --attach) in cloud1's namespace. Needs root and
# `ip netns`; skipped with a message otherwise. Namespaces are removed on exit.
source "$(dirname "$0")/lib.sh"
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
  echo "SKIP: needs root and iproute2 (ip netns)"; exit 77
fi
tag=$$
nsc="kafu-c-$tag" nse="kafu-e-$tag"
net="10.$((tag % 200 + 20)).$(((tag / 200) % 250)).0"
ipc="${net%.0}.1" ipe="${net%.0}.2"
make_work
# the daemons run in the namespaces: stop them before removing these
at_exit stop_daemons
at_exit 'ip netns del "$nsc" 2>/dev/null'
at_exit 'ip netns del "$nse" 2>/dev/null'
if ! ip netns add "$nsc" 2>/dev/null; then
  echo "SKIP: cannot create network namespaces here"; exit 77
fi
ip netns add "$nse"
ip link add "kv-c-$tag" type veth peer name "kv-e-$tag"
ip link set "kv-c-$tag" netns "$nsc"
ip link set "kv-e-$tag" netns "$nse"
ip -n "$nsc" addr add "$ipc/24" dev "kv-c-$tag"
ip -n "$nse" addr add "$ipe/24" dev "kv-e-$tag"
for ns in "$nsc" "$nse"; do ip -n "$ns" link set lo up; done
ip -n "$nsc" link set "kv-c-$tag" up
ip -n "$nse" link set "kv-e-$tag" up

pick_engines
mkdir -p "$work/camera"
echo "one person" >"$work/camera/camera.txt"
build "$CLUSTER_DIR/progs/places.c" "$work/app.wasm"
cat >"$work/kafu.yaml" <<YAML
name: netns-$tag
app:
  path: app.wasm
nodes:
  cloud1: {address: $ipc, port: 7101, engine: $e_aot}
  edge1: {address: $ipe, port: 7102, engine: $e_interp, preopened_dir: $work/camera}
cluster:
  heartbeat: {interval_ms: 200, follower_on_coordinator_lost: shutdown_self}
YAML
serve_node cloud1 ip netns exec "$nsc"
serve_node edge1 ip netns exec "$nse"
wait_listening cloud1 edge1
run_rc timeout 120 ip netns exec "$nsc" "$KAFU" run "$work/kafu.yaml" --attach -- 4 >"$work/out" 2>"$work/err"
[ "$rc" = 4 ] || { cat "$work/err" "$work/cloud1.log" "$work/edge1.log"; fail "exit $rc, expected 4"; }
grep -qx "read_camera on edge1: 'one person'" "$work/out" || fail "edge1's file not read on edge1"
grep -qx "outer after back_to_cloud on edge1" "$work/out" || fail "nested DEST output"
tail -n1 "$work/out" | grep -qx "main returns 4 on cloud1" || fail "last line: $(tail -n1 "$work/out")"
grep -q "arrived from $ipc\|arrived from cloud1" "$work/edge1.log" || fail "edge1 log"
# The follower notices when the coordinator goes away (shutdown_self).
kill "${pids[0]}"
for i in $(seq 50); do kill -0 "${pids[1]}" 2>/dev/null || break; sleep 0.1; done
kill -0 "${pids[1]}" 2>/dev/null && fail "edge1 did not shut down after losing cloud1"
grep -q "coordinator cloud1 lost" "$work/edge1.log" || fail "edge1 log lacks the lost-coordinator line"
echo "ok (namespaces $nsc, $nse; $ipc <-> $ipe)"
