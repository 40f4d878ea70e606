#!/usr/bin/env bash
# The services at scale (docs/benchmarks.md), release builds, each figure measured side by
# side in one run (medians of 5):
# - the relayer's queue: a store filled with USD1_QUEUE_RECORDS (default 100,000) active
#   records, none due; what a tick read before the `due` index (every active record) against
#   what it reads now, the queue-depth count, and the resident memory;
# - the attester's backfill signing: 5,090 hashes signed one by one against signed ahead on
#   every core.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh" >/dev/null
cd "$repo"
measure() {
  cargo test --release -p "$1" --bin "$1" --quiet -- --ignored --nocapture --exact "$2" 2>&1 |
    grep -vE "^(running|test result|$)"
}
echo "== relayer queue"
USD1_QUEUE_RECORDS="${USD1_QUEUE_RECORDS:-100000}" measure usd1-relayer store::due_tests::queue_scale_figures
echo "== attester backfill signing"
measure usd1-attester signer::backfill_signing_figures
