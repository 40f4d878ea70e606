#!/usr/bin/env bash
# Scripted end-to-end measurements (recorded in docs/benchmarks.md): the devnet demo's
# transfer times each way, and the 50-transfer batch with a relayer SIGKILL.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$repo"
cargo build --bins --quiet
echo "== demo transfers (1 s blocks, 2 confirmations, 3 attesters, threshold 2)"
"$USD1_BIN_DIR/usd1-devnet" --exit-after-demo --work-dir "$CARGO_TARGET_DIR/devnet-bench" --base-port 28545 | grep -E "demo end-to-end|supply"
echo "== batch of 50 with a relayer SIGKILL"
cargo test -p usd1-e2e --test relayer_crash --quiet -- --nocapture 2>&1 | grep -E "SIGKILL|batch of"
