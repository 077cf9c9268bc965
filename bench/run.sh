#!/usr/bin/env bash
# Benchmarks pulsehttpd against nginx, lighttpd and h2o in one run, one worker each, and writes a
# Markdown report: per scenario the server's own CPU per request next to req/s, and Pulse's ratio
# to the best peer. bench/README.md explains the scenarios, the CPU figures and the marks.
#
# Environment:
#   DURATION          seconds per timed load-generator run (default 5; SMOKE: 1)
#   ROUNDS            runs per scenario and server, median reported; the order rotates every
#                     round (default 3; SMOKE: 1)
#   SCENARIOS         space-separated subset of S1 S2 S3 S4 S5 S6 S7 (default: all; THREADS2: S1-S4)
#   SERVERS           subset of: nginx lighttpd h2o pulse (default: all four)
#   IDLE_CONNECTIONS  connections S5 holds open (default 5000; SMOKE: 200)
#   HEARTBEAT_IDS     distinct ids S7 beats from (default 200000; SMOKE: 20000)
#   THREADS2          1: S1-S4 with two workers per server and nothing pinned, to show scaling
#   SMOKE             1: proves the script works, not speed: one round of 1 s, small S5 and S7
#   PIN               1: servers on CPU 0, load generator on CPU 1 (default 1 when nproc >= 2)
#   PULSE_BIN         use this pulsehttpd instead of building build/bench
#   NGINX_BIN LIGHTTPD_BIN H2O_BIN   the peers (default: found on PATH, /usr/sbin or /usr/bin)
#   RESULTS           the report (default bench/results.md; THREADS2: bench/results-threads2.md;
#                     SMOKE: $TMPDIR/pulse-bench-smoke.md, so a smoke run never replaces the table)
#   RAW_DIR           if set, keep every raw load-generator report and the per-run table there
#
# Exit status: 0 report written; 1 a server did not start, failed its correctness check, or a tool
# is missing; 2 bad settings; 3 the report has INVALID runs (over 0.1% errors, a server that died,
# pulsehttpd not exiting 0 on SIGTERM). NOISY runs do not change the status.
set -euo pipefail

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(cd "$bench_dir/.." && pwd)
# shellcheck source=bench/lib.sh
source "$bench_dir/lib.sh"

readonly kPipelineDepth=16
readonly kWrkTimeout=5s
readonly kLoadSlackSeconds=30     # a load generator may take this much longer than DURATION
readonly kAbMaxRate=200000        # ab -t stops at -n requests: -n is DURATION times this
readonly kSmallFile=index.html    # 1 KiB
readonly kLargeFile=10m.bin       # 10 MiB
readonly kSpareConnections=1000   # every server allows IDLE_CONNECTIONS + this many
readonly kMinConnectionLimit=4096
readonly kSpareHeartbeatIds=1000
readonly all_scenarios=(S1 S2 S3 S4 S5 S6 S7)
readonly all_servers=(nginx lighttpd h2o pulse)

bad_setting() { echo "bench: $*" >&2; exit 2; }
whole() {
  if ! [[ $2 =~ ^[1-9][0-9]*$ ]] || (($2 > $3)); then bad_setting "$1 must be a whole number, 1..$3"; fi
}

smoke=${SMOKE:-0}
threads2=${THREADS2:-0}
[[ $smoke == [01] && $threads2 == [01] ]] || bad_setting "SMOKE and THREADS2 are 0 or 1"
if ((smoke)); then
  duration=${DURATION:-1} rounds=${ROUNDS:-1}
  idle_connections=${IDLE_CONNECTIONS:-200} heartbeat_ids=${HEARTBEAT_IDS:-20000}
  idle_hold=1
  default_results=${TMPDIR:-/tmp}/pulse-bench-smoke.md
else
  duration=${DURATION:-5} rounds=${ROUNDS:-3}
  idle_connections=${IDLE_CONNECTIONS:-5000} heartbeat_ids=${HEARTBEAT_IDS:-200000}
  idle_hold=3
  default_results=$bench_dir/results.md
fi
whole DURATION "$duration" 600
whole ROUNDS "$rounds" 20
whole IDLE_CONNECTIONS "$idle_connections" 50000
whole HEARTBEAT_IDS "$heartbeat_ids" 10000000

if ((threads2)); then
  workers=2 wrk_threads=2 default_scenarios="S1 S2 S3 S4"
  ((smoke)) || default_results=$bench_dir/results-threads2.md
else
  workers=1 wrk_threads=1 default_scenarios="${all_scenarios[*]}"
fi
results_file=${RESULTS:-$default_results}
read -r -a scenario_names <<<"${SCENARIOS:-$default_scenarios}"
read -r -a servers <<<"${SERVERS:-${all_servers[*]}}"
for s in "${scenario_names[@]}"; do
  [[ " ${all_scenarios[*]} " == *" $s "* ]] || bad_setting "unknown scenario '$s' (known: ${all_scenarios[*]})"
  ((threads2 == 0)) || [[ " $default_scenarios " == *" $s "* ]] || bad_setting "THREADS2 runs S1-S4 only, not $s"
done
for s in "${servers[@]}"; do
  [[ " ${all_servers[*]} " == *" $s "* ]] || bad_setting "unknown server '$s' (known: ${all_servers[*]})"
done
((${#scenario_names[@]} > 0 && ${#servers[@]} > 0)) || bad_setting "SCENARIOS and SERVERS may not be empty"

# Two workers share both cores with the load generator: nothing is pinned then.
cpus=$(nproc)
pin=${PIN:-$((cpus >= 2 && threads2 == 0 ? 1 : 0))}
if [[ $pin == 1 ]] && ((cpus >= 2)) && command -v taskset >/dev/null; then
  server_cpu=(taskset -c 0)
  client_cpu=(taskset -c 1)
else
  pin=0 server_cpu=() client_cpu=()
fi

find_bin() { command -v "$1" 2>/dev/null || { [[ -x /usr/sbin/$1 ]] && echo "/usr/sbin/$1"; } || echo "/usr/bin/$1"; }
nginx_bin=${NGINX_BIN:-$(find_bin nginx)}
lighttpd_bin=${LIGHTTPD_BIN:-$(find_bin lighttpd)}
h2o_bin=${H2O_BIN:-$(find_bin h2o)}
for tool in wrk ab curl python3 setsid timeout cmp; do
  command -v "$tool" >/dev/null || die "$tool not found (scripts/setup.sh all installs what the benchmark needs)"
done
for s in "${servers[@]}"; do
  case $s in
    nginx) [[ -x $nginx_bin ]] || die "nginx not found (scripts/setup.sh all installs nginx-light)" ;;
    lighttpd) [[ -x $lighttpd_bin ]] || die "lighttpd not found (scripts/setup.sh all installs it)" ;;
    h2o) [[ -x $h2o_bin ]] || die "h2o not found (scripts/setup.sh all installs it)" ;;
  esac
done
# The load generator's own CPU time, needed for the NOISY mark; without it the mark is unknown.
[[ -x /usr/bin/time ]] || log "/usr/bin/time missing (package time): runs get no NOISY check"

# Connection and descriptor limits: S5 holds IDLE_CONNECTIONS open; lighttpd wants twice as many
# descriptors as connections.
connection_limit=$((idle_connections + kSpareConnections))
((connection_limit >= kMinConnectionLimit)) || connection_limit=$kMinConnectionLimit
fd_limit=$((2 * connection_limit + 64))
if (($(ulimit -n) < fd_limit)) && ! ulimit -n "$fd_limit" 2>/dev/null; then
  [[ " ${scenario_names[*]} " != *" S5 "* ]] ||
    die "S5 with $idle_connections connections needs $fd_limit descriptors, but ulimit -Hn is $(ulimit -Hn): raise it or lower IDLE_CONNECTIONS"
  fd_limit=$(ulimit -n)
fi

lib_init bench

# --- build -----------------------------------------------------------------------------------------

if [[ -n ${PULSE_BIN:-} ]]; then
  pulse_bin=$PULSE_BIN
elif [[ " ${servers[*]} " == *" pulse "* ]]; then
  log "building pulsehttpd (Release) in build/bench"
  cmake -S "$repo_dir" -B "$repo_dir/build/bench" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DPULSE_BUILD_TESTS=OFF >/dev/null
  cmake --build "$repo_dir/build/bench" -j2 --target pulsehttpd >&2
  pulse_bin=$repo_dir/build/bench/src/app/pulsehttpd
else
  pulse_bin=
fi
[[ -z $pulse_bin || -x $pulse_bin ]] || die "pulsehttpd not found at $pulse_bin"

# --- docroot: the same files for every server ------------------------------------------------------

docroot=$work_dir/www
mkdir -p "$docroot"
{
  printf '<!doctype html>\n<html><head><meta charset="utf-8"><title>bench</title></head><body>\n'
  for ((i = 0; i < 14; i++)); do
    printf '<p>Pulse benchmark page, paragraph %02d: static bytes for a 1 KiB response.</p>\n' "$i"
  done
} | head -c 1024 >"$docroot/$kSmallFile"
head -c $((10 * 1024 * 1024)) /dev/urandom >"$docroot/$kLargeFile"

# --- servers: each gets a fresh config in the temp dir, a free port, the same docroot --------------
# Each start_* sets server_pid and server_port. setsid puts a server in its own process group: a
# master that signals its group (lighttpd with workers does) then never reaches this script.

server_pid=
server_port=

launch() {
  local dir=$1
  shift
  "${server_cpu[@]}" setsid "$@" >"$dir/out" 2>&1 &
  server_pid=$!
  track_pid "$server_pid"
}

start_nginx() {
  local dir=$work_dir/nginx master=off user_line=
  # master_process off runs one process whatever worker_processes says. A master started as root
  # runs its workers as "nobody", who cannot read the temp docroot: they keep the current user.
  if ((workers > 1)); then
    master=on
    ((EUID != 0)) || user_line="user $(id -un);"
  fi
  mkdir -p "$dir/tmp"
  cat >"$dir/nginx.conf" <<EOF
daemon off;
master_process $master;
$user_line
worker_processes $workers;
worker_rlimit_nofile $fd_limit;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events {
  worker_connections $connection_limit;
  use epoll;
}
http {
  access_log off;
  server_tokens off;
  types {
    text/html html;
    application/octet-stream bin;
  }
  default_type application/octet-stream;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65s;
  keepalive_requests 100000000;
  open_file_cache max=1000 inactive=60s;
  open_file_cache_valid 1s;
  server {
    listen $kHost:$server_port;
    root $docroot;
  }
}
EOF
  launch "$dir" "$nginx_bin" -p "$dir/" -e "$dir/error.log" -c "$dir/nginx.conf"
}

start_lighttpd() {
  local dir=$work_dir/lighttpd worker_line=
  ((workers == 1)) || worker_line="server.max-worker = $workers"
  mkdir -p "$dir"
  # max-keep-alive-requests is a 16-bit number in lighttpd; 65535 is its highest.
  cat >"$dir/lighttpd.conf" <<EOF
server.document-root = "$docroot"
server.bind = "$kHost"
server.port = $server_port
server.pid-file = "$dir/lighttpd.pid"
server.errorlog = "$dir/error.log"
server.event-handler = "linux-sysepoll"
server.network-backend = "sendfile"
server.max-fds = $fd_limit
server.max-connections = $connection_limit
server.max-keep-alive-requests = 65535
server.max-keep-alive-idle = 60
server.max-read-idle = 60
server.stat-cache-engine = "simple"
index-file.names = ( "index.html" )
mimetype.assign = ( ".html" => "text/html", ".bin" => "application/octet-stream" )
$worker_line
EOF
  launch "$dir" "$lighttpd_bin" -D -f "$dir/lighttpd.conf"
}

# h2o 2.2 has no sendfile; it reads files into its buffers. Run as root, it would switch to
# "nobody", who cannot read the temp docroot: it keeps the current user.
start_h2o() {
  local dir=$work_dir/h2o
  mkdir -p "$dir"
  cat >"$dir/h2o.conf" <<EOF
listen:
  host: $kHost
  port: $server_port
num-threads: $workers
max-connections: $connection_limit
http1-request-timeout: 60
pid-file: $dir/h2o.pid
error-log: $dir/error.log
user: $(id -un)
hosts:
  default:
    paths:
      /:
        file.dir: $docroot
EOF
  launch "$dir" "$h2o_bin" -c "$dir/h2o.conf"
}

start_pulse() {
  local dir=$work_dir/pulse
  mkdir -p "$dir"
  launch "$dir" "$pulse_bin" --bind "$kHost" --port "$server_port" --root "$docroot" \
    --threads "$workers" --access-log off --max-requests-per-connection 0 \
    --max-connections "$connection_limit" --keepalive-timeout 60s \
    --heartbeat-max-clients $((heartbeat_ids + kSpareHeartbeatIds))
}

# start_server NAME: a fresh instance on a free port, listening, or the script stops.
start_server() {
  local name=$1 attempt
  for attempt in 1 2 3; do
    rm -rf -- "${work_dir:?}/$name"
    server_port=$(free_port)
    case $name in
      nginx) start_nginx ;;
      lighttpd) start_lighttpd ;;
      h2o) start_h2o ;;
      pulse) start_pulse ;;
    esac
    if wait_listening "$server_pid" "$server_port"; then return 0; fi
    stop_pid "$server_pid"
    log "$name did not start on port $server_port (attempt $attempt)"
  done
  cat "$work_dir/$name/out" "$work_dir/$name/error.log" >&2 2>/dev/null || true
  die "$name did not start"
}

# Before any timing: 200 and byte-exact bodies for every test file.
check_server() {
  local name=$1 file status
  for file in "$kSmallFile" "$kLargeFile"; do
    status=$(curl -s -o "$work_dir/check.body" -w '%{http_code}' --max-time 20 \
      "http://$kHost:$server_port/$file" || true)
    [[ $status == 200 ]] || die "$name: GET /$file answered '$status', not 200"
    cmp -s "$work_dir/check.body" "$docroot/$file" || die "$name: GET /$file: the body differs from the file"
  done
  rm -f "$work_dir/check.body"
}

# A thousand small requests first: buffers, caches and allocator arenas exist before the timing.
warm_up() {
  timeout 20 "${client_cpu[@]}" ab -q -k -c 10 -n 1000 "http://$kHost:$server_port/$kSmallFile" \
    >/dev/null 2>&1 || log "warm-up of $1 failed (the timed run will show why)"
}

# --- timed runs ------------------------------------------------------------------------------------

raw_file=$work_dir/raw.tsv
flags_file=$work_dir/flags.tsv
printf 'scenario\tserver\tround\tload\trequests\terrors\tseconds\tbytes\tp50_us\tserver_cpu_s\tloadgen_cpu_s\tother_core_pct\tkib_per_conn\n' >"$raw_file"
: >"$flags_file"

keep_raw() {
  [[ -n ${RAW_DIR:-} ]] || return 0
  mkdir -p "$RAW_DIR"
  cp "$1" "$RAW_DIR/$(basename "$1")"
}

# flag SCENARIO SERVER ROUND TEXT: makes that run INVALID in the report.
flag() { printf '%s\t%s\t%s\t%s\n' "$@" >>"$flags_file"; log "INVALID: $2 $1 round $3: $4"; }

# timed_run SCENARIO SERVER ROUND LOAD wrk|ab COMMAND...: runs the load generator on its core,
# bounded by timeout, reads the server's CPU time and every CPU's busy time around it, and
# appends one row to raw.tsv.
timed_run() {
  local scenario=$1 server=$2 round=$3 load=$4 kind=$5
  shift 5
  local out=$work_dir/$scenario.$server.r$round.$load.txt
  local timing=()
  [[ ! -x /usr/bin/time ]] || timing=(/usr/bin/time -f '%U %S' -o "$out.time")
  local busy_before cpu_before started busy_after cpu_after ended pid
  busy_before=$(system_busy_ticks)
  cpu_before=$(cpu_ticks "$server_pid")
  started=$EPOCHREALTIME
  # In the background and waited for, so that Ctrl-C or SIGTERM reaches the cleanup at once.
  timeout --kill-after=5 $((duration + kLoadSlackSeconds)) "${timing[@]}" "${client_cpu[@]}" "$@" \
    >"$out" 2>&1 &
  pid=$!
  track_pid "$pid"
  reap_pid "$pid"
  local status=$stopped_status
  ended=$EPOCHREALTIME
  cpu_after=$(cpu_ticks "$server_pid")
  busy_after=$(system_busy_ticks)
  keep_raw "$out"

  local requests=0 seconds=0 bytes=0 p50=- errors=0 parsed
  if parsed=$(python3 "$bench_dir/parse_load.py" "$kind" "$out"); then
    read -r requests seconds bytes p50 errors <<<"$parsed"
  fi
  if [[ $status != 0 || $requests == 0 ]]; then
    tail -n 20 "$out" >&2
    flag "$scenario" "$server" "$round" "$kind exited with status $status after $requests requests"
  fi
  local loadgen=- other=-
  if [[ -s $out.time ]]; then
    loadgen=$(tail -n 1 "$out.time" | awk '{printf "%.2f", $1 + $2}')
    other=$(awk -v busy=$((busy_after - busy_before)) -v server=$((cpu_after - cpu_before)) \
      -v loadgen="$loadgen" -v hz="$kClockTicks" -v wall="$(awk -v a="$started" -v b="$ended" 'BEGIN {print b - a}')" \
      'BEGIN {printf "%.1f", (busy - server - loadgen * hz) / hz / wall * 100}')
  fi
  local server_cpu
  server_cpu=$(awk -v t=$((cpu_after - cpu_before)) -v hz="$kClockTicks" 'BEGIN {printf "%.2f", t / hz}')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t-\n' "$scenario" "$server" "$round" "$load" \
    "$requests" "$errors" "$seconds" "$bytes" "$p50" "$server_cpu" "$loadgen" "$other" >>"$raw_file"
}

# wrk_run SCENARIO SERVER ROUND LOAD CONNECTIONS PATH [wrk options...] [-- script args...]
wrk_run() {
  local scenario=$1 server=$2 round=$3 load=$4 connections=$5 path=$6
  shift 6
  local options=() script_args=()
  while (($# > 0)) && [[ $1 != -- ]]; do options+=("$1"); shift; done
  if (($# > 0)); then shift; script_args=(-- "$@"); fi
  timed_run "$scenario" "$server" "$round" "$load" wrk wrk -t"$wrk_threads" -c"$connections" \
    -d"${duration}s" --timeout "$kWrkTimeout" --latency "${options[@]}" \
    "http://$kHost:$server_port$path" "${script_args[@]}"
}

run_S1() { warm_up "$1"; wrk_run S1 "$1" "$2" keepalive 50 "/$kSmallFile"; }

# ab without -k speaks HTTP/1.0 and closes after each response: one connection per request, as the
# issue's S2 asks (wrk would send HTTP/1.1 with "Connection: close").
run_S2() {
  warm_up "$1"
  timed_run S2 "$1" "$2" close ab ab -r -c 50 -t "$duration" -n $((duration * kAbMaxRate)) \
    "http://$kHost:$server_port/$kSmallFile"
}

run_S3() {
  warm_up "$1"
  wrk_run S3 "$1" "$2" pipelined 50 "/$kSmallFile" -s "$bench_dir/pipeline.lua" -- "$kPipelineDepth"
}

run_S4() { wrk_run S4 "$1" "$2" large 8 "/$kLargeFile"; }

run_S5() {
  local server=$1 round=$2 out=$work_dir/S5.$1.r$2.idle.txt pid
  timeout --kill-after=5 $((idle_hold + 120)) "${client_cpu[@]}" python3 "$bench_dir/idle_connections.py" \
    --port "$server_port" --pid "$server_pid" --count "$idle_connections" --hold "$idle_hold" \
    --path "/$kSmallFile" >"$out" 2>"$out.err" &
  pid=$!
  track_pid "$pid"
  reap_pid "$pid"
  local status=$stopped_status
  keep_raw "$out"
  value() { awk -v k="$1" '$1 == k {print $2}' "$out"; }
  local opened failed closed before after
  opened=$(value opened) failed=$(value failed) closed=$(value closed)
  before=$(value before_kib) after=$(value after_kib)
  if [[ $status != 0 || -z $opened ]]; then
    cat "$out.err" >&2
    flag S5 "$server" "$round" "idle_connections.py exited with status $status"
    opened=0 failed=$idle_connections closed=0 before=0 after=0
  fi
  ((failed + closed == 0)) || head -n 5 "$out.err" >&2
  printf 'S5\t%s\t%s\tidle\t%s\t%s\t%s\t-\t-\t-\t-\t-\t%s\n' "$server" "$round" $((opened + failed)) \
    $((failed + closed)) "$idle_hold" \
    "$(awk -v a="$after" -v b="$before" -v n="$opened" 'BEGIN {if (n > 0) printf "%.2f", (a - b) / n; else print "-"}')" >>"$raw_file"
}

run_S6() { warm_up "$1"; wrk_run S6 "$1" "$2" c1 1 "/$kSmallFile"; }

# S7, Pulse only: the registry holds every id before the timing; then a static run and a beat run
# with the same wrk script (so wrk's own work per request is the same), order alternating by round.
run_S7() {
  local server=$1 round=$2 load registered
  registered=$(timeout 180 "${client_cpu[@]}" python3 "$bench_dir/register_ids.py" --port "$server_port" \
    --count "$heartbeat_ids") || die "pulse: registering $heartbeat_ids heartbeat ids failed"
  log "$registered ids"
  warm_up "$server"
  local loads=(static beat)
  ((round % 2 == 1)) || loads=(beat static)
  for load in "${loads[@]}"; do
    wrk_run S7 "$server" "$round" "$load" 50 "/$kSmallFile" -s "$bench_dir/heartbeat.lua" -- \
      "$load" "$heartbeat_ids" bench-
  done
}

# After a run: a server that died is INVALID; pulsehttpd must also exit 0 on SIGTERM.
finish_server() {
  local name=$1 scenario=$2 round=$3
  is_running "$server_pid" || flag "$scenario" "$name" "$round" "the server died during the run"
  stop_pid "$server_pid"
  if [[ $name == pulse && $stopped_status != 0 ]]; then
    flag "$scenario" "$name" "$round" "pulsehttpd exit status $stopped_status after SIGTERM"
  fi
}

# --- run: every scenario, every round, every server restarted, the order rotating ------------------

log "pinned: $([[ $pin == 1 ]] && echo 'servers CPU 0, load generator CPU 1' || echo no); $workers worker(s) each;" \
  "${rounds} round(s) x ${duration} s; scenarios ${scenario_names[*]}; servers ${servers[*]}"
started_at=$SECONDS
for scenario in "${scenario_names[@]}"; do
  here=("${servers[@]}")
  if [[ $scenario == S7 ]]; then
    [[ " ${servers[*]} " == *" pulse "* ]] || { log "S7 needs pulse in SERVERS: skipped"; continue; }
    here=(pulse)
  fi
  for ((round = 1; round <= rounds; round++)); do
    # Round 1: A B C D; round 2: B C D A; ...: each server takes each place, and drift on the
    # machine falls on all of them.
    order=()
    for ((i = 0; i < ${#here[@]}; i++)); do order+=("${here[(i + round - 1) % ${#here[@]}]}"); done
    for server in "${order[@]}"; do
      log "$scenario round $round/$rounds: $server"
      start_server "$server"
      check_server "$server"
      case $scenario in
        S1) run_S1 "$server" "$round" ;;
        S2) run_S2 "$server" "$round" ;;
        S3) run_S3 "$server" "$round" ;;
        S4) run_S4 "$server" "$round" ;;
        S5) run_S5 "$server" "$round" ;;
        S6) run_S6 "$server" "$round" ;;
        S7) run_S7 "$server" "$round" ;;
      esac
      finish_server "$server" "$scenario" "$round"
    done
  done
done
elapsed=$((SECONDS - started_at))
[[ -z ${RAW_DIR:-} ]] || cp "$raw_file" "$flags_file" "$RAW_DIR/"

# --- report ----------------------------------------------------------------------------------------

version_of() {
  case $1 in
    nginx) "$nginx_bin" -v 2>&1 | sed -n 's|^nginx version: nginx/||p' ;;
    lighttpd) "$lighttpd_bin" -v 2>&1 | sed -n 's|^lighttpd/\([^ ]*\).*|\1|p' ;;
    h2o) "$h2o_bin" --version 2>&1 | sed -n 's/^h2o version //p' ;;
    pulse) "$pulse_bin" --version 2>&1 | awk 'NR == 1 {print $2}' ;;
  esac | head -n 1
}
labels=()
for s in "${servers[@]}"; do
  v=$(version_of "$s" || true)
  case $s in pulse) labels+=("$s=Pulse ${v:-?}") ;; *) labels+=("$s=$s ${v:-?}") ;; esac
done
cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
wrk_version=$(wrk -v 2>&1 | awk 'NR == 1 {print $2}' || true)
ab_version=$(ab -V 2>&1 | sed -n 's/.*Version \([^ ]*\).*/\1/p' | head -n 1 || true)
if ((threads2)); then
  title="Pulse, nginx, lighttpd and h2o: two workers each"
  setup="two workers per server (nginx worker_processes 2, lighttpd server.max-worker 2, h2o num-threads 2, pulsehttpd --threads 2), wrk -t2"
else
  title="Pulse, nginx, lighttpd and h2o: one worker each"
  setup="one worker per server (nginx worker_processes 1, lighttpd single-process, h2o num-threads 1, pulsehttpd --threads 1), wrk -t1"
fi
if [[ $pin == 1 ]]; then setup+=", servers pinned to CPU 0 and the load generator to CPU 1"; else setup+=", not pinned"; fi
((smoke == 0)) || title+=" (SMOKE run: checks the script, not speed)"

report_status=0
python3 "$bench_dir/report.py" --raw "$raw_file" --flags "$flags_file" --title "$title" \
  --idle "$idle_connections" --ids "$heartbeat_ids" \
  --meta "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')" \
  --meta "machine: $cpus cores (\`nproc\`)${cpu_model:+, $cpu_model}, kernel $(uname -r)" \
  --meta "load generators: wrk ${wrk_version:-?}; ab ${ab_version:-?} for S2; bench/idle_connections.py for S5" \
  --meta "method: $setup; every server restarted for every run; $rounds round(s) x $duration s, the order rotating each round, medians; S5 holds $idle_connections connections, S7 beats from $heartbeat_ids ids" \
  --meta "wall time of the runs: $elapsed s" \
  "${labels[@]/#/--label=}" >"$results_file" || report_status=$?
cat "$results_file"
log "report written to $results_file"
((report_status == 0 || report_status == 3)) || die "report.py failed (status $report_status)"
exit "$report_status"
