#!/usr/bin/env bash
# Malformed, truncated, bad-checksum, unknown-type, oversized frames and a
# module-hash mismatch against live daemons: each gets an ERROR (or NACK)
# reply and a log line, the daemon keeps serving, and a job run afterwards on
# the same daemons (kafu run --attach) is unharmed.
source "$(dirname "$0")/lib.sh"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

e1=interp; have_engine interp || e1=aot
build "$CLUSTER_DIR/progs/places.c" "$work/app.wasm"
write_config "$work/kafu.yaml" app.wasm "cloud1:$e1" "edge1:$e1"
for n in cloud1 edge1; do
  "$KAFU" serve --config "$work/kafu.yaml" --node $n 2>"$work/$n.log" &
  pids+=($!)
done
port=$(awk '/cloud1:/{f=1} f&&/port:/{print $2; exit}' "$work/kafu.yaml")
for i in $(seq 100); do
  python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$port),1)" 2>/dev/null && break
  sleep 0.1
done

timeout 120 python3 "$CLUSTER_DIR/hostile.py" 127.0.0.1 "$port" cloud1

grep -q "bad frame" "$work/cloud1.log" || { cat "$work/cloud1.log"; fail "no log line for bad frames"; }
grep -q "MODULE_PUT refused" "$work/cloud1.log" || fail "no log line for the module mismatch"

# The same daemons still run a job correctly.
set +e
timeout 120 "$KAFU" run "$work/kafu.yaml" --attach --quiet -- 3 >"$work/out" 2>"$work/err"
rc=$?
set -e
[ "$rc" = 3 ] || { cat "$work/err"; fail "job after hostile frames: exit $rc"; }
grep -qx "main returns 3 on cloud1" "$work/out" || fail "job output after hostile frames"
kill -0 "${pids[0]}" && kill -0 "${pids[1]}" || fail "a daemon died"
echo "ok"
