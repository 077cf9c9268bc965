#!/usr/bin/env bash
# End to end: 60 s of bench/soak.sh (mixed load, then descriptors, threads and memory back where
# they were, and no unexpected status) against the built binary.
# Usage: soak.sh PULSEHTTPD SOURCE_DIR
set -euo pipefail
PULSE_BIN=$1
SRC=$2

# 77: CTest's SKIP_RETURN_CODE for this test. wrk is optional (ab -k stands in for it).
for tool in ab curl python3; do
  command -v "$tool" >/dev/null || { echo "skip: $tool is not installed (scripts/setup.sh all)"; exit 77; }
done

status=0
PULSE_BIN=$PULSE_BIN bash "$SRC/bench/soak.sh" 60 || status=$?
[ "$status" -eq 0 ] || { echo "FAIL: bench/soak.sh 60 exited $status" >&2; exit "$status"; }
echo "soak e2e: all passed"
