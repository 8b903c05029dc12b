#!/usr/bin/env bash
# A daemon keeps freed memory in its heap while it works (runtime.h,
# kafu_runtime_keep_memory_warm) and hands it back to the OS once it holds no
# job, running or parked (daemon.h, kafu_node_park_sweep): after a job with a
# 64 MiB heap ends on cloud1, cloud1's resident memory drops; edge1, which
# keeps the job's parked instance, keeps its memory.
source "$KAFU_SRC/tests/cluster/lib.sh"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
engine=aot; have_engine aot || engine=interp

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

build "$KAFU_SRC/tests/cluster/faults/progs/steps.c" "$work/app.wasm"
write_config "$work/kafu.yaml" app.wasm "cloud1:$engine" "edge1:$engine"
KAFU_LOG=debug "$KAFU" serve --config "$work/kafu.yaml" --node cloud1 2>"$work/cloud1.log" & c=$!
KAFU_LOG=debug "$KAFU" serve --config "$work/kafu.yaml" --node edge1 2>"$work/edge1.log" & e=$!
pids=("$c" "$e")
for _ in $(seq 150); do
  grep -q listening "$work/cloud1.log" && grep -q listening "$work/edge1.log" && break
  sleep 0.1
done
timeout 120 "$KAFU" run "$work/kafu.yaml" --attach --quiet -- 64 3 0 >"$work/out" 2>"$work/err" \
  || fail "run: $(tail -n1 "$work/err")"
grep -q . "$work/out" || fail "no output"
before=$(rss_kb "$c")
[ "$before" -gt 65536 ] || fail "cloud1 held only $before KiB after a 64 MiB job: the test proves nothing"
for _ in $(seq 1 40); do
  grep -q "freed heap returned to the OS" "$work/cloud1.log" && break
  sleep 0.25
done
grep -q "freed heap returned to the OS" "$work/cloud1.log" || fail "cloud1 never trimmed (RSS $before KiB)"
after=$(rss_kb "$c")
[ $((before - after)) -gt 32768 ] || fail "cloud1 RSS $before -> $after KiB: not returned"
if grep -q "freed heap returned to the OS" "$work/edge1.log"; then
  fail "edge1 trimmed while it keeps the job's parked instance"
fi
kill -0 "$c" && kill -0 "$e" || fail "a daemon died"
echo "ok: cloud1 RSS $before -> $after KiB"
