#!/usr/bin/env bash
# The supply audit with and without its index (recorded in docs/benchmarks.md): a fresh
# devnet (two anvil chains on loopback), 10,000 burns of history ethereum → base all delivered,
# `usd1 audit` cold (builds the index), then 10 new burns (left in flight) and the incremental
# audit against the old full rescan (`usd1 audit --no-index`), alternately, 3 runs each.
# The timed `usd1` is a release build; the devnet's services (stopped before anything is
# timed) are debug builds. Bounded: the run gives up after 10 minutes.
#
#   deploy/bench-audit.sh [--burns N] [--new N] [--runs N]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$repo"
cargo build --release --quiet -p usd1-cli --bin usd1 -p usd1-deploy --bin usd1-bench-audit
cargo build --quiet -p usd1-attester -p usd1-relayer --bins
export USD1_BIN_DIR="$CARGO_TARGET_DIR/debug"
timeout 600 "$CARGO_TARGET_DIR/release/usd1-bench-audit" \
  --usd1 "$CARGO_TARGET_DIR/release/usd1" \
  --work-dir "$CARGO_TARGET_DIR/bench-audit" "$@"
