#!/usr/bin/env bash
# kafu offload: a job spinning in a KAFU_MAY_OFFLOAD("cloud1") region on
# edge1 moves to cloud1 at its next poll, returns to edge1 when the region
# ends, and main continues on cloud1.
source "$(dirname "$0")/lib.sh"
work=$(mktemp -d)
runpid=
cleanup() {
  [ -n "$runpid" ] && kill "$runpid" 2>/dev/null && wait "$runpid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

e1=aot; have_engine aot || e1=interp
build "$CLUSTER_DIR/progs/offload.c" "$work/app.wasm"
write_config "$work/kafu.yaml" app.wasm "cloud1:$e1" "edge1:$e1"
"$KAFU" run "$work/kafu.yaml" --timeout 120 >"$work/out" 2>"$work/err" &
runpid=$!
for i in $(seq 600); do
  grep -q "work starts on edge1" "$work/out" 2>/dev/null && break
  kill -0 "$runpid" 2>/dev/null || break
  sleep 0.1
done
grep -q "work starts on edge1" "$work/out" || { cat "$work/err"; fail "job never reached edge1"; }
"$KAFU" offload --config "$work/kafu.yaml" --node edge1
set +e; wait "$runpid"; rc=$?; set -e
runpid=
[ "$rc" = 0 ] || { cat "$work/err"; fail "kafu run exit $rc"; }
printf '%s\n' "main on cloud1" "work starts on edge1" "work ends on cloud1" "main again on cloud1" >"$work/expected"
expect_same "offload output" "$work/expected" "$work/out"
grep -Eq "edge1 -> cloud1 +2 " "$work/err" || { cat "$work/err"; fail "expected 2 edge1 -> cloud1 migrations (offload, return)"; }
grep -q "offload requested" "$work/.kafu/edge1/serve.log" || fail "edge1 log lacks the offload request"
echo "ok"
