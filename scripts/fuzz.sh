#!/usr/bin/env bash
# Builds the libFuzzer drivers with clang-14 (ASan+UBSan) and runs each for a bounded time, each
# on a fresh copy of its seed corpus (tests/fuzz/corpus/<target>, never modified), the HTTP
# targets with tests/fuzz/http.dict. One summary line per target; fails on any crash, leak,
# timeout or out-of-memory, and keeps the reproducers in build/fuzz/artifacts/.
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   (default 60 s, every target)
#   PULSE_FUZZ_PARALLEL=N   targets run at once (default 2, or 1 on a single core)
#   PULSE_FUZZ_STRICT=1     also fail on the known parser issues the drivers tolerate (fuzz_support.hpp)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true

all_targets=(parser_fuzz connection_fuzz path_sanitizer_fuzz range_fuzz conditional_fuzz accept_encoding_fuzz
  form_fuzz heartbeat_api_fuzz state_file_fuzz)
# Targets whose inputs are HTTP text: they get the dictionary.
dict_targets=" parser_fuzz connection_fuzz path_sanitizer_fuzz range_fuzz conditional_fuzz accept_encoding_fuzz
  form_fuzz heartbeat_api_fuzz "
if [ $# -gt 0 ]; then targets=("$@"); else targets=("${all_targets[@]}"); fi
cores=$(nproc)
parallel=${PULSE_FUZZ_PARALLEL:-$((cores >= 2 ? 2 : 1))}

build=build/fuzz
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPULSE_FUZZ=ON -DPULSE_BUILD_TESTS=OFF \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 >/dev/null
cmake --build "$build" -j "$cores" --target "${targets[@]}"

# UBSan only reports by default; a fuzzer must stop at the first undefined behaviour.
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
artifacts=$build/artifacts
rm -rf "$artifacts"
mkdir -p "$artifacts"

# Runs one target into $work/<name>/ and leaves its exit status in $work/<name>.rc.
run_target() {
  local name=$1 dir=$work/$1
  mkdir -p "$dir/corpus" "$dir/artifacts"
  [ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$dir/corpus/"
  local options=(-max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
    -artifact_prefix="$dir/artifacts/")
  [[ $dict_targets == *" $name "* ]] && options+=(-dict=tests/fuzz/http.dict)
  local rc=0
  # The outer timeout catches a fuzzer that stops honouring -max_total_time.
  timeout --kill-after=10 $((seconds + 120)) "$build/tests/fuzz/$name" "${options[@]}" "$dir/corpus" \
    >"$dir/log" 2>&1 || rc=$?
  echo "$rc" >"$work/$name.rc"
}

# Prints the target's summary line; on failure, also why, and keeps the log and reproducer.
summarize() {
  local name=$1 dir=$work/$1 rc execs cov corpus
  rc=$(cat "$work/$name.rc")
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$dir/log" | tail -n 1 | cut -d' ' -f2)
  corpus=$(find "$dir/corpus" -type f | wc -l)
  local line
  line=$(printf '%-22s %3ss  %10s execs  cov %-6s corpus %-6s' "$name" "$seconds" "${execs:-?}" "${cov:-?}" "$corpus")
  if [ "$rc" = 0 ]; then
    echo "fuzz: $line ok"
    return 0
  fi
  local why
  why=$(grep -m1 -E 'fuzz invariant violated|gives different events|runtime error|ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)' \
    "$dir/log" | sed 's/^==[0-9]*== *//' || true)
  echo "fuzz: $line FAILED (exit $rc): ${why:-see the log}"
  cp "$dir/log" "$artifacts/$name.log"
  cp "$dir"/artifacts/* "$artifacts/" 2>/dev/null || true
  echo "---- $name: the end of its log (the whole log and the reproducer are in $artifacts/) ----"
  tail -n 40 "$dir/log"
  return 1
}

echo "fuzzing ${#targets[@]} targets for ${seconds}s each, $parallel at a time"
running=0
for name in "${targets[@]}"; do
  if [ "$running" -ge "$parallel" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  run_target "$name" &
  running=$((running + 1))
done
wait || true

failed=0
for name in "${targets[@]}"; do
  summarize "$name" || failed=1
done
if [ "$failed" != 0 ]; then
  echo "fuzzing: FAILED"
  exit 1
fi
echo "fuzzing: no crashes, leaks or timeouts"
