#!/usr/bin/env bash
# Differential test: every corpus program, natively vs. under kafu exec with
# forced migrations every 1, 7 and 100 points, policies kafu and always,
# alternating engines. stdout and exit code must be byte-identical.
source "$(dirname "$0")/lib.sh"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
engines=$(available_engines | tr '\n' ' ')
[ -n "$engines" ] || { echo "no engine built"; exit 1; }
engine_list=$(echo $engines | tr ' ' ',')
echo "engines: $engines"

pass=0 fail=0
only=${KAFU_PROGRAMS:-}
for src in "$CORPUS"/*.c; do
  name=$(basename "$src" .c)
  [ -n "$only" ] && [[ " $only " != *" $name "* ]] && continue
  build_native "$src" "$work/$name.native"
  args=$(directive "$src" args)
  envs=$(directive "$src" env)
  run_native() {
    local dir="$work/$name.ndir"; rm -rf "$dir"; mkdir -p "$dir"
    local a=$args; has_flag "$src" dir && a="$dir $args"
    set +e; env $envs "$work/$name.native" $a >"$work/$name.expected"; echo $? >"$work/$name.expected.rc"; set -e
  }
  run_native
  for policy in kafu always; do
    wasm="$work/$name.$policy.wasm"
    if ! build_kafu "$src" "$wasm" "$policy" 2>"$work/cc.err"; then
      echo "FAIL $name: kafu cc --policy $policy failed: $(cat "$work/cc.err")"; fail=$((fail+1)); continue
    fi
    for every in 1 7 100; do
      # "// slow-always": policy always runs only every 100 (every function is a point)
      [ "$policy" = always ] && [ "$every" != 100 ] && has_flag "$src" slow-always && continue
      dir="$work/$name.kdir"; rm -rf "$dir"; mkdir -p "$dir"
      # Policy always makes big modules whose aot compile is slow: those run on
      # the interpreter alone (KAFU_FULL=1 alternates engines there too).
      elist=$engine_list
      [ "$policy" = always ] && [ -z "${KAFU_FULL:-}" ] && case ",$engine_list," in *,interp,*) elist=interp ;; esac
      kargs=(exec "$wasm" --engines "$elist" --migrate-every "$every" --quiet)
      a=$args
      if has_flag "$src" dir; then kargs+=(--dir "$dir:/data"); a="/data $args"; fi
      for e in $envs; do kargs+=(--env "$e"); done
      set +e; "$KAFU" "${kargs[@]}" -- $a >"$work/$name.out" 2>"$work/$name.err"; rc=$?; set -e
      if cmp -s "$work/$name.out" "$work/$name.expected" && [ "$rc" = "$(cat "$work/$name.expected.rc")" ]; then
        pass=$((pass+1))
      else
        fail=$((fail+1))
        echo "FAIL $name policy=$policy every=$every rc=$rc expected rc=$(cat "$work/$name.expected.rc")"
        diff <(head -c 2000 "$work/$name.expected") <(head -c 2000 "$work/$name.out") | head -10 || true
        head -5 "$work/$name.err"
      fi
    done
  done
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
