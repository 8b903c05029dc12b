#!/usr/bin/env bash
# The people counter (examples/people-counter) on cloud1 + edge1 with
# edge1's offload.policy always: every frame is read on edge1 (the camera
# exists only there, and a KAFU_DEST inside the MAY_OFFLOAD region stays on
# its node), its inference is offloaded to cloud1, and every count matches
# the generator's truth. With policy never, nothing is offloaded and the
# counts still match.
source "$(dirname "$0")/lib.sh"
make_work
ex="$KAFU_SRC/examples/people-counter"
frames=6
mkdir -p "$work/edge1-root/camera"
gcc -O2 -o "$work/gen_frames" "$ex/gen_frames.c"
"$work/gen_frames" "$work/edge1-root/camera" "$frames" 7 >/dev/null
build "$ex/people_counter.c" "$work/app.wasm"

run_counter() { # POLICY
  cat >"$work/kafu.yaml" <<YAML
name: pc-test-$$
app:
  path: app.wasm
  args: ["$frames", "0"]
nodes:
  cloud1:
    address: 127.0.0.1
    port: $(free_port)
    engine: interp
    offload: {policy: never}
  edge1:
    address: 127.0.0.1
    port: $(free_port)
    engine: interp
    preopened_dir: edge1-root
    offload: {policy: $1}
cluster:
  heartbeat: {interval_ms: 200, follower_on_coordinator_lost: shutdown_self}
YAML
  "$KAFU" run "$work/kafu.yaml" --timeout 60 >"$work/out" 2>"$work/err" || { cat "$work/err"; fail "$1: kafu run failed"; }
  grep -o 'count: [0-9]*' "$work/out" | sed 's/count: //' >"$work/counts"
  expect_same "$1: counts vs truth.txt" "$work/edge1-root/camera/truth.txt" "$work/counts"
  [ "$(grep -c 'camera@edge1 ' "$work/out")" = "$frames" ] || { cat "$work/out"; fail "$1: a camera read ran off edge1"; }
}

# Heartbeats need a moment after start: frame 0 may still run on edge1.
run_counter always
n=$(grep -c 'inference@edge1->cloud1, printed on cloud1' "$work/out" || true)
[ "$n" -ge $((frames - 1)) ] || { cat "$work/out"; fail "always: only $n of $frames inferences offloaded"; }
grep -Eq "edge1 -> cloud1 +[0-9]+ " "$work/err" || fail "always: no summary"
echo "ok always: $n of $frames inferences offloaded, counts match"

run_counter never
! grep -q 'inference@edge1->' "$work/out" || { cat "$work/out"; fail "never: an inference moved"; }
echo "ok never: counts match"
