#!/usr/bin/env bash
# Instructions per request, counted by valgrind (callgrind): a figure that does not move with
# whatever else the machine runs. On the shared 2-core development VM, CPU-time figures swing
# ±15% from run to run, which hides any change smaller than that; instruction counts repeat
# to within a fraction of a percent, so small steps can be judged one at a time.
#
#   bench/instructions.sh                         # workload (a), the release build
#   bench/instructions.sh --workload b            # the invalid-body (400) path
#   bench/instructions.sh --binary /tmp/old/paysandbox --binary target/release/paysandbox
#
# Counts only what runs inside paysandbox's request pipeline (`App::serve`: routing,
# validation, the handler, the journal, the log line, serialising the answer), not hyper,
# tokio or the kernel. It sends N and 3N requests over one keep-alive connection and reports
# the difference divided by 2N, so start-up and first-use work (compiled schemas, the
# journal's first buffers) cancel out. Under valgrind, SHA-256 runs without the CPU's SHA
# instructions, so the card fingerprint weighs more here than on the real CPU.
#
# Needs valgrind (Debian package; installed when run as root) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."

workload=a
requests=1000
binaries=()
while [ $# -gt 0 ]; do
  case "$1" in
    --workload) workload=$2; shift 2 ;;
    --requests) requests=$2; shift 2 ;;
    --binary) binaries+=("$2"); shift 2 ;;
    -h|--help) sed -n 2,18p "$0"; exit 0 ;;
    *) echo "instructions: unknown option $1" >&2; exit 2 ;;
  esac
done
case "$workload" in
  a) mode=valid ;;
  b) mode=invalid ;;
  *) echo "instructions: workload is a or b" >&2; exit 2 ;;
esac
. bench/lib.sh
ensure_commands instructions valgrind=valgrind || exit 2
if [ ${#binaries[@]} -eq 0 ]; then
  cargo build -q --release --bin paysandbox
  binaries=(target/release/paysandbox)
fi

work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2> /dev/null || true; wait "$server" 2> /dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Total instructions inside App::serve for COUNT requests against a fresh server.
count() {
  local binary=$1 count=$2 port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  PAYSANDBOX_LOG=info valgrind --tool=callgrind --callgrind-out-file="$work/out" \
    --collect-atstart=no --toggle-collect='*App*serve*' \
    "$binary" --port "$port" > /dev/null 2> "$work/valgrind.log" &
  server=$!
  python3 bench/save_client.py --port "$port" --requests "$count" --mode "$mode" --wait 60
  kill -INT "$server"
  wait "$server" 2> /dev/null || true
  server=""
  awk '/^summary:/ {print $2}' "$work/out"
}

echo "| binary | workload | instructions per request |"
echo "|---|---|---:|"
for binary in "${binaries[@]}"; do
  small=$(count "$binary" "$requests")
  large=$(count "$binary" $((requests * 3)))
  echo "| $binary | $workload | $(( (large - small) / (requests * 2) )) |"
done
