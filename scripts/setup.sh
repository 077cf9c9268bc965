#!/usr/bin/env bash
# Installs the Debian 12 packages Pulse needs to build, test and benchmark.
# Idempotent: prints what it would install and does nothing when everything is present.
set -euo pipefail

# Build: compiler, CMake, Ninja and the libraries Pulse links against; openssl (certificates for
# the HTTPS unit tests, which the container build runs too) and ca-certificates (the CA bundle the
# container image ships for outgoing https://).
build_pkgs=(g++ cmake ninja-build pkg-config python3 node-llhttp libfmt-dev libcli11-dev nlohmann-json3-dev catch2 libhiredis-dev libcurl4-openssl-dev openssl ca-certificates)
# Tests: real HTTP clients, sanitizer runtimes, a headless browser for the live page, and
# Redis and Redis Sentinel, which the tests start themselves on free ports.
test_pkgs=(curl wget apache2-utils python3 clang-14 libclang-rt-14-dev chromium redis-server redis-sentinel openssl ca-certificates)
# Benchmarks: load generators, the peers (nginx, lighttpd, h2o), the profilers, and /usr/bin/time
# (bench/run.sh reads the load generator's CPU time with it).
bench_pkgs=(wrk nginx-light lighttpd h2o linux-perf strace time)

want=("${build_pkgs[@]}")
case "${1:-all}" in
  build) ;;
  test) want+=("${test_pkgs[@]}") ;;
  all) want+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "usage: $0 [build|test|all]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#want[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
