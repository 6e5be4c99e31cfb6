#!/usr/bin/env bash
# Soak: a bounded run at steady load with the journal on. Memory must stay flat (the journal
# and idempotency records are bounded; the workload's stored data does not grow) and no answer
# may be one the workload did not ask for.
#
#   bench/soak.sh                       # 10 minutes against a release build
#   bench/soak.sh --seconds 30 --binary target/debug/paysandbox   # the quick version (CI)
#
# Prints RSS samples and a verdict; exits non-zero when RSS grows by more than the allowance
# (10% and at least 8 MiB over the first sample after warm-up) or any answer was unexpected.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=600
connections=16
binary=""
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --minutes) seconds=$(( $2 * 60 )); shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

. bench/lib.sh
ensure_commands soak wrk=wrk || exit 2
if [ -z "$binary" ]; then
  cargo build -q --release --bin paysandbox
  binary=target/release/paysandbox
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PAYSANDBOX_LOG=warn "$binary" --port "$port" --journal-size 1000 > target/soak-server.log 2>&1 &
server=$!
sampler=""
trap 'kill "$server" 2>/dev/null || true; [ -n "$sampler" ] && kill "$sampler" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$port/__sandbox/health" > /dev/null 2>&1 && break
  sleep 0.1
done

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$server/status"; }
interval=$(( seconds >= 120 ? 10 : 2 ))
samples=target/soak-rss.txt
: > "$samples"
( while kill -0 "$server" 2>/dev/null; do echo "$(date +%s) $(rss_kib)" >> "$samples"; sleep "$interval"; done ) &
sampler=$!

echo "soak: ${seconds}s, $connections connections, journal on (1000 entries), binary $binary"
out=$(BENCH_LUA_DIR=bench/lua wrk -t2 -c"$connections" -d"${seconds}s" --latency \
  -s bench/lua/soak.lua "http://127.0.0.1:$port")
report=$(echo "$out" | sed -n 's/^BENCH //p')
kill "$sampler" 2>/dev/null || true
sampler=""

python3 - "$samples" "$report" "$seconds" <<'PY'
import json, sys
samples = [tuple(map(int, l.split())) for l in open(sys.argv[1]) if len(l.split()) == 2]
report = json.loads(sys.argv[2])
seconds = int(sys.argv[3])
t0 = samples[0][0]
warm = [s for s in samples if s[0] - t0 >= max(2, seconds // 10)] or samples
base, last, peak = warm[0][1], samples[-1][1], max(s[1] for s in samples)
allowance = max(base * 0.10, 8 * 1024)
rps = report["requests"] / (report["duration_us"] / 1e6)
print("| time (s) | RSS (MiB) |")
print("|---:|---:|")
step = max(1, len(samples) // 12)
for t, kib in samples[::step] + ([samples[-1]] if (len(samples) - 1) % step else []):
    print(f"| {t - t0} | {kib / 1024:.1f} |")
print()
print(f"requests {report['requests']} ({rps:.0f}/s), p99 {report['p99_us'] / 1000:.2f} ms; "
      f"saved {report['saved']}, deleted {report['deleted']}, refused (400, asked for) {report['refused']}, "
      f"listed (404, asked for) {report['listed']}, unexpected {report['unexpected']}, "
      f"socket errors {report['connect'] + report['read'] + report['write'] + report['timeout']}")
print(f"RSS after warm-up {base / 1024:.1f} MiB, at the end {last / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB "
      f"(allowance +{allowance / 1024:.1f} MiB)")
ok = last - base <= allowance and report["unexpected"] == 0 and report["timeout"] == 0
print("soak: " + ("PASS" if ok else "FAIL"))
sys.exit(0 if ok else 1)
PY
