#!/usr/bin/env bash
# The relayer's queue at scale (docs/benchmarks.md, "Relayer queue at 100k"): a store filled
# with USD1_QUEUE_RECORDS (default 100,000) active records, none due; what a tick read before
# the `due` index (every active record) against what it reads now, measured side by side in
# one run (medians of 5), with the queue-depth count and the resident memory. Release build.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh" >/dev/null
cd "$repo"
USD1_QUEUE_RECORDS="${USD1_QUEUE_RECORDS:-100000}" \
  cargo test --release -p usd1-relayer --bin usd1-relayer --quiet -- \
  --ignored --nocapture --exact store::due_tests::queue_scale_figures 2>&1 |
  grep -vE "^(running|test result|$)"
