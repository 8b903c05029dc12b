#!/usr/bin/env bash
# The distributed differential test: every corpus program (tests/programs)
# natively and under `kafu run --chaos SEED` on three nodes with mixed
# engines, for several seeds and both snapify policies. stdout and the exit
# code must be byte-identical to the native run. Driver for the
# test_cluster_chaos_*_slow.sh tests: POLICIES says which snapify policies
# (kafu, always) to build with; most of the time goes to kafu cc.
source "$(dirname "$0")/lib.sh"
source "$KAFU_SRC/tests/programs/lib.sh"
make_work
pick_engines
# Seeds per snapify policy. `always` has a point per function call, so its
# runs are long: one seed by default (KAFU_CHAOS_SEEDS_ALWAYS for more).
seeds_kafu=${KAFU_CHAOS_SEEDS:-1 2 3}
seeds_always=${KAFU_CHAOS_SEEDS_ALWAYS:-7}
only=${KAFU_PROGRAMS:-}
pass=0 failed=0
for src in "$CORPUS"/*.c; do
  name=$(basename "$src" .c)
  [ -n "$only" ] && [[ " $only " != *" $name "* ]] && continue
  build_native "$src" "$work/$name.native"
  args=$(directive "$src" args)
  envs=$(directive "$src" env)
  ndir="$work/$name.ndir"; mkdir -p "$ndir"
  a=$args; has_flag "$src" dir && a="$ndir $args"
  set +e; env $envs "$work/$name.native" $a >"$work/$name.expected"; erc=$?; set -e
  for policy in ${POLICIES:-kafu always}; do
    wasm="$work/$name.$policy.wasm"
    if ! build_kafu "$src" "$wasm" "$policy" 2>"$work/cc.err"; then
      echo "FAIL $name: kafu cc --policy $policy: $(head -3 "$work/cc.err")"; failed=$((failed+1)); continue
    fi
    # policy kafu has few points: migrate at every one; policy always has a
    # point per call: migrate at about one in 50.
    every=1 seeds=$seeds_kafu
    [ "$policy" = always ] && every=${KAFU_CHAOS_EVERY:-50} seeds=$seeds_always
    for seed in $seeds; do
      root="$work/root"; rm -rf "$root"; mkdir -p "$root/data"
      write_config "$work/kafu.yaml" "$wasm" "cloud1:$e_aot:$root" "edge1:$e_interp:$root" "edge2:$e_aot:$root"
      kargs=(run "$work/kafu.yaml" --quiet --timeout 300 --chaos "$seed" --chaos-every "$every")
      for e in $envs; do kargs+=(--env "$e"); done
      ka=$args; has_flag "$src" dir && ka="/data $args"
      t0=$(date +%s.%N)
      set +e; "$KAFU" "${kargs[@]}" -- $ka >"$work/$name.out" 2>"$work/$name.err"; rc=$?; set -e
      printf '%-16s %-6s seed %s: %.1f s\n' "$name" "$policy" "$seed" "$(echo "$(date +%s.%N) - $t0" | bc)"
      if cmp -s "$work/$name.out" "$work/$name.expected" && [ "$rc" = "$erc" ]; then
        pass=$((pass+1))
      else
        failed=$((failed+1))
        echo "FAIL $name policy=$policy seed=$seed rc=$rc expected $erc"
        diff <(head -c 2000 "$work/$name.expected") <(head -c 2000 "$work/$name.out") | head -10 || true
        head -5 "$work/$name.err"
      fi
    done
  done
done
echo "$pass passed, $failed failed"
[ "$failed" = 0 ]
