#!/usr/bin/env bash
# Fuzzes the targets of fuzz-targets/ with cargo-fuzz (libFuzzer, nightly) for a number of
# executions each, one target at a time, and prints per target: executions, exec/s, wall
# time, corpus size, crashes. docs/reliability.md records the figures.
#
#   deploy/fuzz.sh                                   # every target, 10,000,000 executions
#   deploy/fuzz.sh -runs=100000 burn_memo            # some targets, fewer executions
#   deploy/fuzz.sh --cmin [target…]                  # minimise the working corpora into
#                                                    # fuzz/corpus/ (what CI replays)
#
# The working corpus (what fuzzing grows) is ~/.cache/usd1-bridge/fuzz-corpus/<target>,
# seeded from the committed fuzz/corpus/<target>; crashes are written to
# fuzz/artifacts/<target>/ (not committed: each becomes a unit test of the crate it is in).
# Builds go to ~/.cache/usd1-bridge/fuzz-target, apart from the stable workspace's target
# dir. Everything runs under `nice`: the fuzzer takes one core for as long as it runs.
#
# Environment: FUZZ_SANITIZER (none, the default: the code fuzzed is safe Rust and ASan
# halves the speed; `address` for a pass with it, in fuzz-target-address), FUZZ_NICE (10).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

all_targets=(message_decode burn_memo solana_burn cosign_request attestation_assembly config_parse)
runs=10000000
cmin=false
targets=()
for arg in "$@"; do
  case "$arg" in
    -runs=*) runs="${arg#-runs=}" ;;
    --cmin) cmin=true ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $arg" >&2; exit 2 ;;
    *) targets+=("$arg") ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
  [ -f "fuzz/fuzz_targets/$t.rs" ] || { echo "fuzz.sh: no target $t (fuzz/fuzz_targets/$t.rs)" >&2; exit 2; }
done

# libFuzzer needs a nightly compiler (-Zsanitizer, coverage instrumentation).
if ! cargo +nightly --version >/dev/null 2>&1; then
  cat >&2 <<'EOF'
fuzz.sh: no nightly toolchain (`cargo +nightly` fails), and cargo-fuzz needs one.
  Install it:          rustup toolchain install nightly
  Or fuzz on stable:   cargo install cargo-afl, then drive usd1_fuzz_targets::<target>(data)
                       from an afl::fuzz! binary (not wired up here).
  Either way, stable still replays the committed corpus: cargo test -p usd1-fuzz-targets
EOF
  exit 2
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz.sh: installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked
fi

sanitizer="${FUZZ_SANITIZER:-none}"
# One target dir per sanitizer: switching would otherwise rebuild every dependency.
export CARGO_TARGET_DIR="$HOME/.cache/usd1-bridge/fuzz-target"
[ "$sanitizer" = none ] || CARGO_TARGET_DIR+="-$sanitizer"
work="$HOME/.cache/usd1-bridge/fuzz-corpus"
niceness="${FUZZ_NICE:-10}"
# -O with overflow checks: an overflow is a crash rather than a silent wrap as in a release
# build, but without cargo-fuzz's default debug assertions, which switch k256 to a checked
# field implementation that makes signature recovery (attestation_assembly) several times
# slower.
export RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-Coverflow-checks"
fuzz=(nice -n "$niceness" cargo +nightly fuzz)
opts=(--fuzz-dir fuzz --sanitizer "$sanitizer" -O)

# Every target at once: they share all their dependencies, so one more costs a link.
"${fuzz[@]}" build "${opts[@]}" >&2

if $cmin; then
  for t in "${targets[@]}"; do
    mkdir -p "$work/$t"
    cp -n fuzz/corpus/"$t"/* "$work/$t/" 2>/dev/null || true
    "${fuzz[@]}" cmin "${opts[@]}" "$t" "$work/$t" >/dev/null 2>&1
    rm -rf "fuzz/corpus/$t" && mkdir -p "fuzz/corpus/$t"
    cp "$work/$t"/* "fuzz/corpus/$t/"
    echo "$t: $(ls "fuzz/corpus/$t" | wc -l) files, $(du -sk "fuzz/corpus/$t" | cut -f1) KiB in fuzz/corpus/$t"
  done
  exit 0
fi

printf '%-22s %12s %9s %10s %8s %8s\n' target executions exec/s wall corpus crashes
status=0
for t in "${targets[@]}"; do
  mkdir -p "$work/$t" "fuzz/artifacts/$t"
  log="$work/$t.log"
  before=$(ls "fuzz/artifacts/$t" | wc -l)
  start=$(date +%s)
  # The working corpus first (new inputs go there), the committed one as extra seeds.
  rc=0
  "${fuzz[@]}" run "${opts[@]}" "$t" "$work/$t" "fuzz/corpus/$t" -- \
    -runs="$runs" -print_final_stats=1 >"$log" 2>&1 || rc=$?
  wall=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  crashes=$(( $(ls "fuzz/artifacts/$t" | wc -l) - before ))
  printf '%-22s %12s %9s %9ss %8s %8s\n' "$t" "${execs:-?}" "${rate:-?}" "$wall" \
    "$(ls "$work/$t" | wc -l)" "$crashes"
  if [ "$rc" -ne 0 ]; then
    status=1
    echo "  $t stopped (exit $rc): see $log and fuzz/artifacts/$t/" >&2
    grep -m5 -E 'panicked|ERROR: libFuzzer|SUMMARY' "$log" | sed 's/^/  /' >&2 || true
  fi
done
echo "toolchain: $(rustc +nightly --version); sanitizer: $sanitizer; $(date -u +%F)"
exit "$status"
