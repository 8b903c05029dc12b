# Helpers shared by the differential tests: build a corpus program natively
# and with kafu cc, and compare runs. Sourced, not executed.
set -euo pipefail

: "${KAFU:?KAFU must point to the kafu binary}"
: "${KAFU_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
CORPUS="$KAFU_SRC/tests/programs"

# directive FILE NAME: the value of a "// NAME: value" line, or empty.
directive() { sed -n "s|^// $2: ||p" "$1" | head -n1; }
has_flag() { grep -q "^// $2\$" "$1"; }

# engines that this kafu was built with
available_engines() {
  local e out
  for e in ${KAFU_ENGINES:-aot interp}; do
    out=$("$KAFU" exec /dev/null --engine "$e" 2>&1 || true)
    case "$out" in *"not built"*) ;; *) echo "$e" ;; esac
  done
}

build_native() { # src out
  gcc -O2 -w -I"$KAFU_SRC/include" $(directive "$1" cflags) "$1" -o "$2" -lm
}

build_kafu() { # src out policy
  "$KAFU" cc -O2 -I"$KAFU_SRC/include" $(directive "$1" cflags) $(directive "$1" kafucc) \
    --policy "$3" "$1" -o "$2"
}
