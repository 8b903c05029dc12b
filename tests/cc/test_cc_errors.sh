#!/bin/bash
# kafu cc refuses misused annotations: exit 2, exactly one line on stderr
# naming the source and the function, and no output file left behind.
set -u
KAFU=${KAFU:?KAFU must point to the kafu binary}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir tmp
export TMPDIR=$work/tmp # kafu cc's private temp dirs must all be removed
fails=0

# expect_error NAME 'pattern in the message' 'C text' [extra kafu cc args...]
expect_error() {
  local name=$1 pattern=$2 body=$3
  shift 3
  printf '#include "kafu.h"\n%s\nint main(void) { return 0; }\n' "$body" > "$name.c"
  rm -f "$name.wasm"
  "$KAFU" cc "$@" "$name.c" -o "$name.wasm" 2> "$name.err" > "$name.out"
  local rc=$?
  local lines
  lines=$(wc -l < "$name.err")
  if [ "$rc" != 2 ]; then
    echo "FAIL $name: exit $rc, want 2"; cat "$name.err"; fails=$((fails + 1)); return
  fi
  if [ "$lines" != 1 ]; then
    echo "FAIL $name: $lines lines on stderr, want 1"; cat "$name.err"; fails=$((fails + 1)); return
  fi
  if ! grep -q -- "$pattern" "$name.err"; then
    echo "FAIL $name: message lacks '$pattern':"; cat "$name.err"; fails=$((fails + 1)); return
  fi
  if ! grep -q "$name.c" "$name.err"; then
    echo "FAIL $name: message does not name $name.c:"; cat "$name.err"; fails=$((fails + 1)); return
  fi
  if [ -e "$name.wasm" ] || ls "$name".wasm.tmp.* > /dev/null 2>&1; then
    echo "FAIL $name: output file left behind"; fails=$((fails + 1)); return
  fi
  echo "ok   $name: $(cat "$name.err")"
}

expect_error variable "'counter'.*not a function definition" \
  'KAFU_DEST("edge1") int counter = 3;'
expect_error extern_variable "'counter'.*not a function definition" \
  'KAFU_MAY_OFFLOAD("cloud1") extern int counter;'
expect_error prototype "'detect'.*prototype" \
  'KAFU_DEST("edge1") int detect(int);'
expect_error prototype_called "'detect'.*prototype" \
  'KAFU_DEST("edge1") int detect(int); int use(void) { return detect(1); }'
expect_error empty_node "'f'.*empty node name" \
  'KAFU_DEST("") int f(int x) { return x; } int use(void) { return f(1); }'
expect_error empty_node_offload "'f'.*empty node name" \
  'KAFU_MAY_OFFLOAD("") int f(int x) { return x; } int use(void) { return f(1); }'
expect_error static_inline_unused "'helper'.*not in the linked module" \
  'KAFU_DEST("edge1") static inline int helper(int x) { return x; }'
expect_error uncalled "'lonely'.*not in the linked module" \
  'KAFU_DEST("edge1") int lonely(int x) { return x; }'
expect_error wrong_name "KAFU_DEST(g, \"edge1\") is written on function 'f'" \
  'KAFU_DEST(g, "edge1") int f(int x) { return x; } int use(void) { return f(1); }'
expect_error two_nodes "'f' has two KAFU_DEST" \
  'KAFU_DEST("edge1") KAFU_DEST("edge2") int f(int x) { return x; } int use(void) { return f(1); }'
# The same checks with -c: compile-time errors stop there too.
expect_error variable_c "'counter'.*not a function definition" \
  'KAFU_DEST("edge1") int counter = 3;' -c

# A clang error: clang's diagnostics and its exit status, no output.
printf 'int main(void) { return undeclared; }\n' > broken.c
"$KAFU" cc broken.c -o broken.wasm 2> broken.err
rc=$?
if [ "$rc" != 1 ] || ! grep -q "undeclared" broken.err || [ -e broken.wasm ]; then
  echo "FAIL clang_error: exit $rc"; cat broken.err; fails=$((fails + 1))
else
  echo "ok   clang_error: exit 1 with clang's diagnostics"
fi

# Usage errors are bad input too.
for args in "--policy sometimes x.c" "--state-size 1000 x.c" "--state-size 17 x.c" "x.txt" \
  "--target=x86_64 x.c" ""; do
  # shellcheck disable=SC2086
  "$KAFU" cc $args -o usage.wasm 2> usage.err
  rc=$?
  if [ "$rc" != 2 ] || [ "$(wc -l < usage.err)" != 1 ] || [ -e usage.wasm ]; then
    echo "FAIL usage '$args': exit $rc"; cat usage.err; fails=$((fails + 1))
  else
    echo "ok   usage '$args': $(cat usage.err)"
  fi
done

if [ -n "$(ls -A tmp)" ]; then
  echo "FAIL temp files left behind: $(ls -A tmp)"; fails=$((fails + 1))
fi
if [ "$fails" = 0 ]; then echo "all passed"; fi
exit $((fails > 0))
