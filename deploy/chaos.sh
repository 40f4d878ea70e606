#!/usr/bin/env bash
# The chaos soak (usd1-chaos): starts the devnet and, at the same time, sends transfers in
# every direction, SIGKILLs services, injects RPC faults through a proxy and reorgs chains;
# then checks from the chains that every burn was minted exactly once. Prints a table; exits
# non-zero on any violation. Options go to usd1-chaos (`--profile short|long`, `--seed N`,
# `--transfers N`, `--kills N`, `--fault-rate F`, `--reorgs N`, `--no-solana`,
# `--scenario finality-violation`); `--release` builds and runs release binaries (figures).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$repo"
args=()
profile=(--quiet)
for a in "$@"; do
  case "$a" in
    --release) profile=(--quiet --release); export USD1_BIN_DIR="$CARGO_TARGET_DIR/release" ;;
    *) args+=("$a") ;;
  esac
done
cargo build "${profile[@]}" --bins
case " ${args[*]:-} " in *" --no-solana "*) ;; *) deploy/build-solana-validator.sh ;; esac
exec "$USD1_BIN_DIR/usd1-chaos" --work-dir "$CARGO_TARGET_DIR/chaos" "${args[@]}"
