#!/usr/bin/env bash
# The corpus built with `kafu cc --policy kafu` (points at annotated
# functions), under kafu run --chaos with seeds 1 2 3 (KAFU_CHAOS_SEEDS):
# byte-identical to native. See chaos.sh.
POLICIES=kafu exec bash "$(dirname "$0")/chaos.sh"
