#!/usr/bin/env bash
# The whole test suite: installs what is missing, then builds and runs
#   1. Release (warnings as errors): unit, integration and end-to-end tests;
#   2. ASan+UBSan: unit and integration tests;
#   3. TSan: unit and integration tests;
#   4. libFuzzer drivers, a bounded time each (scripts/fuzz.sh);
#   5. the container image, built and run with podman, then deploy/compose.yaml (two replicas
#      sharing one Redis) with podman-compose (tests/container/run.sh).
# Set PULSE_SKIP_CONTAINER=1 to skip step 5 while iterating.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh all

step() { printf '\n==== %s ====\n' "$*"; }
configure_and_build() {  # dir, extra cmake args...
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja -DPULSE_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j "$(nproc)"
}

step "Release build: unit, integration, end-to-end"
configure_and_build build/test-release -DCMAKE_BUILD_TYPE=Release
ctest --test-dir build/test-release --output-on-failure -j 2 --timeout 300

step "ASan + UBSan: unit and integration"
configure_and_build build/test-asan -DCMAKE_BUILD_TYPE=Debug -DPULSE_SANITIZE=address
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build/test-asan --output-on-failure -j 2 -L 'unit|integration' --timeout 300

step "TSan: unit and integration"
configure_and_build build/test-tsan -DCMAKE_BUILD_TYPE=Debug -DPULSE_SANITIZE=thread
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  ctest --test-dir build/test-tsan --output-on-failure -j 2 -L 'unit|integration' --timeout 600

step "libFuzzer: every target, bounded time each (CI runs each target 60 s)"
scripts/fuzz.sh "${PULSE_FUZZ_SECONDS:-60}"

if [ "${PULSE_SKIP_CONTAINER:-0}" != 1 ]; then
  step "Container image: build and run with podman"
  bash tests/container/run.sh
fi
echo "all test stages passed"
