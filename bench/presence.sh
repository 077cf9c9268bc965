#!/usr/bin/env bash
# Benchmarks the two presence stores side by side in one run: pulsehttpd --presence memory against
# --presence redis://, on the same loads, and writes a Markdown report with, per scenario, beats/s,
# pulsehttpd's CPU per beat, Redis's CPU per beat, latency and errors, and the ratio Redis/memory.
# bench/README.md ("Presence stores") explains the method and the marks.
#
# Environment:
#   DURATION       seconds per timed wrk run (default 10; SMOKE: 2)
#   ROUNDS         runs per scenario and store, median reported; the store order alternates every
#                  round (default 3; SMOKE: 1)
#   SCENARIOS      space-separated subset of P1 P2 P3 (default: all)
#   STORES         subset of: memory redis (default: both)
#   HEARTBEAT_IDS  distinct ids beaten and looked up (default 200000; SMOKE: 50000)
#   SMOKE          1: proves the script works, not speed: one round of 2 s, 50,000 ids (a fast machine beats 5,000 ids past their rate limit of 10 a second)
#   PIN            1: pulsehttpd and redis-server on CPU 0, wrk on CPU 1 (default 1 when nproc >= 2)
#   PULSE_BIN      use this pulsehttpd instead of building build/bench
#   REDIS_BIN      redis-server (default: found on PATH, else /usr/bin/redis-server)
#   RESULTS        the report (default bench/presence-results.md; SMOKE:
#                  $TMPDIR/pulse-presence-smoke.md, so a smoke run never replaces the table)
#   RAW_DIR        if set, keep every raw wrk report and the per-run table there
#
# Exit status: 0 report written; 1 a server or Redis did not start, failed its correctness check,
# or a tool is missing; 2 bad settings; 3 the report has INVALID runs (over 0.1% errors, a process
# that died, pulsehttpd not exiting 0 on SIGTERM). NOISY runs do not change the status.
set -euo pipefail

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(cd "$bench_dir/.." && pwd)
# shellcheck source=bench/lib.sh
source "$bench_dir/lib.sh"

readonly kWrkTimeout=5s
readonly kLoadSlackSeconds=30      # wrk may take this much longer than DURATION
readonly kRegisterTimeoutSeconds=180
readonly kReadyTimeoutSeconds=15   # from listening to /readyz 200 (Redis connected)
readonly kSpareHeartbeatIds=1000
readonly kIdPrefix=bench-
readonly kCheckId=bench-check
# pulsehttpd's Redis keys start with this; the store keeps its clients in the hash PREFIXclients.
readonly kRedisPrefix=pulse:
# No registered id may turn late during a run: the timed runs measure beats, not transitions.
readonly kHeartbeatInterval=1h
readonly kManyConnections=50
# After registering, the processes sit idle this long: their CPU then is what holding the ids costs
# with no beat at all (the memory store's sweeper visits every client every 250 ms).
readonly kIdleSeconds=2
readonly all_scenarios=(P1 P2 P3)
readonly all_stores=(memory redis)

bad_setting() { echo "presence: $*" >&2; exit 2; }
whole() {
  if ! [[ $2 =~ ^[1-9][0-9]*$ ]] || (($2 > $3)); then bad_setting "$1 must be a whole number, 1..$3"; fi
}

smoke=${SMOKE:-0}
[[ $smoke == [01] ]] || bad_setting "SMOKE is 0 or 1"
if ((smoke)); then
  duration=${DURATION:-2} rounds=${ROUNDS:-1} heartbeat_ids=${HEARTBEAT_IDS:-50000}
  default_results=${TMPDIR:-/tmp}/pulse-presence-smoke.md
else
  duration=${DURATION:-10} rounds=${ROUNDS:-3} heartbeat_ids=${HEARTBEAT_IDS:-200000}
  default_results=$bench_dir/presence-results.md
fi
whole DURATION "$duration" 600
whole ROUNDS "$rounds" 20
whole HEARTBEAT_IDS "$heartbeat_ids" 10000000
results_file=${RESULTS:-$default_results}
read -r -a scenario_names <<<"${SCENARIOS:-${all_scenarios[*]}}"
read -r -a stores <<<"${STORES:-${all_stores[*]}}"
for s in "${scenario_names[@]}"; do
  [[ " ${all_scenarios[*]} " == *" $s "* ]] || bad_setting "unknown scenario '$s' (known: ${all_scenarios[*]})"
done
for s in "${stores[@]}"; do
  [[ " ${all_stores[*]} " == *" $s "* ]] || bad_setting "unknown store '$s' (known: ${all_stores[*]})"
done
((${#scenario_names[@]} > 0 && ${#stores[@]} > 0)) || bad_setting "SCENARIOS and STORES may not be empty"

# Redis shares pulsehttpd's core, so that "server CPU" on core 0 is the whole server side and the
# load generator never takes time from either.
cpus=$(nproc)
pin=${PIN:-$((cpus >= 2 ? 1 : 0))}
if [[ $pin == 1 ]] && ((cpus >= 2)) && command -v taskset >/dev/null; then
  server_cpu=(taskset -c 0)
  client_cpu=(taskset -c 1)
else
  pin=0 server_cpu=() client_cpu=()
fi

redis_bin=${REDIS_BIN:-$(command -v redis-server 2>/dev/null || echo /usr/bin/redis-server)}
for tool in wrk curl python3 setsid timeout; do
  command -v "$tool" >/dev/null || die "$tool not found (scripts/setup.sh all installs what the benchmark needs)"
done
if [[ " ${stores[*]} " == *" redis "* ]]; then
  [[ -x $redis_bin ]] || die "redis-server not found (apt-get install redis-server, or set REDIS_BIN)"
  command -v redis-cli >/dev/null || die "redis-cli not found (package redis-tools)"
fi
[[ -x /usr/bin/time ]] || log "/usr/bin/time missing (package time): runs get no NOISY check"

lib_init presence

# --- build -----------------------------------------------------------------------------------------

if [[ -n ${PULSE_BIN:-} ]]; then
  pulse_bin=$PULSE_BIN
else
  log "building pulsehttpd (Release) in build/bench"
  cmake -S "$repo_dir" -B "$repo_dir/build/bench" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DPULSE_BUILD_TESTS=OFF >/dev/null
  cmake --build "$repo_dir/build/bench" -j2 --target pulsehttpd >&2
  pulse_bin=$repo_dir/build/bench/src/app/pulsehttpd
fi
[[ -x $pulse_bin ]] || die "pulsehttpd not found at $pulse_bin"

docroot=$work_dir/www
mkdir -p "$docroot"
echo 'presence benchmark' >"$docroot/index.html"

# --- Redis and pulsehttpd: fresh for every run ------------------------------------------------------
# Each runs in its own session (setsid) on the server core; its PID is tracked and stopped by PID.

redis_pid=
redis_port=
pulse_pid=
pulse_port=

# start_redis DIR: an empty, non-persistent redis-server on a free port, answering PING.
start_redis() {
  local dir=$1 attempt
  for attempt in 1 2 3; do
    rm -rf -- "$dir"
    mkdir -p "$dir"
    redis_port=$(free_port)
    "${server_cpu[@]}" setsid "$redis_bin" --port "$redis_port" --bind "$kHost" --save '' \
      --appendonly no --dir "$dir" --logfile "$dir/redis.log" >"$dir/out" 2>&1 &
    redis_pid=$!
    track_pid "$redis_pid"
    if wait_listening "$redis_pid" "$redis_port" &&
      [[ $(timeout 5 redis-cli -h "$kHost" -p "$redis_port" PING 2>/dev/null) == PONG ]]; then
      return 0
    fi
    stop_pid "$redis_pid"
    log "redis-server did not start on port $redis_port (attempt $attempt)"
  done
  cat "$dir/out" "$dir/redis.log" >&2 2>/dev/null || true
  die "redis-server did not start"
}

# start_pulse DIR STORE: pulsehttpd on a port it picks itself, listening and ready (/readyz 200,
# which for Redis means connected and its scripts loaded).
start_pulse() {
  local dir=$1 store=$2 presence=memory tries=0
  [[ $store == memory ]] || presence=redis://$kHost:$redis_port
  mkdir -p "$dir"
  "${server_cpu[@]}" setsid "$pulse_bin" --bind "$kHost" --port 0 --root "$docroot" --threads 1 \
    --access-log off --max-requests-per-connection 0 --keepalive-timeout 60s \
    --presence "$presence" --presence-prefix "$kRedisPrefix" --heartbeat-interval "$kHeartbeatInterval" \
    --heartbeat-max-clients $((heartbeat_ids + kSpareHeartbeatIds)) >"$dir/out" 2>&1 &
  pulse_pid=$!
  track_pid "$pulse_pid"
  if ! pulse_port=$(wait_pulse_port "$pulse_pid" "$dir/out"); then
    cat "$dir/out" >&2
    die "pulsehttpd ($store) did not start"
  fi
  until [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$kHost:$pulse_port/readyz" || true) == 200 ]]; do
    tries=$((tries + 1))
    if ((tries > kReadyTimeoutSeconds * 10)) || ! is_running "$pulse_pid"; then
      cat "$dir/out" >&2
      die "pulsehttpd ($store) not ready (/readyz) after ${kReadyTimeoutSeconds}s"
    fi
    sleep 0.1
  done
}

# json_id FILE: the "id" field of a JSON object.
json_id() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get("id", ""))' "$1" 2>/dev/null || true; }

# expect_answer STORE METHOD PATH STATUS...: one request, which must answer one of STATUS with
# JSON whose id is the one in the path; else the script stops.
expect_answer() {
  local store=$1 method=$2 path=$3 status id
  shift 3
  status=$(curl -s -o "$work_dir/check.json" -w '%{http_code}' --max-time 10 -X "$method" \
    "http://$kHost:$pulse_port$path" || true)
  [[ " $* " == *" $status "* ]] || die "$store: $method $path answered '$status', not $*"
  id=$(json_id "$work_dir/check.json")
  [[ $id == "${path##*/}" ]] || die "$store: $method $path: the JSON has id '$id', not '${path##*/}'"
}

# Before any timing: a new id is created (201), beaten again (200) and looked up (200), each
# answered with JSON naming it; with Redis, the beat is in Redis, not only in the process.
check_pulse() {
  local store=$1
  expect_answer "$store" POST "/heartbeat/$kCheckId" 201
  expect_answer "$store" POST "/heartbeat/$kCheckId" 200
  expect_answer "$store" GET "/heartbeat/$kCheckId" 200
  if [[ $store == redis ]] && [[ $(redis_clients HEXISTS "$kCheckId") != 1 ]]; then
    die "redis: a beat was acknowledged but ${kRedisPrefix}clients has no $kCheckId"
  fi
  rm -f "$work_dir/check.json"
}

# redis_clients COMMAND [ARG]: a command on the store's client hash (HLEN, HEXISTS id).
redis_clients() { timeout 5 redis-cli -h "$kHost" -p "$redis_port" "$1" "${kRedisPrefix}clients" "${@:2}" 2>/dev/null || true; }

# Every id beats once, so the timed run updates (and looks up) clients the store already holds.
register_ids() {
  local store=$1 registered
  registered=$(timeout "$kRegisterTimeoutSeconds" "${client_cpu[@]}" python3 "$bench_dir/register_ids.py" \
    --port "$pulse_port" --count "$heartbeat_ids" --prefix "$kIdPrefix") ||
    die "$store: registering $heartbeat_ids heartbeat ids failed"
  log "$store: $registered ids"
  # Each id and the check's: the timed run beats what Redis holds, not what one process holds.
  if [[ $store == redis ]] && [[ $(redis_clients HLEN) != $((heartbeat_ids + 1)) ]]; then
    die "redis: ${kRedisPrefix}clients holds $(redis_clients HLEN) clients, not $((heartbeat_ids + 1))"
  fi
}

# measure_idle STORE: pulsehttpd's and Redis's CPU, in % of a core, over kIdleSeconds with no
# load, into idle_pulse_pct and idle_redis_pct.
idle_pulse_pct=-
idle_redis_pct=-
measure_idle() {
  local store=$1 pulse_before redis_before=0
  pulse_before=$(cpu_ticks "$pulse_pid")
  [[ $store != redis ]] || redis_before=$(cpu_ticks "$redis_pid")
  sleep "$kIdleSeconds"
  idle_pulse_pct=$(percent_of_core $(($(cpu_ticks "$pulse_pid") - pulse_before)) "$kIdleSeconds")
  idle_redis_pct=-
  [[ $store != redis ]] || idle_redis_pct=$(percent_of_core $(($(cpu_ticks "$redis_pid") - redis_before)) "$kIdleSeconds")
}

percent_of_core() { awk -v t="$1" -v s="$2" -v hz="$kClockTicks" 'BEGIN {printf "%.1f", t / hz / s * 100}'; }

# --- timed runs ------------------------------------------------------------------------------------

raw_file=$work_dir/raw.tsv
flags_file=$work_dir/flags.tsv
printf 'scenario\tstore\tround\trequests\tnon2xx\terrors\tseconds\tp50_us\tp99_us\tpulse_cpu_s\tredis_cpu_s\tloadgen_cpu_s\tother_core_pct\tstatuses\tidle_pulse_pct\tidle_redis_pct\n' >"$raw_file"
: >"$flags_file"

keep_raw() {
  [[ -n ${RAW_DIR:-} ]] || return 0
  mkdir -p "$RAW_DIR"
  cp "$1" "$RAW_DIR/$(basename "$1")"
}

# flag SCENARIO STORE ROUND TEXT: makes that run INVALID in the report.
flag() { printf '%s\t%s\t%s\t%s\n' "$@" >>"$flags_file"; log "INVALID: $2 $1 round $3: $4"; }

# error_statuses: the statuses of 300 and above pulsehttpd has answered so far, from /metrics
# ("429=12 503=3"), or "-". wrk counts them but does not say which; 429 means that some id beat
# faster than the per-id rate limit (10 a second): more HEARTBEAT_IDS then.
error_statuses() {
  local metrics
  metrics=$(curl -s --max-time 5 "http://$kHost:$pulse_port/metrics") || { echo '?'; return; }
  awk -F'[" ]' '/^pulse_http_requests_total\{code="([3-9]|other)/ && $NF > 0 {s = s (s ? " " : "") $2 "=" $NF}
    END {print s ? s : "-"}' <<<"$metrics"
}

ticks_to_s() { awk -v t="$1" -v hz="$kClockTicks" 'BEGIN {printf "%.2f", t / hz}'; }

# wrk_run SCENARIO STORE ROUND CONNECTIONS MODE: wrk with bench/heartbeat.lua on its core, bounded
# by timeout; pulsehttpd's, Redis's and every CPU's busy time read around it; one row of raw.tsv.
wrk_run() {
  local scenario=$1 store=$2 round=$3 connections=$4 mode=$5
  local out=$work_dir/$scenario.$store.r$round.txt
  local timing=()
  [[ ! -x /usr/bin/time ]] || timing=(/usr/bin/time -f '%U %S' -o "$out.time")
  local busy_before pulse_before redis_before=0 started busy_after pulse_after redis_after=0 ended pid
  busy_before=$(system_busy_ticks)
  pulse_before=$(cpu_ticks "$pulse_pid")
  [[ $store != redis ]] || redis_before=$(cpu_ticks "$redis_pid")
  started=$EPOCHREALTIME
  # In the background and waited for, so that Ctrl-C or SIGTERM reaches the cleanup at once.
  timeout --kill-after=5 $((duration + kLoadSlackSeconds)) "${timing[@]}" "${client_cpu[@]}" \
    wrk -t1 -c"$connections" -d"${duration}s" --timeout "$kWrkTimeout" --latency \
    -s "$bench_dir/heartbeat.lua" "http://$kHost:$pulse_port/" -- "$mode" "$heartbeat_ids" "$kIdPrefix" \
    >"$out" 2>&1 &
  pid=$!
  track_pid "$pid"
  reap_pid "$pid"
  local status=$stopped_status
  ended=$EPOCHREALTIME
  pulse_after=$(cpu_ticks "$pulse_pid")
  [[ $store != redis ]] || redis_after=$(cpu_ticks "$redis_pid")
  busy_after=$(system_busy_ticks)
  keep_raw "$out"
  local statuses
  statuses=$(error_statuses)

  local requests=0 seconds=0 p50=- errors=0 p99=- non2xx=0 parsed
  if parsed=$(python3 "$bench_dir/parse_load.py" wrk "$out" --detail); then
    read -r requests seconds _ p50 errors p99 non2xx <<<"$parsed"
  fi
  if [[ $status != 0 || $requests == 0 ]]; then
    tail -n 20 "$out" >&2
    flag "$scenario" "$store" "$round" "wrk exited with status $status after $requests requests"
  fi
  local pulse_ticks=$((pulse_after - pulse_before)) redis_ticks=$((redis_after - redis_before))
  local loadgen=- other=- redis_cpu=-
  [[ $store != redis ]] || redis_cpu=$(ticks_to_s "$redis_ticks")
  if [[ -s $out.time ]]; then
    loadgen=$(tail -n 1 "$out.time" | awk '{printf "%.2f", $1 + $2}')
    other=$(awk -v busy=$((busy_after - busy_before)) -v ours=$((pulse_ticks + redis_ticks)) \
      -v loadgen="$loadgen" -v hz="$kClockTicks" -v wall="$(awk -v a="$started" -v b="$ended" 'BEGIN {print b - a}')" \
      'BEGIN {printf "%.1f", (busy - ours - loadgen * hz) / hz / wall * 100}')
  fi
  [[ $statuses != *429=* ]] || log "$store $scenario: 429 answers: $heartbeat_ids ids are too few for this rate"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scenario" "$store" "$round" \
    "$requests" "$non2xx" "$errors" "$seconds" "$p50" "$p99" "$(ticks_to_s "$pulse_ticks")" "$redis_cpu" \
    "$loadgen" "$other" "$statuses" "$idle_pulse_pct" "$idle_redis_pct" >>"$raw_file"
}

run_P1() { wrk_run P1 "$1" "$2" "$kManyConnections" beat; }
run_P2() { wrk_run P2 "$1" "$2" "$kManyConnections" lookup; }
run_P3() { wrk_run P3 "$1" "$2" 1 beat; }

# After a run: a pulsehttpd or Redis that died is INVALID; pulsehttpd must also exit 0 on SIGTERM.
# pulsehttpd stops first, so it never sees its Redis vanish.
finish_run() {
  local scenario=$1 store=$2 round=$3
  is_running "$pulse_pid" || flag "$scenario" "$store" "$round" "pulsehttpd died during the run"
  if [[ $store == redis ]] && ! is_running "$redis_pid"; then
    flag "$scenario" "$store" "$round" "redis-server died during the run"
  fi
  stop_pid "$pulse_pid"
  [[ $stopped_status == 0 ]] ||
    flag "$scenario" "$store" "$round" "pulsehttpd exit status $stopped_status after SIGTERM"
  if [[ $store == redis ]]; then stop_pid "$redis_pid"; fi
}

# --- run: every scenario, every round, a fresh Redis and pulsehttpd each time, the order alternating

log "pinned: $([[ $pin == 1 ]] && echo 'pulsehttpd and redis-server CPU 0, wrk CPU 1' || echo no);" \
  "${rounds} round(s) x ${duration} s; scenarios ${scenario_names[*]}; stores ${stores[*]}; $heartbeat_ids ids"
started_at=$SECONDS
for scenario in "${scenario_names[@]}"; do
  for ((round = 1; round <= rounds; round++)); do
    order=()
    for ((i = 0; i < ${#stores[@]}; i++)); do order+=("${stores[(i + round - 1) % ${#stores[@]}]}"); done
    for store in "${order[@]}"; do
      log "$scenario round $round/$rounds: $store"
      dir=$work_dir/$scenario.$store.r$round
      [[ $store != redis ]] || start_redis "$dir/redis"
      start_pulse "$dir/pulse" "$store"
      check_pulse "$store"
      register_ids "$store"
      measure_idle "$store"
      case $scenario in
        P1) run_P1 "$store" "$round" ;;
        P2) run_P2 "$store" "$round" ;;
        P3) run_P3 "$store" "$round" ;;
      esac
      finish_run "$scenario" "$store" "$round"
    done
  done
done
elapsed=$((SECONDS - started_at))
[[ -z ${RAW_DIR:-} ]] || cp "$raw_file" "$flags_file" "$RAW_DIR/"

# --- report ----------------------------------------------------------------------------------------

pulse_version=$("$pulse_bin" --version 2>&1 | awk 'NR == 1 {print $2}' || true)
commit=$(git -C "$repo_dir" rev-parse --short HEAD 2>/dev/null || true)
redis_version=-
[[ ! -x $redis_bin ]] || redis_version=$("$redis_bin" --version 2>&1 | sed -n 's/.* v=\([^ ]*\).*/\1/p' | head -n 1)
wrk_version=$(wrk -v 2>&1 | awk 'NR == 1 {print $2}' || true)
cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
title="Presence stores: memory against Redis"
((smoke == 0)) || title+=" (SMOKE run: checks the script, not speed)"
short=()
if ((smoke == 0)) && ((duration < 10 || rounds < 3)); then
  short=(--meta "**a short run** ($rounds round(s) x $duration s, under the defaults of 3 x 10 s): it shows the script works and the rough ratios, not figures to quote")
fi
if [[ $pin == 1 ]]; then
  placement="pulsehttpd and redis-server pinned to CPU 0, wrk to CPU 1"
else
  placement="not pinned"
fi

report_status=0
python3 "$bench_dir/presence_report.py" --raw "$raw_file" --flags "$flags_file" --title "$title" \
  --ids "$heartbeat_ids" \
  --meta "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')" \
  --meta "versions: pulsehttpd ${pulse_version:-?}${commit:+ (commit $commit)}, redis-server ${redis_version:-?}, wrk ${wrk_version:-?}" \
  --meta "machine: $cpus cores (\`nproc\`)${cpu_model:+, $cpu_model}, kernel $(uname -r)" \
  --meta "method: pulsehttpd --threads 1, $placement; a fresh pulsehttpd (and, for Redis, a fresh redis-server --save '' --appendonly no) for every run; $heartbeat_ids ids registered before each run; $rounds round(s) x $duration s, the store order alternating each round, medians" \
  --meta "wall time of the runs: $elapsed s" "${short[@]}" >"$results_file" || report_status=$?
cat "$results_file"
log "report written to $results_file"
((report_status == 0 || report_status == 3)) || die "presence_report.py failed (status $report_status)"
exit "$report_status"
