#!/usr/bin/env bash
# L1-L3: the heartbeat documents that grow with the number of clients, at CLIENTS ids (100,000 by
# default), on the memory store. One pulsehttpd (one worker), its clients registered first.
#   L1 the whole list after a change: GET /heartbeat right after a beat, so each one renders
#   L2 the whole list unchanged: the cached render, shared
#   L3 the event-stream snapshot after a change: GET /heartbeat/events until the snapshot ends
# For each: the client-side time (median of ROUNDS), the bytes, and the server's CPU per request
# from /proc. Then the server's resident memory per client (RSS with CLIENTS ids minus RSS before
# any). A benchmark, never a test of speed: SMOKE=1 runs 2,000 ids and 2 rounds and checks only
# that every answer was complete.
# Usage: bench/list_snapshot.sh [PULSE_BIN]   (env: CLIENTS, ROUNDS, SMOKE)
set -euo pipefail

bench_dir=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
source "$bench_dir/lib.sh"
lib_init list-snapshot

pulse_bin=${1:-${PULSE_BIN:-$bench_dir/../build/dev/src/app/pulsehttpd}}
clients=${CLIENTS:-100000}
rounds=${ROUNDS:-7}
if [[ ${SMOKE:-0} == 1 ]]; then
  clients=2000
  rounds=2
fi
[[ -x $pulse_bin ]] || die "no pulsehttpd at $pulse_bin (build it, or pass its path)"
for tool in curl python3; do command -v "$tool" >/dev/null || { log "$tool missing"; exit 77; }; done

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

dir=$work_dir/pulse
mkdir -p "$dir/www"
"$pulse_bin" --bind "$kHost" --port 0 --root "$dir/www" --threads 1 --access-log off \
  --max-requests-per-connection 0 --heartbeat-max-clients $((clients + 100)) >"$dir/out" 2>"$dir/err" &
pid=$!
track_pid "$pid"
port=$(wait_pulse_port "$pid" "$dir/out") || die "pulsehttpd did not start: $(head -c 300 "$dir/err")"
base=http://$kHost:$port
sleep 0.5
rss_before=$(rss_kib "$pid")
registered=$(timeout 300 python3 "$bench_dir/register_ids.py" --port "$port" --count "$clients" --prefix host-)
[[ $registered == "registered $clients" ]] || die "set-up: $registered"
# Once, so the allocator holds its peak the way a running server does.
curl -fsS -o /dev/null "$base/heartbeat"
rss_after=$(rss_kib "$pid")

# measure NAME KIND: ROUNDS requests; prints "NAME median_ms bytes cpu_us_per_request".
measure() {
  local name=$1 kind=$2 times=() bytes=0 before after n
  before=$(cpu_ticks "$pid")
  for n in $(seq 1 "$rounds"); do
    if [[ $kind != cached ]]; then
      curl -fsS -o /dev/null -X POST "$base/heartbeat/host-$n"
      # The beat's own CPU is tiny against a render; it is not subtracted.
    fi
    if [[ $kind == snapshot ]]; then
      # The snapshot is the stream's first event: read until its blank line, then hang up.
      read -r t b < <(python3 "$bench_dir/read_snapshot.py" --port "$port")
    else
      read -r t b < <(curl -fsS -o "$dir/body" -w '%{time_total} %{size_download}\n' "$base/heartbeat")
      python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(len(d["clients"]) != int(sys.argv[2]))' \
        "$dir/body" "$clients" || die "$name: the list is not complete"
    fi
    times+=("$t")
    bytes=$b
  done
  after=$(cpu_ticks "$pid")
  python3 - "$name" "$bytes" "$((after - before))" "$kClockTicks" "$rounds" "${times[@]}" <<'EOF'
import statistics, sys
name, size, ticks, hz, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
times = [float(t) * 1000 for t in sys.argv[6:]]
cpu_ms = ticks * 1000 / hz / rounds
print(f"{name:<28} {statistics.median(times):9.1f} ms {size / 1e6:8.1f} MB {cpu_ms:9.1f} ms CPU")
EOF
}

echo "pulsehttpd $("$pulse_bin" --version 2>/dev/null | head -1), $clients clients, median of $rounds, $(date -u +%Y-%m-%d)"
measure "L1 list after a change" changed
measure "L2 list unchanged (cached)" cached
measure "L3 snapshot after a change" snapshot
python3 -c 'import sys; b, a, n = map(int, sys.argv[1:]); print(f"RSS per client               {(a - b) * 1024 / n:9.0f} B (with the rendered list cached)")' \
  "$rss_before" "$rss_after" "$clients"
