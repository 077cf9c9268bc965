#!/usr/bin/env bash
# End to end: SMOKE=1 bench/presence.sh against the built binary. Both stores (memory and a
# redis-server the script starts) must pass the correctness check and give a row for each
# scenario P1-P3 with no INVALID run (errors, a crash, an unclean exit). It checks that the
# benchmark works, never how fast anything is.
# Usage: presence_bench_smoke.sh PULSEHTTPD SOURCE_DIR
set -euo pipefail
PULSE_BIN=$1
SRC=$2
readonly kTimeoutSeconds=110 # under CTest's 120

# 77: CTest's SKIP_RETURN_CODE for this test.
for tool in wrk curl python3 taskset redis-server redis-cli; do
  command -v "$tool" >/dev/null || [ -x "/usr/bin/$tool" ] ||
    { echo "skip: $tool is not installed (scripts/setup.sh all; redis-server)"; exit 77; }
done

tmp=$(mktemp -d /tmp/pulse-presence-smoke-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
status=0
SMOKE=1 PULSE_BIN=$PULSE_BIN RESULTS=$tmp/results.md RAW_DIR=$tmp/raw \
  timeout "$kTimeoutSeconds" bash "$SRC/bench/presence.sh" >"$tmp/out" 2>"$tmp/err" || status=$?
if [ "$status" -ne 0 ]; then
  tail -n 40 "$tmp/err" >&2
  [ ! -s "$tmp/results.md" ] || cat "$tmp/results.md" >&2
  case $status in
    3) echo "FAIL: SMOKE=1 bench/presence.sh found INVALID runs (see the table above)" >&2 ;;
    124) echo "FAIL: SMOKE=1 bench/presence.sh took longer than ${kTimeoutSeconds}s" >&2 ;;
    *) echo "FAIL: SMOKE=1 bench/presence.sh exited $status" >&2 ;;
  esac
  exit 1
fi
# Every scenario has its memory row, its Redis row and the ratio between them.
for scenario in P1 P2 P3; do
  rows=$(grep -A2 "^| $scenario .* | memory | " "$tmp/results.md" || true)
  if ! grep -q "| Redis | " <<<"$rows" || ! grep -q "Redis / memory" <<<"$rows"; then
    cat "$tmp/results.md" >&2
    echo "FAIL: $scenario lacks a memory, Redis or ratio row" >&2
    exit 1
  fi
done
cat "$tmp/results.md"
echo "presence bench smoke e2e: all passed"
