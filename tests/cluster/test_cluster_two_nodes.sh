#!/usr/bin/env bash
# Two nodes on loopback (cloud1 aot when built, edge1 interp when built):
# nested/recursive DEST, DEST through a function pointer, returns to the
# caller's node, output order, exit codes (also from a remote node), and a
# file that exists only in edge1's preopened dir.
source "$(dirname "$0")/lib.sh"
make_work
pick_engines
mkdir -p "$work/cloud" "$work/camera"
echo "three people" >"$work/camera/camera.txt"
build "$CLUSTER_DIR/progs/places.c" "$work/app.wasm"
write_config "$work/kafu.yaml" app.wasm "cloud1:$e_aot:$work/cloud" "edge1:$e_interp:$work/camera"

cat >"$work/expected" <<'OUT'
main on cloud1
leaf(1) on edge1
leaf -> 2, main on cloud1
outer(2) on edge1
back_to_cloud(2) on cloud1
leaf(2) on edge1
back_to_cloud after leaf on cloud1
outer after back_to_cloud on edge1
outer -> 6, main on cloud1
recursive bottom on edge1
recursive -> 15, main on cloud1
leaf(3) on edge1
pointer -> 4, main on cloud1
main sees camera.txt: no
read_camera on edge1: 'three people'
read_camera -> 12
leaf(0) on edge1
order 1
leaf(10) on edge1
order 11
leaf(20) on edge1
order 21
leaf(30) on edge1
order 31
leaf(40) on edge1
order 41
OUT
cp "$work/expected" "$work/expected7"
echo "main returns 7 on cloud1" >>"$work/expected7"
printf 'err %d on cloud1\n' 0 1 2 3 4 >"$work/expected.err"

run_rc "$KAFU" run "$work/kafu.yaml" --trace "$work/trace.json" --timeout 120 -- 7 >"$work/out" 2>"$work/err"
expect_rc 7 "kafu run"
expect_same "stdout" "$work/expected7" "$work/out"
grep '^err ' "$work/err" >"$work/err.prog" || true
expect_same "stderr" "$work/expected.err" "$work/err.prog"
grep -Eq "cloud1 -> edge1 +12 " "$work/err" || { cat "$work/err"; fail "summary lacks 12 cloud1 -> edge1 migrations"; }
grep -q "pause p50" "$work/err" || fail "summary lacks pauses"
python3 -c "import json,sys; t=json.load(open(sys.argv[1])); \
  names={e['args']['name'] for e in t['traceEvents'] if e['ph']=='M' and e['name']=='process_name'}; \
  assert names=={'cloud1','edge1'}, names; \
  assert sum(1 for e in t['traceEvents'] if e.get('cat')=='migration' and e['ph']=='X')==24" "$work/trace.json" \
  || fail "trace JSON"

# exit() inside a function running on edge1: the code still reaches the client.
run_rc "$KAFU" run "$work/kafu.yaml" --quiet --timeout 120 -- 105 >"$work/out" 2>"$work/err"
expect_rc 5 "remote exit"
tail -n1 "$work/out" | grep -qx "exit_remotely(5) on edge1" || fail "remote exit output: $(tail -n1 "$work/out")"
[ ! -s "$work/err.summary" ] || true

# --lazy-modules: edge1 gets the module only at the first migration
# (MIGRATE -> MODULE_NEED -> MODULE_PUT -> ACK), and caches it for the rest.
rm -rf "$work/.kafu"
run_rc "$KAFU" run "$work/kafu.yaml" --lazy-modules --timeout 120 -- 7 >"$work/out" 2>"$work/err"
expect_rc 7 "lazy modules"
expect_same "stdout (lazy modules)" "$work/expected7" "$work/out"
[ "$(grep -c "loaded module" "$work/.kafu/edge1/serve.log")" = 1 ] || fail "edge1 loaded the module more than once"
ls "$work"/.kafu/edge1/modules/*.wasm >/dev/null || fail "edge1 did not cache the module in its state dir"

# Node logs: one line per event.
log="$work/.kafu/edge1/serve.log"
[ -f "$log" ] || log=$(ls "$work"/.kafu/edge1*/serve.log 2>/dev/null | head -n1)
grep -q "migrated edge1 -> cloud1 (return leaf)" "$log" || { cat "$log"; fail "edge1 log lacks migration lines"; }
echo "ok"
