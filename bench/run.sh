#!/usr/bin/env bash
# Benchmarks pulsehttpd against nginx side by side in one run and writes bench/results.md.
# Both servers get one worker on 127.0.0.1; wrk takes the other core. Scenarios are interleaved.
#
# Environment:
#   DURATION   seconds per wrk run (default 5)
#   ROUNDS     runs per scenario and server, alternating the order each round (default 2)
#   PULSE_BIN  use this pulsehttpd instead of building build/bench
#   NGINX_BIN  nginx binary (default: nginx on PATH)
#   PIN        1: pin servers to CPU 0 and wrk to CPU 1 with taskset (default 1 when nproc >= 2)
#   RESULTS    where to write the Markdown report (default bench/results.md)
#   SCENARIOS  space-separated subset of: small_keepalive medium_keepalive large_keepalive
#              small_close healthz pipelined (default: all)
#   RAW_DIR    if set, keep every raw wrk output in this directory
set -euo pipefail

readonly kHost=127.0.0.1
readonly kStartupTimeoutSeconds=15
readonly kStopTimeoutSeconds=10
readonly kWarmupSeconds=1
readonly kPipelineDepth=16
readonly kWrkTimeout=5s

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(cd "$bench_dir/.." && pwd)
duration=${DURATION:-5}
rounds=${ROUNDS:-2}
results_file=${RESULTS:-$bench_dir/results.md}
nginx_bin=${NGINX_BIN:-$(command -v nginx || echo /usr/sbin/nginx)}

die() { echo "bench: $*" >&2; exit 1; }
log() { echo "bench: $*" >&2; }

[[ $duration =~ ^[1-9][0-9]*$ ]] || die "DURATION must be a positive whole number of seconds"
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive whole number"
((duration <= 600)) || die "DURATION above 600 s is not a benchmark this script should run"
((rounds <= 20)) || die "ROUNDS above 20 is not a benchmark this script should run"
command -v wrk >/dev/null || die "wrk not found (scripts/setup.sh all installs it)"
[[ -x $nginx_bin ]] || die "nginx not found (scripts/setup.sh all installs nginx-light)"

cpus=$(nproc)
pin=${PIN:-$((cpus >= 2 ? 1 : 0))}
if [[ $pin == 1 ]] && command -v taskset >/dev/null && ((cpus >= 2)); then
  server_cpu=(taskset -c 0)
  client_cpu=(taskset -c 1)
else
  pin=0
  server_cpu=()
  client_cpu=()
fi

# --- cleanup: only the PIDs this script started, only the temp dir it made --------------------------

work_dir=$(mktemp -d "${TMPDIR:-/tmp}/pulse-bench.XXXXXX")
started_pids=()

# True while the child runs; an exited child that is not reaped yet (a zombie) does not count.
is_running() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)
  [[ -n $state && $state != Z ]]
}

stop_pid() {
  local pid=$1 waited=0
  if is_running "$pid"; then kill -TERM "$pid" 2>/dev/null || true; fi
  while is_running "$pid" && ((waited < kStopTimeoutSeconds * 10)); do
    sleep 0.1
    waited=$((waited + 1))
  done
  if is_running "$pid"; then
    log "pid $pid ignored SIGTERM for ${kStopTimeoutSeconds}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  forget_pid "$pid"
}

# Once reaped, a PID may be reused by someone else's process: never signal it again.
forget_pid() {
  local kept=() p
  for p in "${started_pids[@]}"; do [[ $p == "$1" ]] || kept+=("$p"); done
  started_pids=("${kept[@]}")
}

cleanup() {
  local pid
  for pid in "${started_pids[@]}"; do stop_pid "$pid"; done
  rm -rf -- "$work_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

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

# --- docroot ---------------------------------------------------------------------------------------

docroot=$work_dir/www
mkdir -p "$docroot"
{
  printf '<!doctype html>\n<html><head><meta charset="utf-8"><title>bench</title></head><body>\n'
  for ((i = 0; i < 14; i++)); do
    printf '<p>Pulse benchmark page, paragraph %02d: static bytes for a 1 KiB response.</p>\n' "$i"
  done
} >"$work_dir/page.html"
head -c 1024 "$work_dir/page.html" >"$docroot/index.html"
rm -f "$work_dir/page.html"
head -c $((64 * 1024)) /dev/urandom >"$docroot/64k.bin"
head -c $((4 * 1024 * 1024)) /dev/urandom >"$docroot/4m.bin"
size_index_html=$(stat -c %s "$docroot/index.html")
size_64k_bin=$(stat -c %s "$docroot/64k.bin")
size_4m_bin=$(stat -c %s "$docroot/4m.bin")

# --- servers ---------------------------------------------------------------------------------------

free_port() {
  if command -v python3 >/dev/null; then
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
  else
    echo $((20000 + RANDOM % 12000))
  fi
}

# Polls until a TCP connect to the port succeeds or the process dies.
wait_listening() {
  local pid=$1 port=$2 tries=0
  while ((tries < kStartupTimeoutSeconds * 10)); do
    is_running "$pid" || return 1
    if (exec 3<>"/dev/tcp/$kHost/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
    tries=$((tries + 1))
  done
  return 1
}

start_pulse() {
  local out=$work_dir/pulse.out
  "${server_cpu[@]}" "$pulse_bin" --bind "$kHost" --port 0 --root "$docroot" --threads 1 \
    --access-log off --max-requests-per-connection 0 >"$out" 2>"$work_dir/pulse.err" &
  pulse_pid=$!
  started_pids+=("$pulse_pid")
  local tries=0
  pulse_port=
  while ((tries < kStartupTimeoutSeconds * 10)); do
    is_running "$pulse_pid" || break
    pulse_port=$(sed -n 's|^pulsehttpd listening on http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$out" | head -n1)
    [[ -n $pulse_port ]] && break
    sleep 0.1
    tries=$((tries + 1))
  done
  if [[ -z $pulse_port ]] || ! wait_listening "$pulse_pid" "$pulse_port"; then
    cat "$out" "$work_dir/pulse.err" >&2 || true
    die "pulsehttpd did not start"
  fi
}

# nginx as a fair peer: one process, sendfile, open_file_cache, unlimited keep-alive requests.
write_nginx_conf() {
  local port=$1 prefix=$work_dir/nginx
  mkdir -p "$prefix/tmp"
  cat >"$prefix/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $prefix/nginx.pid;
error_log $prefix/error.log warn;

events {
  worker_connections 4096;
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
  client_body_temp_path $prefix/tmp/body;
  proxy_temp_path $prefix/tmp/proxy;
  fastcgi_temp_path $prefix/tmp/fastcgi;
  uwsgi_temp_path $prefix/tmp/uwsgi;
  scgi_temp_path $prefix/tmp/scgi;

  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65s;
  keepalive_requests 100000000;
  open_file_cache max=1000 inactive=60s;
  open_file_cache_valid 1s;
  open_file_cache_errors on;

  server {
    listen $kHost:$port;
    root $docroot;
    location = /healthz {
      default_type text/plain;
      add_header Cache-Control no-store;
      return 200 "ok\n";
    }
  }
}
EOF
}

start_nginx() {
  local attempt
  for attempt in 1 2 3 4 5; do
    nginx_port=$(free_port)
    write_nginx_conf "$nginx_port"
    "${server_cpu[@]}" "$nginx_bin" -p "$work_dir/nginx/" -e "$work_dir/nginx/error.log" \
      -c "$work_dir/nginx/nginx.conf" >"$work_dir/nginx.out" 2>&1 &
    nginx_pid=$!
    started_pids+=("$nginx_pid")
    if wait_listening "$nginx_pid" "$nginx_port"; then return 0; fi
    stop_pid "$nginx_pid"
    log "nginx failed to start on port $nginx_port (attempt $attempt)"
  done
  cat "$work_dir/nginx.out" "$work_dir/nginx/error.log" >&2 2>/dev/null || true
  die "nginx did not start"
}

# --- correctness check before timing: right status and size from both servers ----------------------

# check_get NAME URL STATUS [SIZE]: without curl, wrk's error counts are the only check.
check_get() {
  local name=$1 url=$2 want_status=$3 want_size=${4:-} got status size
  command -v curl >/dev/null || return 0
  got=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' --max-time 10 "$url" || true)
  read -r status size <<<"$got"
  [[ $status == "$want_status" && ( -z $want_size || $size == "$want_size" ) ]] ||
    die "$name: GET $url gave '$got', expected '$want_status${want_size:+ $want_size}'"
}

# --- wrk runs and parsing --------------------------------------------------------------------------

# Converts wrk's "1.23ms" / "850.00us" / "1.02s" to milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
    printf "%.3f", n }'
}

# Converts wrk's "12.34MB" / "900.00KB" / "1.10GB" / "512.00B" to MB (MiB, as wrk prints them).
to_mb() {
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "B") n /= 1048576; else if (u == "KB") n /= 1024; else if (u == "GB") n *= 1024
    else if (u == "TB") n *= 1048576
    printf "%.3f", n }'
}

keep_raw() {
  [[ -n ${RAW_DIR:-} ]] || return 0
  mkdir -p "$RAW_DIR"
  local n=1
  while [[ -e $RAW_DIR/$2.$3.$n.txt ]] && ((n < 1000)); do n=$((n + 1)); done
  cp "$1" "$RAW_DIR/$2.$3.$n.txt"
}

# run_wrk SERVER SCENARIO URL CONNECTIONS [wrk options...] [-- script args...]:
# appends "req/s MB/s p99-ms errors" to the scenario's result file.
run_wrk() {
  local server=$1 scenario=$2 url=$3 conns=$4
  shift 4
  local options=() script_args=()
  while (($# > 0)) && [[ $1 != -- ]]; do options+=("$1"); shift; done
  if (($# > 0)); then shift; script_args=(-- "$@"); fi
  local out=$work_dir/wrk.$server.$scenario.txt
  # In the background and waited for, so that Ctrl-C or SIGTERM reaches the cleanup at once.
  timeout $((duration + 20)) "${client_cpu[@]}" wrk -t1 -c"$conns" -d"${duration}s" \
    --timeout "$kWrkTimeout" --latency "${options[@]}" "$url" "${script_args[@]}" >"$out" 2>&1 &
  local wrk_pid=$! wrk_status=0
  started_pids+=("$wrk_pid")
  wait "$wrk_pid" || wrk_status=$?
  forget_pid "$wrk_pid"
  if ((wrk_status != 0)); then
    cat "$out" >&2
    log "wrk failed or timed out for $server $scenario"
    keep_raw "$out" "$server" "$scenario"
    echo "0 0 0 1" >>"$work_dir/res.$server.$scenario"
    return 0
  fi
  local rps transfer p99 socket_errors non2xx errors
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  transfer=$(awk '/^Transfer\/sec:/ {print $2}' "$out")
  p99=$(awk '$1 == "99%" {print $2}' "$out")
  # "Socket errors: connect 0, read 0, write 0, timeout 0" appears only when some are non-zero.
  socket_errors=$(awk '/Socket errors:/ {gsub(/,/, ""); print $4 + $6 + $8 + $10}' "$out")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")
  errors=$((${socket_errors:-0} + ${non2xx:-0}))
  if [[ -z $rps ]]; then
    errors=$((errors + 1))
    log "could not read wrk's output for $server $scenario"
  fi
  # wrk 4.1 sometimes prints an all-zero distribution (wg/wrk#354): that round has no p99, not a zero one.
  local p99_ms=-
  if [[ -n $p99 && $p99 != 0.00us ]]; then
    p99_ms=$(to_ms "$p99")
  else
    log "wrk printed no usable p99 for $server $scenario (a wrk artefact); that round's p99 is skipped"
  fi
  if ((errors > 0)); then cat "$out" >&2; fi
  keep_raw "$out" "$server" "$scenario"
  echo "${rps:-0} $(to_mb "${transfer:-0B}") $p99_ms $errors" >>"$work_dir/res.$server.$scenario"
}

all_scenarios=(small_keepalive medium_keepalive large_keepalive small_close healthz pipelined)
read -r -a scenario_names <<<"${SCENARIOS:-${all_scenarios[*]}}"
for scenario in "${scenario_names[@]}"; do
  [[ " ${all_scenarios[*]} " == *" $scenario "* ]] || die "unknown scenario '$scenario' (known: ${all_scenarios[*]})"
done
declare -A scenario_label=(
  [small_keepalive]="1 KiB file, keep-alive, 50 conns"
  [medium_keepalive]="64 KiB file, keep-alive, 50 conns"
  [large_keepalive]="4 MiB file, keep-alive, 8 conns"
  [small_close]="1 KiB file, Connection: close, 50 conns"
  [healthz]="/healthz, keep-alive, 50 conns"
  [pipelined]="1 KiB file, pipelined x$kPipelineDepth, 50 conns"
)

run_scenario() {
  local server=$1 scenario=$2 port
  if [[ $server == pulse ]]; then port=$pulse_port; else port=$nginx_port; fi
  local base="http://$kHost:$port"
  case $scenario in
    small_keepalive) run_wrk "$server" "$scenario" "$base/index.html" 50 ;;
    medium_keepalive) run_wrk "$server" "$scenario" "$base/64k.bin" 50 ;;
    large_keepalive) run_wrk "$server" "$scenario" "$base/4m.bin" 8 ;;
    small_close) run_wrk "$server" "$scenario" "$base/index.html" 50 -H "Connection: close" ;;
    healthz) run_wrk "$server" "$scenario" "$base/healthz" 50 ;;
    pipelined) run_wrk "$server" "$scenario" "$base/index.html" 50 -s "$bench_dir/pipeline.lua" \
      -- "$kPipelineDepth" ;;
  esac
}

# --- run -------------------------------------------------------------------------------------------

start_pulse
start_nginx
log "pulse pid $pulse_pid port $pulse_port; nginx pid $nginx_pid port $nginx_port; pinned=$pin"

for s in pulse nginx; do
  if [[ $s == pulse ]]; then p=$pulse_port; else p=$nginx_port; fi
  check_get "$s" "http://$kHost:$p/index.html" 200 "$size_index_html"
  check_get "$s" "http://$kHost:$p/64k.bin" 200 "$size_64k_bin"
  check_get "$s" "http://$kHost:$p/4m.bin" 200 "$size_4m_bin"
  check_get "$s" "http://$kHost:$p/healthz" 200 3
  check_get "$s" "http://$kHost:$p/missing.html" 404
done

# Warm both servers (page cache, open-file caches) without recording.
for s in pulse nginx; do
  if [[ $s == pulse ]]; then p=$pulse_port; else p=$nginx_port; fi
  timeout $((kWarmupSeconds + 10)) "${client_cpu[@]}" wrk -t1 -c8 -d"${kWarmupSeconds}s" \
    "http://$kHost:$p/index.html" >/dev/null 2>&1 || true
done

started_at=$(date +%s)
for scenario in "${scenario_names[@]}"; do
  for ((r = 1; r <= rounds; r++)); do
    # ABBA order: whoever goes second in one round goes first in the next.
    if ((r % 2 == 1)); then order=(pulse nginx); else order=(nginx pulse); fi
    for s in "${order[@]}"; do
      log "round $r/$rounds: $scenario on $s"
      run_scenario "$s" "$scenario"
    done
  done
done
elapsed=$(($(date +%s) - started_at))

# A server that died under load is the worst result of all: report it rather than a table of zeros.
died=()
is_running "$pulse_pid" || died+=(pulsehttpd)
is_running "$nginx_pid" || died+=(nginx)
if ((${#died[@]} > 0)); then
  cat "$work_dir/pulse.err" "$work_dir/nginx/error.log" >&2 2>/dev/null || true
  log "server(s) died during the runs: ${died[*]}"
fi

read_status_kib() {
  local v
  v=$(awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null || true)
  echo "${v:-n/a}"
}
pulse_hwm=$(read_status_kib "$pulse_pid" VmHWM)
nginx_hwm=$(read_status_kib "$nginx_pid" VmHWM)
pulse_rss=$(read_status_kib "$pulse_pid" VmRSS)
nginx_rss=$(read_status_kib "$nginx_pid" VmRSS)
pulse_size=$(stat -L -c %s "$pulse_bin")
nginx_size=$(stat -L -c %s "$nginx_bin")

# Pulse promises a clean exit (status 0) on SIGTERM; check it while we are here.
pulse_exit=n/a
if is_running "$pulse_pid"; then
  kill -TERM "$pulse_pid"
  pulse_exit=0
  wait_deadline=$((SECONDS + kStopTimeoutSeconds))
  while is_running "$pulse_pid" && ((SECONDS < wait_deadline)); do sleep 0.1; done
  if is_running "$pulse_pid"; then
    pulse_exit="still running ${kStopTimeoutSeconds}s after SIGTERM"
    stop_pid "$pulse_pid"
  else
    wait "$pulse_pid" || pulse_exit=$?
    forget_pid "$pulse_pid"
  fi
fi
stop_pid "$nginx_pid"

# --- report ----------------------------------------------------------------------------------------

# mean_field FILE N: mean of column N over the rounds that have it ("-": missing); sum_field for errors.
mean_field() { awk -v n="$2" '$n != "-" {s += $n; c++} END {if (c) printf "%.2f", s / c; else print "n/a"}' "$1"; }
sum_field() { awk -v n="$2" '{s += $n} END {print s + 0}' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}'; }
fmt_int() { awk -v v="$1" 'BEGIN {printf "%.0f", v}'; }

pulse_version=$( ("$pulse_bin" --version 2>/dev/null || true) | head -n1)
pulse_version=${pulse_version:-pulsehttpd (version unknown)}
nginx_version=$( ("$nginx_bin" -v 2>&1 || true) | sed 's/^nginx version: //' | head -n1)
wrk_version=$( (wrk -v 2>&1 || true) | head -n1 | awk '{print $1, $2}')
cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)

flagged=0
table=$(
  echo "| scenario | pulse req/s | nginx req/s | pulse/nginx | pulse MB/s | nginx MB/s | pulse p99 ms | nginx p99 ms | errors pulse / nginx |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---|"
  for scenario in "${scenario_names[@]}"; do
    pf=$work_dir/res.pulse.$scenario
    nf=$work_dir/res.nginx.$scenario
    p_rps=$(mean_field "$pf" 1)
    n_rps=$(mean_field "$nf" 1)
    p_err=$(sum_field "$pf" 4)
    n_err=$(sum_field "$nf" 4)
    errors="$p_err / $n_err"
    if ((p_err + n_err > 0)); then errors="**FLAGGED: $errors**"; fi
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "${scenario_label[$scenario]}" \
      "$(fmt_int "$p_rps")" "$(fmt_int "$n_rps")" "$(ratio "$p_rps" "$n_rps")" \
      "$(mean_field "$pf" 2)" "$(mean_field "$nf" 2)" "$(mean_field "$pf" 3)" "$(mean_field "$nf" 3)" "$errors"
  done
  echo
  echo "| memory and size | pulse | nginx | pulse/nginx |"
  echo "|---|---:|---:|---:|"
  printf '| peak RSS (VmHWM), KiB | %s | %s | %s |\n' "$pulse_hwm" "$nginx_hwm" "$(ratio "$pulse_hwm" "$nginx_hwm")"
  printf '| RSS after the runs (VmRSS), KiB | %s | %s | %s |\n' "$pulse_rss" "$nginx_rss" "$(ratio "$pulse_rss" "$nginx_rss")"
  printf '| binary size on disk, bytes | %s | %s | %s |\n' "$pulse_size" "$nginx_size" "$(ratio "$pulse_size" "$nginx_size")"
)
grep -q FLAGGED <<<"$table" && flagged=1
if ((${#died[@]} > 0)) || [[ $pulse_exit != 0 ]]; then flagged=1; fi

{
  echo "# Pulse vs nginx benchmark"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "- machine: $cpus cores (\`nproc\`)${cpu_model:+, $cpu_model}, kernel $(uname -r)"
  echo "- versions: $pulse_version; $nginx_version; $wrk_version"
  echo "- method: one worker per server, both on $kHost in the same run; wrk -t1; ${rounds} round(s) x ${duration} s"
  echo "  per scenario and server, order alternated each round; CPU pinning (server CPU 0, wrk CPU 1): $([[ $pin == 1 ]] && echo yes || echo no);"
  echo "  req/s, MB/s and p99 are means over rounds; errors are summed (socket errors + non-2xx/3xx)."
  echo "  p99 is per pipelined batch in the pipelined row (wrk times a batch, not each request)."
  echo "- wall time of the timed runs: ${elapsed} s"
  echo
  echo "$table"
  echo
  echo "- pulsehttpd exit status after SIGTERM: $pulse_exit"
  if ((${#died[@]} > 0)); then echo "- **died during the runs: ${died[*]}**"; fi
  echo
  if ((flagged)); then
    echo "**FLAGGED: errors, a crash or an unclean exit: the affected rows do not measure a healthy server.**"
    echo
  fi
  echo "Ratios above 1 mean Pulse served more; for memory and size, below 1 means Pulse is smaller."
  echo "This is a shared, noisy 2-core machine: compare the ratios within this run, not absolute numbers across runs."
} >"$results_file"

cat "$results_file"
((flagged == 0)) || exit 3
