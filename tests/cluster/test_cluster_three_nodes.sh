#!/usr/bin/env bash
# Three nodes on loopback with mixed engines: edge2 -> edge1 -> edge2 nesting
# besides the two-node shapes, and the job runs on all three nodes.
source "$(dirname "$0")/lib.sh"
make_work
pick_engines
mkdir -p "$work/camera"
echo "two people" >"$work/camera/camera.txt"
build "$CLUSTER_DIR/progs/places.c" "$work/app.wasm" -DTHREE_NODES
write_config "$work/kafu.yaml" app.wasm "cloud1:$e_aot" "edge1:$e_interp:$work/camera" "edge2:$e_aot"

run_rc "$KAFU" run "$work/kafu.yaml" --timeout 120 >"$work/out" 2>"$work/err"
expect_rc 0 "kafu run"
sed -n '/^read_camera ->/,/^on_edge2 ->/p' "$work/out" >"$work/part"
printf '%s\n' "read_camera -> 10" "on_edge2(4) on edge2" "leaf(4) on edge1" \
  "on_edge2 -> 105, main on cloud1" >"$work/expected"
expect_same "three-node nesting" "$work/expected" "$work/part"
tail -n1 "$work/out" | grep -qx "main returns 0 on cloud1" || fail "last line: $(tail -n1 "$work/out")"
for pair in "cloud1 -> edge2" "edge2 -> edge1" "edge1 -> edge2" "edge2 -> cloud1"; do
  grep -Eq "$pair +1 " "$work/err" || { cat "$work/err"; fail "summary lacks one $pair"; }
done
echo "ok"
