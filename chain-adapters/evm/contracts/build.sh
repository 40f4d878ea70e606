#!/usr/bin/env bash
# Compiles the contracts with forge + solc-js and refreshes ../artifacts (the Rust bindings'
# input). `build.sh --check` only verifies the committed artifacts match (CI), `build.sh --test`
# also runs the forge tests through `forge snapshot --check`: a test failing or any test's gas
# differing from the committed .gas-snapshot fails it (refresh on purpose with
# `forge snapshot --use ./tools/solc`; test/Gas.t.sol prints the total transaction gas).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
forge="$repo/node_modules/.bin/forge"
[ -x "$forge" ] || { echo "forge missing: run 'npm ci' in $repo (deploy/setup.sh does)" >&2; exit 1; }
cd "$here"
"$forge" build --use ./tools/solc --quiet
case "${1:-}" in
  --check) node tools/export-artifacts.cjs --check ;;
  --test) node tools/export-artifacts.cjs --check && "$forge" snapshot --check --use ./tools/solc ;;
  *) node tools/export-artifacts.cjs ;;
esac
