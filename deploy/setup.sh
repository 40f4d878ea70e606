#!/usr/bin/env bash
# Sourced by devnet.sh and test.sh: installs what the repo needs on a fresh machine, into the
# repo (npm packages: anvil, forge, solc-js, OpenZeppelin, playwright-core — pinned in
# package-lock.json; Debian's prometheus and chromium when root) and
# points cargo at a persistent target dir so later runs on the same machine are incremental.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# One persistent target dir per checkout path: cargo identifies a workspace's own crates by
# their path relative to the workspace root, so two checkouts sharing a target dir would reuse
# each other's artifacts (a build could compile against the other checkout's sources).
checkout_key="$(printf '%s' "$repo" | sha256sum | cut -c1-12)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/usd1-bridge/target-$checkout_key}"
export USD1_BIN_DIR="${USD1_BIN_DIR:-$CARGO_TARGET_DIR/debug}"
# Agave's test validator has its own workspace and target dir (deploy/build-solana-validator.sh).
export SOLANA_VALIDATOR_TARGET="${SOLANA_VALIDATOR_TARGET:-$HOME/.cache/usd1-bridge/validator-target}"
export USD1_SOLANA_VALIDATOR="${USD1_SOLANA_VALIDATOR:-$SOLANA_VALIDATOR_TARGET/release/usd1-solana-validator}"
mkdir -p "$CARGO_TARGET_DIR"

need() { command -v "$1" >/dev/null 2>&1 || { echo "setup: '$1' is required but not installed ($2)" >&2; exit 1; }; }
need cargo "install Rust with rustup"
need node "install Node.js 18+ (e.g. apt-get install nodejs npm)"
need npm "install npm"

# Prometheus + promtool (Debian package): the devnet's Prometheus and the alert-rule tests.
if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian's prometheus (prometheus, promtool)" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  else
    echo "setup: prometheus is not installed and this user cannot apt-get it: run 'sudo apt-get install prometheus'" >&2
  fi
fi

# Chromium (Debian package): the explorer's browser tests drive it with playwright-core
# (tests/browser/), which never downloads a browser of its own.
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian's chromium (the explorer's browser tests)" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
  else
    echo "setup: chromium is not installed and this user cannot apt-get it: run 'sudo apt-get install chromium'" >&2
  fi
fi

# npm ci only when the lockfile changed since the last install.
stamp="$repo/node_modules/.usd1-lock-sha"
want="$(sha256sum "$repo/package-lock.json" | cut -d' ' -f1)"
if [ ! -x "$repo/node_modules/.bin/anvil" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing pinned npm tools (anvil, forge, solc-js, OpenZeppelin, playwright-core) into node_modules/" >&2
  (cd "$repo" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" > "$stamp"
fi
export PATH="$repo/node_modules/.bin:$PATH"
