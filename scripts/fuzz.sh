#!/usr/bin/env bash
# Builds the libFuzzer drivers with clang-14 (ASan+UBSan) and runs each for a bounded time.
# Usage: scripts/fuzz.sh [SECONDS_PER_FUZZER]   (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPULSE_FUZZ=ON -DPULSE_BUILD_TESTS=OFF \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 >/dev/null
cmake --build build/fuzz -j "$(nproc)" --target parser_fuzz connection_fuzz path_sanitizer_fuzz
for name in parser_fuzz connection_fuzz path_sanitizer_fuzz; do
  work=$(mktemp -d)
  seeds=tests/fuzz/corpus/$name
  [ -d "$seeds" ] && cp -r "$seeds"/. "$work"/
  echo "fuzzing $name for ${seconds}s"
  # -rss_limit_mb keeps a leak from eating the machine; a crash or leak fails the run.
  build/fuzz/tests/fuzz/$name -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 "$work" 2>&1 | tail -n 12
  rm -rf "$work"
done
echo "fuzzing: no crashes"
