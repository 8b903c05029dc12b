#!/usr/bin/env bash
# kafu run never leaves node processes behind: not on Ctrl-C (exit 130), not
# when it is killed with SIGKILL, not when a node fails at startup.
source "$(dirname "$0")/lib.sh"
make_work
pick_engines
build "$CLUSTER_DIR/progs/offload.c" "$work/app.wasm"
write_config "$work/kafu.yaml" app.wasm "cloud1:$e_interp" "edge1:$e_interp"

nodes_left() { ps -eo args | grep -F -- "--config $work/kafu.yaml" | grep -v grep || true; }

for sig in INT KILL; do
  : >"$work/out"
  "$KAFU" run "$work/kafu.yaml" >"$work/out" 2>"$work/err" &
  pid=$!
  wait_line "$work/out" "work starts on edge1" || fail "the program never reached edge1"
  kill -s "$sig" "$pid"
  wait_rc "$pid"
  [ "$sig" = INT ] && { [ "$rc" = 130 ] || fail "Ctrl-C: exit $rc, expected 130"; }
  for i in $(seq 50); do [ -z "$(nodes_left)" ] && break; sleep 0.1; done
  [ -z "$(nodes_left)" ] || fail "nodes left after SIG$sig: $(nodes_left)"
done

# A node that cannot start (its port is taken) is reported; the others stop.
python3 -c "import socket,sys,time; s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(30)" >"$work/blocker" &
blocker=$!
for i in $(seq 50); do [ -s "$work/blocker" ] && break; sleep 0.1; done
port=$(cat "$work/blocker")
old=$(node_port edge1)
sed -i "s/port: $old\$/port: $port/" "$work/kafu.yaml"
run_rc timeout 60 "$KAFU" run "$work/kafu.yaml" >"$work/out" 2>"$work/err"
kill "$blocker"; wait "$blocker" 2>/dev/null || true
expect_rc 1 "busy port"
grep -q "node edge1 exited at startup" "$work/err" || { cat "$work/err"; fail "busy port not reported"; }
[ -z "$(nodes_left)" ] || fail "nodes left after a failed start"
echo "ok"
