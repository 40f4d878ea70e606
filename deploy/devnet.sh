#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, starts two anvil chains,
# deploys the bridge, runs 3 attesters (threshold 2) and a relayer, demos a transfer each way,
# and keeps running until Ctrl-C. `--exit-after-demo` exits 0 once the demo succeeded.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$repo"
cargo build --bins --quiet
exec "$USD1_BIN_DIR/usd1-devnet" --work-dir "$repo/.devnet" "$@"
