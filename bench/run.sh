#!/usr/bin/env bash
# paysandbox against Prism, WireMock and a bare hyper floor, on this machine, in one run.
#
#   bench/run.sh            # full run: 10 s per point, 1 000 000 cards over 10 000 tenants
#   bench/run.sh --quick    # smoke run: 2 s per point, 20 000 cards over 200 tenants
#   bench/run.sh --help     # every option (duration, concurrency, contestants, preload size,
#                           # paired CPU runs)
#
# Installs what it needs: wrk (Debian package), Prism and WireMock (npm, into bench/.tools,
# gitignored), and builds paysandbox and the floor server in release mode. Every server is
# started and stopped by bench/bench.py, by the process groups it created.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=bench/.tools
PRISM_VERSION=5.16.0
WIREMOCK_VERSION=3.13.2

need() { command -v "$1" >/dev/null 2>&1; }

. bench/lib.sh
ensure_commands bench wrk=wrk || exit 1
for tool in node npm java python3 cargo; do
  need "$tool" || { echo "bench: $tool is missing" >&2; exit 1; }
done

mkdir -p "$TOOLS"
if [ ! -x "$TOOLS/node_modules/.bin/prism" ] || \
   ! ls "$TOOLS"/node_modules/wiremock/build/wiremock-standalone-*.jar >/dev/null 2>&1; then
  echo "bench: installing Prism $PRISM_VERSION and WireMock $WIREMOCK_VERSION into $TOOLS" >&2
  npm install --silent --no-audit --no-fund --prefix "$TOOLS" \
    "@stoplight/prism-cli@$PRISM_VERSION" "wiremock@$WIREMOCK_VERSION" >/dev/null
fi

echo "bench: building paysandbox and the floor server (release)" >&2
# Two invocations: built together, the example's dev-dependencies would unify features into
# the paysandbox binary, which then would not be the binary users build.
cargo build --release --quiet --bin paysandbox
cargo build --release --quiet --example bench_floor

exec python3 bench/bench.py "$@"
