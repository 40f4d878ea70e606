#!/usr/bin/env bash
# The README's second command (and CI's): formatting and lints, the contracts (artifacts match
# a fresh compile; forge unit, fuzz and invariant tests, gas against .gas-snapshot), the devnet
# demo, the benchmarks' smoke profile, the chaos soak's short profile, then every Rust test: unit tests (the fuzz corpus replayed among them) and
# the end-to-end tests against real anvil nodes and the real binaries.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$repo"
# A CI clone builds once: rustc's incremental caches would only take disk (~2-3x the target).
if [ "${CI:-}" = true ]; then export CARGO_INCREMENTAL=0; fi
step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "contracts: committed artifacts match a fresh compile; forge tests"
chain-adapters/evm/contracts/build.sh --test

step "build the binaries the end-to-end tests run"
cargo build --bins --quiet
deploy/build-solana-validator.sh

step "devnet demo (usd1-devnet --exit-after-demo)"
"$USD1_BIN_DIR/usd1-devnet" --exit-after-demo --work-dir "$CARGO_TARGET_DIR/devnet-smoke" --base-port 18545

step "benchmarks, smoke profile (deploy/bench.sh --smoke: every part still runs; figures meaningless)"
deploy/bench.sh --smoke

step "chaos soak, short profile (deploy/chaos.sh: kills, RPC faults, reorgs; checked from the chains)"
deploy/chaos.sh --profile short

step "Rust unit and end-to-end tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi
