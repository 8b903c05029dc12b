#!/bin/bash
# kafu snapify / kafu inspect from the command line: options anywhere, valid
# and deterministic output, inspect text and JSON, and one-line errors with
# exit status 2 for bad input.
set -u
: "${KAFU:?KAFU must point to the kafu binary}"
SRC=${KAFU_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
T=$(mktemp -d /tmp/kafu-snapify-cli-XXXXXX)
trap 'rm -rf "$T"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

build() { # build NAME: tests/snapify/progs/NAME.c -> $T/NAME.wasm with names kept
  clang --target=wasm32-wasi --sysroot=/usr -O2 -c "$SRC/tests/snapify/progs/$1.c" -o "$T/$1.o" &&
    clang --target=wasm32-wasi --sysroot=/usr "$T/$1.o" -o "$T/$1.wasm" || { echo "cannot build $1"; exit 1; }
}
build leafloop
build dests

# expect_error STATUS PATTERN CMD...: exit status, empty stdout, one stderr line matching PATTERN
expect_error() {
  local want=$1 pattern=$2
  shift 2
  "$@" >"$T/out" 2>"$T/err"
  local got=$?
  [ "$got" = "$want" ] || fail "$* exited $got, want $want ($(cat "$T/err"))"
  [ -s "$T/out" ] && fail "$* wrote to stdout: $(head -c 200 "$T/out")"
  [ "$(wc -l <"$T/err")" = 1 ] || fail "$* stderr is not one line: $(cat "$T/err")"
  grep -q -- "$pattern" "$T/err" || fail "$* stderr lacks '$pattern': $(cat "$T/err")"
}

# --help
$KAFU snapify --help >"$T/help" || fail "snapify --help failed"
grep -q "usage: kafu snapify" "$T/help" || fail "snapify --help has no usage line"
$KAFU inspect --help | grep -q "usage: kafu inspect" || fail "inspect --help has no usage line"

# options anywhere, same bytes every time
$KAFU snapify --dest leaf=edge1 "$T/leafloop.wasm" -o "$T/a.wasm" || fail "snapify (options first) failed"
$KAFU snapify "$T/leafloop.wasm" -o "$T/b.wasm" --dest=leaf=edge1 || fail "snapify (options last) failed"
cmp -s "$T/a.wasm" "$T/b.wasm" || fail "outputs differ between runs"
wasm-validate "$T/a.wasm" || fail "wasm-validate rejects the output"

$KAFU snapify "$T/dests.wasm" -o "$T/d.wasm" --dest nested_dest=edge1 --dest leaf_edge=edge2 \
  --dest fib_dest=edge1 --dest ptr_dest=edge2 --offload offload_work=cloud1 --state-size 131072 ||
  fail "snapify dests failed"
wasm-validate "$T/d.wasm" || fail "wasm-validate rejects the dests output"
$KAFU snapify "$T/dests.wasm" -o "$T/always.wasm" --policy always || fail "snapify --policy always failed"
wasm-validate "$T/always.wasm" || fail "wasm-validate rejects the --policy always output"

# inspect: text
$KAFU inspect "$T/a.wasm" >"$T/inspect.txt" || fail "inspect failed"
grep -q "dest .*leaf .*-> edge1" "$T/inspect.txt" || fail "inspect text lacks the leaf site"
grep -q "^instrumented: 4 of " "$T/inspect.txt" || fail "inspect text: $(grep instrumented "$T/inspect.txt")"
grep -q "^code size: " "$T/inspect.txt" || fail "inspect text lacks the code size"

# inspect: JSON (docs/inspect-json.md)
$KAFU inspect --json "$T/d.wasm" >"$T/d.json" || fail "inspect --json failed"
python3 - "$T/d.json" <<'PY' || fail "inspect --json content"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["format"] == 1 and j["kafu_section"] and j["snapified"], j
assert j["policy"] == "kafu"
assert [(s["kind"], s["func"], s["node"]) for s in j["sites"]] == [
    ("dest", "nested_dest", "edge1"), ("dest", "leaf_edge", "edge2"), ("dest", "fib_dest", "edge1"),
    ("dest", "ptr_dest", "edge2"), ("offload", "offload_work", "cloud1")], j["sites"]
assert [s["id"] for s in j["sites"]] == [0, 1, 2, 3, 4]
assert j["nodes"] == ["edge1", "edge2", "cloud1"], j["nodes"]
assert j["state_region"] == {"base": 0, "size": 131072, "host_allocated": True, "globals": 1}
f = j["functions"]
assert f["instrumented"] == len(f["instrumented_names"]) == 13, f
assert "printf" not in f["instrumented_names"] and "other_op" not in f["instrumented_names"]
assert "helper_sum" not in f["instrumented_names"], f  # call-free, counted loop: no poll
c = j["code_size"]
assert c["before"] > 0 and c["after"] > c["before"] and abs(c["ratio"] - c["after"] / c["before"]) < 1e-4
PY
$KAFU inspect --json "$T/leafloop.wasm" | python3 -c 'import json,sys; j=json.load(sys.stdin); assert j == {"format": 1, "file": sys.argv[1], "kafu_section": False}, j' "$T/leafloop.wasm" ||
  fail "inspect --json of a plain module"

# bad input: one line, exit 2
head -c 300 "$T/leafloop.wasm" >"$T/trunc.wasm"
echo 'int main(void) { return 0; }' >"$T/notwasm.wasm"
expect_error 2 "trunc.wasm: section .* truncated" $KAFU snapify "$T/trunc.wasm" -o "$T/x.wasm"
expect_error 2 "notwasm.wasm: not a wasm module" $KAFU snapify "$T/notwasm.wasm" -o "$T/x.wasm"
expect_error 2 "unknown option '--frobnicate'" $KAFU snapify "$T/leafloop.wasm" -o "$T/x.wasm" --frobnicate
expect_error 2 "annotated function 'no_such_fn' not found in module" \
  $KAFU snapify "$T/leafloop.wasm" -o "$T/x.wasm" --dest no_such_fn=edge1
expect_error 2 "missing -o" $KAFU snapify "$T/leafloop.wasm"
expect_error 2 "expects FN=NODE" $KAFU snapify "$T/leafloop.wasm" -o "$T/x.wasm" --offload leaf
expect_error 2 "unknown policy 'sometimes'" $KAFU snapify "$T/leafloop.wasm" -o "$T/x.wasm" --policy sometimes
expect_error 2 "state-size" $KAFU snapify "$T/leafloop.wasm" -o "$T/x.wasm" --state-size lots
expect_error 2 "nope.wasm" $KAFU snapify "$T/nope.wasm" -o "$T/x.wasm"
expect_error 2 "already snapified" $KAFU snapify "$T/a.wasm" -o "$T/x.wasm"
# sections well formed, first function body garbage: Binaryen's reader fails in the
# child process and its multi-line complaint becomes one line
wat2wasm --debug-names "$SRC/tests/snapify/wat/no_start.wat" -o "$T/nostart.wasm" || fail "wat2wasm"
python3 - "$T/nostart.wasm" "$T/badcode.wasm" <<'PY'
import sys
d = bytearray(open(sys.argv[1], 'rb').read())
p = 8
while p < len(d):
    sid, size = d[p], d[p + 1]  # the fixture's sections are all < 128 bytes
    if sid == 10:
        d[p + 4], d[p + 5] = 0x7f, 0x05
        break
    p += 2 + size
open(sys.argv[2], 'wb').write(d)
PY
expect_error 2 "badcode.wasm: binaryen rejected the module: parse exception" \
  $KAFU snapify "$T/badcode.wasm" -o "$T/x.wasm"
expect_error 2 "not a WASI command module" $KAFU snapify "$T/nostart.wasm" -o "$T/x.wasm"
expect_error 2 "trunc.wasm: section" $KAFU inspect "$T/trunc.wasm"
expect_error 2 "unknown option" $KAFU inspect "$T/a.wasm" --yaml
[ -e "$T/x.wasm" ] && fail "a failed snapify left an output file"

if [ "$failures" != 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "ok"
