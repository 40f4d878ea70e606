#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, starts two anvil chains and
# Agave's test validator, deploys the bridge (contracts; the Solana mint under the attesters'
# 2-of-3 multisig), runs 3 attesters and a relayer, demos transfers ethereum ⇄ base and
# ethereum ⇄ solana, and keeps running until Ctrl-C. `--exit-after-demo` exits 0 once the demo
# succeeded; `--no-solana` leaves Solana out (and skips the validator's ~25-minute first build).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$repo"
cargo build --bins --quiet
case " $* " in *" --no-solana "*) ;; *) deploy/build-solana-validator.sh ;; esac
exec "$USD1_BIN_DIR/usd1-devnet" --work-dir "$repo/.devnet" "$@"
