#!/usr/bin/env bash
# Profiles paysandbox under one benchmark workload and writes a flame graph.
#
#   bench/profile.sh                      # workload (a), 64 connections, 8 s
#   bench/profile.sh --workload b --connections 16 --seconds 5
#   bench/profile.sh --workload d         # list 50 cards (saved first)
#
# Output: bench/.tools/profile/<workload>-c<N>.svg (flame graph, open in a browser),
# .../<workload>-c<N>.txt (the top symbols, self time) and the raw perf.data.
#
# Needs perf (Debian package linux-perf; installed when run as root) and wrk; installs
# inferno (cargo install, pinned) for the flame graph. Builds a release binary with line
# tables into target/profiling, so inlined frames keep their names and the benchmark's own
# binary is left alone. Uses cpu-clock sampling: virtual machines often have no hardware
# counters.
set -euo pipefail
cd "$(dirname "$0")/.."
workload=a connections=64 seconds=8
while [ $# -gt 0 ]; do
  case "$1" in
    --workload) workload="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    -h|--help) sed -n 2,15p "$0"; exit 0 ;;
    *) echo "profile: unknown option $1" >&2; exit 2 ;;
  esac
done
case "$workload" in
  a) script=eximpe_save.lua; args=(prof valid) ;;
  b) script=eximpe_save.lua; args=(prof invalid) ;;
  c) script=mercadopago_save.lua; args=() ;;
  d) script=eximpe_list.lua; args=(PROFILE_LIST_50) ;;
  *) echo "profile: workload is one of a, b, c, d" >&2; exit 2 ;;
esac

. bench/lib.sh
ensure_commands profile perf=linux-perf wrk=wrk || exit 1
need() { command -v "$1" >/dev/null 2>&1; }
if ! need inferno-flamegraph; then
  cargo install inferno --locked --version 0.12.3
fi

out=bench/.tools/profile
mkdir -p "$out"
CARGO_TARGET_DIR=target/profiling CARGO_PROFILE_RELEASE_DEBUG=line-tables-only \
  cargo build --release --quiet --bin paysandbox
binary=target/profiling/release/paysandbox

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# The request log at info, as users run it, but to /dev/null: a file would fill the disk.
PAYSANDBOX_LOG=info "$binary" --port "$port" 2>/dev/null &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 200); do
  curl -s -o /dev/null "http://127.0.0.1:$port/__sandbox/health" && break
  sleep 0.01
done

if [ "$workload" = d ]; then
  # 50 distinct Luhn-valid cards for the listed identifier, as the benchmark saves them.
  python3 - "$port" <<'EOF'
import json, sys, urllib.request
port = sys.argv[1]
def complete(partial):
    total = 0
    for i, ch in enumerate(reversed(partial)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return partial + str((10 - total % 10) % 10)
for n in range(50):
    body = {"identifier": "PROFILE_LIST_50", "card_number": complete("550690048%06d" % n),
            "cardholder_name": "Priya Sharma", "expiry_month": 5, "expiry_year": 2030,
            "network": "mastercard", "card_type": "credit_card"}
    urllib.request.urlopen(urllib.request.Request(
        f"http://127.0.0.1:{port}/pg/tokens/", data=json.dumps(body).encode(),
        headers={"X-Client-ID": "bench-list-client", "X-Client-Secret": "bench-secret",
                 "X-API-Version": "1.0.0", "Content-Type": "application/json"})).read()
EOF
fi

threads=$([ "$connections" -gt 1 ] && echo 2 || echo 1)
run_wrk() {
  BENCH_LUA_DIR=bench/lua wrk -t"$threads" -c"$connections" -d"$1" \
    -s "bench/lua/$script" "http://127.0.0.1:$port" -- "${args[@]}" >/dev/null
}
run_wrk 2s   # warm-up
name="$workload-c$connections"
rm -f "$out/$name.perf.data" "$out/$name.perf.data.old"
perf record -F 999 --call-graph dwarf,16384 -p "$server" -o "$out/$name.perf.data" \
  -- sleep "$seconds" 2>/dev/null &
recorder=$!
run_wrk "${seconds}s"
wait "$recorder"

perf report -i "$out/$name.perf.data" --no-children --sort symbol --stdio --no-call-graph \
  2>/dev/null | grep -v '^#' | grep '%' | awk 'NR <= 40' >"$out/$name.txt"
perf script -i "$out/$name.perf.data" 2>/dev/null | inferno-collapse-perf \
  | inferno-flamegraph --title "paysandbox, workload ($workload), $connections connections" \
  >"$out/$name.svg"
echo "profile: $out/$name.svg (flame graph), $out/$name.txt (top symbols)"
