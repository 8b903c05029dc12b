#!/usr/bin/env bash
# The corpus built with `kafu cc --policy always` (a point per function),
# under kafu run --chaos seed 7 (KAFU_CHAOS_SEEDS_ALWAYS) migrating at about
# one point in 50: byte-identical to native. See chaos.sh.
POLICIES=always exec bash "$(dirname "$0")/chaos.sh"
