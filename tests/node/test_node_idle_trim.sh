#!/usr/bin/env bash
# A daemon keeps freed memory in its heap while it works (runtime.h,
# kafu_runtime_keep_memory_warm) and hands it back to the OS once it holds no
# job, running or parked (daemon.h, kafu_node_park_sweep): after a job with a
# 64 MiB heap ends on cloud1, cloud1's resident memory drops; edge1, which
# keeps the job's parked instance, keeps its memory.
source "$KAFU_SRC/tests/cluster/lib.sh"
# AddressSanitizer's allocator ignores mallopt and malloc_trim.
[ -z "${KAFU_ASAN:-}" ] || { echo "skip: glibc malloc policy, not ASan's"; exit 77; }
make_work
pick_engines
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
trimmed="freed heap returned to the OS"

build "$KAFU_SRC/tests/cluster/faults/progs/steps.c" "$work/app.wasm"
write_config "$work/kafu.yaml" app.wasm "cloud1:$e_aot" "edge1:$e_aot"
export KAFU_LOG=debug
start_nodes cloud1 edge1
cloud1=${pids[0]}
run_rc timeout 120 "$KAFU" run "$work/kafu.yaml" --attach --quiet -- 64 3 0 >"$work/out" 2>"$work/err"
expect_rc 0 "run" "$work/err"
grep -q . "$work/out" || fail "no output"
before=$(rss_kb "$cloud1")
[ "$before" -gt 65536 ] || fail "cloud1 held only $before KiB after a 64 MiB job: the test proves nothing"
wait_line "$work/cloud1.log" "$trimmed" "$cloud1" 100 || fail "cloud1 never trimmed (RSS $before KiB)"
after=$(rss_kb "$cloud1")
[ $((before - after)) -gt 32768 ] || fail "cloud1 RSS $before -> $after KiB: not returned"
! grep -q "$trimmed" "$work/edge1.log" || fail "edge1 trimmed while it keeps the job's parked instance"
for p in "${pids[@]}"; do kill -0 "$p" || fail "a daemon died"; done
echo "ok: cloud1 RSS $before -> $after KiB"
