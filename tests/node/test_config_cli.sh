#!/usr/bin/env bash
# kafu.yaml mistakes reach the user as one line naming file, line and key,
# with exit status 2 (bad input), from every command that reads the config;
# app.url (valid for the public Kafu, unsupported here) exits 1.
set -u
KAFU=${KAFU:-../build/bin/kafu}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

check() { # name expected_status expected_stderr command...
  local name=$1 want_status=$2 want_err=$3
  shift 3
  "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
  local status=$?
  local lines
  lines=$(wc -l <"$tmp/err")
  if [ "$status" -ne "$want_status" ] || [ "$lines" -ne 1 ] || ! grep -qF -- "$want_err" "$tmp/err"; then
    echo "FAIL $name: status $status (want $want_status), stderr:"
    sed 's/^/  | /' "$tmp/err"
    echo "  want one line containing: $want_err"
    fails=$((fails + 1))
  else
    echo "ok   $name"
  fi
}

cat >"$tmp/bad-port.yaml" <<'YAML'
name: t
app:
  path: a.wasm
nodes:
  n1:
    address: 127.0.0.1
    port: 0
YAML
cat >"$tmp/typo.yaml" <<'YAML'
name: t
app:
  path: a.wasm
nodes:
  n1:
    address: 127.0.0.1
    port: 7001
cluster:
  heartbeat:
    interval: 100
YAML
cat >"$tmp/url.yaml" <<'YAML'
name: kafu-basic-example
app:
  url: https://example.com/path/to/main.wasm
  args: []
  preopened_dir: .
nodes:
  cloud1:
    address: kafu-server-cloud1
    port: 50051
    placement: group1
YAML

for cmd in serve offload; do
  check "$cmd bad port" 2 "bad-port.yaml:7: 0 out of range (1..65535) (key 'nodes.n1.port')" \
    "$KAFU" "$cmd" --config "$tmp/bad-port.yaml" --node n1
  check "$cmd unknown key" 2 "typo.yaml:10: unknown key (key 'cluster.heartbeat.interval')" \
    "$KAFU" "$cmd" --config "$tmp/typo.yaml" --node n1
  check "$cmd app.url" 1 "url.yaml:3: downloading the program is not supported" \
    "$KAFU" "$cmd" --config "$tmp/url.yaml" --node cloud1
  check "$cmd missing file" 2 "no-such.yaml" "$KAFU" "$cmd" --config "$tmp/no-such.yaml" --node n1
done
check "run bad port" 2 "bad-port.yaml:7: 0 out of range (1..65535) (key 'nodes.n1.port')" \
  "$KAFU" run "$tmp/bad-port.yaml"
check "run unknown key" 2 "typo.yaml:10: unknown key (key 'cluster.heartbeat.interval')" "$KAFU" run "$tmp/typo.yaml"

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
