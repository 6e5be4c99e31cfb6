#!/usr/bin/env bash
# Runs the fuzz targets for a bounded time each, from the seed corpus.
#
#   fuzz/run.sh quick              # 20 s per target (what CI could run)
#   fuzz/run.sh long [SECONDS]     # SECONDS per target (default 300)
#   fuzz/run.sh TARGET SECONDS     # one target
#
# cargo-fuzz needs nightly-only rustc flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain
# accept them. `--sanitizer none`: paysandbox has no unsafe code, so AddressSanitizer would
# only halve the speed; `--debug-assertions` keeps integer-overflow checks on. Exits
# non-zero on the first crash; the input is in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTC_BOOTSTRAP=1
TARGETS=(http_pipeline scenario_file spec_loader)
FLAGS=(--sanitizer none --debug-assertions)

case "${1:-quick}" in
  quick) secs=20; targets=("${TARGETS[@]}") ;;
  long) secs="${2:-300}"; targets=("${TARGETS[@]}") ;;
  *) targets=("$1"); secs="${2:-60}" ;;
esac

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --version 0.13.2
fuzz/seed-corpus.sh
cargo fuzz build "${FLAGS[@]}"
mkdir -p fuzz/target/logs
for t in "${targets[@]}"; do
  log="fuzz/target/logs/$t.log"
  echo "== $t: ${secs}s"
  status=0
  cargo fuzz run "$t" "${FLAGS[@]}" -- -max_total_time="$secs" -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E '^(Done|stat::number_of_executed_units)' "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -40 "$log"
    echo "== $t: CRASH (see $log and fuzz/artifacts/$t/)"
    exit "$status"
  fi
done
