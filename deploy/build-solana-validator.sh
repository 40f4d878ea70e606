#!/usr/bin/env bash
# Builds Agave's test validator (tools/solana-validator) into a persistent target dir: a cold
# build is ~25 minutes on 2 cores, later ones are incremental (seconds). Needs libclang-dev
# (RocksDB's bindings), installed here when missing and possible.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
if ! ls /usr/lib/llvm-*/lib/libclang*.so >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "build-solana-validator: installing libclang-dev" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libclang-dev >/dev/null
  else
    echo "build-solana-validator: libclang-dev is missing: run 'sudo apt-get install libclang-dev'" >&2
    exit 1
  fi
fi
start=$(date +%s)
# The dependencies (registry crates) are shared by every checkout; our one small crate is
# always rebuilt, since another checkout may have left its own build of it here.
(cd "$repo/tools/solana-validator" \
  && CARGO_TARGET_DIR="$SOLANA_VALIDATOR_TARGET" cargo clean --release --quiet -p usd1-solana-validator \
  && CARGO_TARGET_DIR="$SOLANA_VALIDATOR_TARGET" cargo build --release --locked --quiet)
echo "build-solana-validator: $USD1_SOLANA_VALIDATOR ready ($(( $(date +%s) - start ))s)" >&2
