#!/usr/bin/env bash
# Quick start: installs what is missing, builds Release, and serves www/ on http://127.0.0.1:8080.
# Extra arguments go to pulsehttpd (e.g. scripts/run.sh --port 9000 --access-log stdout).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DPULSE_BUILD_TESTS=OFF >/dev/null
cmake --build build/release --target pulsehttpd
exec build/release/src/app/pulsehttpd --root www --bind 127.0.0.1 --port 8080 --access-log stdout "$@"
