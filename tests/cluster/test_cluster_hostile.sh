#!/usr/bin/env bash
# Malformed, truncated, bad-checksum, unknown-type, oversized frames and a
# module-hash mismatch against live daemons: each gets an ERROR (or NACK)
# reply and a log line, the daemon keeps serving, and a job run afterwards on
# the same daemons (kafu run --attach) is unharmed.
source "$(dirname "$0")/lib.sh"
make_work
pick_engines
build "$CLUSTER_DIR/progs/places.c" "$work/app.wasm"
write_config "$work/kafu.yaml" app.wasm "cloud1:$e_interp" "edge1:$e_interp"
serve_node cloud1
serve_node edge1
port=$(node_port cloud1)
wait_port "$port" || true

timeout 120 python3 "$CLUSTER_DIR/hostile.py" 127.0.0.1 "$port" cloud1

grep -q "bad frame" "$work/cloud1.log" || { cat "$work/cloud1.log"; fail "no log line for bad frames"; }
grep -q "MODULE_PUT refused" "$work/cloud1.log" || fail "no log line for the module mismatch"

# The same daemons still run a job correctly.
run_rc timeout 120 "$KAFU" run "$work/kafu.yaml" --attach --quiet -- 3 >"$work/out" 2>"$work/err"
expect_rc 3 "job after hostile frames"
grep -qx "main returns 3 on cloud1" "$work/out" || fail "job output after hostile frames"
kill -0 "${pids[0]}" && kill -0 "${pids[1]}" || fail "a daemon died"
echo "ok"
