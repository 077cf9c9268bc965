#!/usr/bin/env bash
# End to end: SMOKE=1 bench/run.sh against the built binary. Every server must start, answer 200
# with byte-exact bodies, and give a row for each scenario S1-S7 with no INVALID run (errors,
# a crash, an unclean exit). It checks that the benchmark works, never how fast anything is.
# Usage: bench_smoke.sh PULSEHTTPD SOURCE_DIR
set -euo pipefail
PULSE_BIN=$1
SRC=$2
readonly kTimeoutSeconds=85 # under CTest's 90

# 77: CTest's SKIP_RETURN_CODE for this test (scripts/setup.sh all installs the peers).
for tool in wrk ab curl python3 taskset nginx lighttpd h2o; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] ||
    { echo "skip: $tool is not installed (scripts/setup.sh all)"; exit 77; }
done

tmp=$(mktemp -d /tmp/pulse-bench-smoke-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
status=0
SMOKE=1 PULSE_BIN=$PULSE_BIN RESULTS=$tmp/results.md RAW_DIR=$tmp/raw \
  timeout "$kTimeoutSeconds" bash "$SRC/bench/run.sh" >"$tmp/out" 2>"$tmp/err" || status=$?
if [ "$status" -ne 0 ]; then
  tail -n 40 "$tmp/err" >&2
  [ ! -s "$tmp/results.md" ] || cat "$tmp/results.md" >&2
  case $status in
    3) echo "FAIL: SMOKE=1 bench/run.sh found INVALID runs (see the table above)" >&2 ;;
    124) echo "FAIL: SMOKE=1 bench/run.sh took longer than ${kTimeoutSeconds}s" >&2 ;;
    *) echo "FAIL: SMOKE=1 bench/run.sh exited $status" >&2 ;;
  esac
  exit 1
fi
for scenario in S1 S2 S3 S4 S5 S6 S7; do
  grep -q "^| $scenario " "$tmp/results.md" || { cat "$tmp/results.md" >&2; echo "FAIL: no $scenario row" >&2; exit 1; }
done
cat "$tmp/results.md"
echo "bench smoke e2e: all passed"
