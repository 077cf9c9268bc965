#!/usr/bin/env bash
# Soak: pulsehttpd under a mixed load for DURATION seconds, then proof that it gave back what it
# took: open descriptors, threads and resident memory after a settle period agree with before,
# and no client saw a status it should not have. Prints a summary table.
#
# Usage: bench/soak.sh DURATION        (whole seconds, 1..3600)
#
# Load, all at once: keep-alive GETs (wrk, else ab -k), HTTP/1.0 GETs without keep-alive (ab),
# pipelined GETs, 1 MiB downloads with ranges and conditional GETs (curl), beats from many ids
# with sign-offs (curl and `pulsehttpd beat`), event-stream watchers (curl -N), clients that
# reset mid-response, and slow clients (a byte a second, in the headers or in the body).
#
# Environment:
#   PULSE_BIN  use this pulsehttpd instead of building build/soak
#   SETTLE     seconds between the end of the load and the second measurement (default 6; more
#              than the keep-alive, header and linger timeouts given to the server)
#
# Exit status: 0 all checks passed; 1 a check failed; 2 bad usage; 77 a required tool (ab, curl,
# python3) is missing. Every process it starts stops by itself; on exit it stops (by PID) any
# that has not.
set -euo pipefail

readonly kMaxDuration=3600
readonly kKeepaliveTimeout=2s
readonly kHeaderTimeout=2s
readonly kBodyTimeout=4s
readonly kWriteTimeout=5s
readonly kThreads=2
readonly kIds=300            # distinct heartbeat ids, each beaten about once a second at most
readonly kWatchers=3         # event-stream watchers
readonly kSlowClients=8      # of each kind: slow headers, slow bodies
readonly kFdMargin=5         # descriptors after may exceed before by this much
readonly kRssMarginKib=20480 # and resident memory by this much

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(cd "$bench_dir/.." && pwd)
# shellcheck source=bench/lib.sh
source "$bench_dir/lib.sh" # PID bookkeeping, the temp dir, log and die
lib_name=soak

usage() { echo "usage: bench/soak.sh DURATION (whole seconds, 1..$kMaxDuration)" >&2; exit 2; }

(($# == 1)) || usage
duration=$1
[[ $duration =~ ^[1-9][0-9]*$ ]] || usage
((duration <= kMaxDuration)) || { echo "soak: DURATION above $kMaxDuration s is refused" >&2; exit 2; }
settle=${SETTLE:-6}
if ! [[ $settle =~ ^[0-9]+$ ]] || ((settle > 600)); then usage; fi

for tool in ab curl python3; do
  command -v "$tool" >/dev/null || { echo "soak: skip: $tool is not installed (scripts/setup.sh all)"; exit 77; }
done
have_wrk=0
command -v wrk >/dev/null && have_wrk=1

# --- the temp dir; on exit, only the PIDs this script started are stopped (bench/lib.sh) -----------

lib_init soak

# --- build -----------------------------------------------------------------------------------------

if [[ -n ${PULSE_BIN:-} ]]; then
  pulse_bin=$PULSE_BIN
else
  log "building pulsehttpd (Release) in build/soak"
  cmake -S "$repo_dir" -B "$repo_dir/build/soak" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DPULSE_BUILD_TESTS=OFF >/dev/null
  cmake --build "$repo_dir/build/soak" -j2 --target pulsehttpd >&2
  pulse_bin=$repo_dir/build/soak/src/app/pulsehttpd
fi
[[ -x $pulse_bin ]] || die "pulsehttpd not found at $pulse_bin"

# --- docroot and the clients written in Python -----------------------------------------------------

docroot=$work_dir/www
results=$work_dir/results
mkdir -p "$docroot" "$results"
head -c 1024 /dev/urandom >"$docroot/1k.bin"
head -c $((1024 * 1024)) /dev/urandom >"$docroot/1m.bin"

# Each mode runs until the deadline (seconds since the epoch), then prints "requests N",
# "unexpected N" and "note TEXT" lines for the summary.
cat >"$work_dir/clients.py" <<'PY'
import random, selectors, socket, struct, sys, time

def read_response(sock, buf):
    """One response framed by Content-Length: (status, closing, rest of buf). EOFError at the end."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length, closing = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and b"close" in value.lower():
            closing = True
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError
        rest += chunk
    return status, closing, rest[length:]

def report(requests, unexpected, note):
    print(f"requests {requests}\nunexpected {unexpected}\nnote {note}")

def pipeline(port, deadline, depth):
    """Batches of `depth` GETs written at once, then every response read; 200 expected."""
    batch = b"".join(b"GET /%s HTTP/1.1\r\nHost: soak\r\n\r\n" % (b"1k.bin" if i % 2 else b"healthz")
                     for i in range(depth))
    requests = unexpected = connections = 0
    while time.time() < deadline:
        connections += 1
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            buf, closing = b"", False
            while not closing and time.time() < deadline:
                sock.sendall(batch)
                for _ in range(depth):
                    try:
                        status, closing, buf = read_response(sock, buf)
                    except (EOFError, OSError):
                        unexpected += 1  # the server never ends a connection without saying so
                        closing = True
                        break
                    requests += 1
                    if status != 200:
                        unexpected += 1
                    if closing:
                        break  # --max-requests-per-connection: the rest of the batch is not answered
    report(requests, unexpected, f"depth {depth}, {connections} connections")

def reset(port, deadline):
    """GET /1m.bin, read part of it, close with SO_LINGER 0 (a reset); every fourth: four
    requests queued, nothing read, a plain close."""
    requests = unexpected = 0
    while time.time() < deadline:
        requests += 1
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                if requests % 4 == 0:
                    sock.sendall(b"GET /1m.bin HTTP/1.1\r\nHost: soak\r\n\r\n" * 4)
                    time.sleep(0.005)
                    continue
                sock.sendall(b"GET /1m.bin HTTP/1.1\r\nHost: soak\r\n\r\n")
                want, got = random.randint(1, 512 * 1024), b""
                while len(got) < want:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    got += chunk
                if not got.startswith(b"HTTP/1.1 200 "):
                    unexpected += 1
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            unexpected += 1
        time.sleep(0.02)
    report(requests, unexpected, "resets mid-response and closes with output queued")

def slow(port, deadline, count, kind, timeout):
    """`count` connections sending one byte a second, in the headers or in the body; each must
    be answered 408 and closed at its timeout. Replaced while there is time for one more."""
    body_head = b"POST /heartbeat/slow-body HTTP/1.1\r\nHost: soak\r\nContent-Length: 100000\r\n\r\n"
    header_bytes = b"GET /1k.bin HTTP/1.1\r\nHost: soak\r\nX-Slow: "
    requests = unexpected = 0
    late = []
    sel = selectors.DefaultSelector()

    def open_one():
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.setblocking(False)
        if kind == "body":
            sock.sendall(body_head)
        else:
            sock.send(header_bytes[:1])
        sel.register(sock, selectors.EVENT_READ, {"got": b"", "started": time.time(), "sent": 1})

    for _ in range(count):
        open_one()
    next_byte = time.time() + 1
    while sel.get_map() and time.time() < deadline + timeout + 5:
        for key, _ in sel.select(timeout=max(0.0, next_byte - time.time())):
            sock, state = key.fileobj, key.data
            try:
                chunk = sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if chunk:
                state["got"] += chunk
                continue
            sel.unregister(sock)
            sock.close()
            requests += 1
            took = time.time() - state["started"]
            if not state["got"].startswith(b"HTTP/1.1 408 "):
                unexpected += 1
            if took > timeout + 2:
                late.append(took)
            if time.time() + timeout + 2 < deadline:
                open_one()
        if time.time() >= next_byte:
            next_byte += 1
            for key in list(sel.get_map().values()):
                try:
                    sent = key.data["sent"]
                    byte = header_bytes[sent:sent + 1] or b"a" if kind == "headers" else b"x"
                    key.fileobj.send(byte)
                    key.data["sent"] += 1
                except OSError:
                    pass
    left = len(sel.get_map())
    report(requests, unexpected + left + len(late),
           f"{kind}: {left} never cut, {len(late)} cut later than {timeout + 2:.0f} s")

mode, port, deadline = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
if mode == "pipeline":
    pipeline(port, deadline, int(sys.argv[4]))
elif mode == "reset":
    reset(port, deadline)
elif mode == "slow":
    slow(port, deadline, int(sys.argv[4]), sys.argv[5], float(sys.argv[6]))
PY

# --- server ----------------------------------------------------------------------------------------

start_pulse() {
  local out=$work_dir/pulse.out
  "$pulse_bin" --bind "$kHost" --port 0 --root "$docroot" --threads "$kThreads" --access-log off \
    --keepalive-timeout "$kKeepaliveTimeout" --header-timeout "$kHeaderTimeout" \
    --body-timeout "$kBodyTimeout" --write-timeout "$kWriteTimeout" >"$out" 2>"$work_dir/pulse.err" &
  pulse_pid=$!
  track_pid "$pulse_pid"
  if ! pulse_port=$(wait_pulse_port "$pulse_pid" "$out"); then
    cat "$out" "$work_dir/pulse.err" >&2 || true
    die "pulsehttpd did not start"
  fi
  base="http://$kHost:$pulse_port"
}

# Prints the server's open descriptors, threads and VmRSS (KiB) on one line.
measure() {
  local fds
  fds=$(find "/proc/$pulse_pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
  awk -v fds="$fds" '$1 == "Threads:" {threads = $2} $1 == "VmRSS:" {rss = $2} END {print fds, threads, rss}' \
    "/proc/$pulse_pid/status"
}

# metric NAME [LABELS]: one sample of /metrics, e.g. metric pulse_http_open_connections.
metric() {
  local name=$1
  [[ -z ${2:-} ]] || name+="{$2}"
  local page
  # The whole page first: awk stopping at the first match would close the pipe under curl, which
  # then fails with "Failed writing body" (23) and, with pipefail, fails the caller.
  page=$(curl -fsS --max-time 5 "$base/metrics")
  awk -v name="$name" '$1 == name {print $2; exit}' <<<"$page"
}

# --- the load --------------------------------------------------------------------------------------

# start_job NAME COMMAND...: runs it in the background, its output in $results/NAME.
jobs_started=()
start_job() {
  local name=$1
  shift
  "$@" >"$results/$name" 2>"$results/$name.err" &
  track_pid "$!"
  jobs_started+=("$name:$!")
}

# Results of a job are "requests N", "unexpected N", "note TEXT" lines.
emit() { printf 'requests %s\nunexpected %s\nnote %s\n' "$1" "$2" "$3"; }

# wrk or ab -k with 16 connections; unexpected: non-2xx/3xx plus socket errors (ab: failures).
keepalive_load() {
  local out=$results/keepalive.raw
  if ((have_wrk)); then
    timeout $((duration + 30)) wrk -t1 -c16 -d"${duration}s" --timeout 5s --latency "$base/1k.bin" >"$out" 2>&1 || true
    local requests errors non2xx
    requests=$(awk '/ requests in / {print $1}' "$out")
    errors=$(awk '/Socket errors:/ {gsub(/,/, ""); print $4 + $6 + $8 + $10}' "$out")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")
    emit "${requests:-0}" $((${errors:-0} + ${non2xx:-0} + (${requests:-0} == 0 ? 1 : 0))) \
      "wrk -c16, latency p50 $(awk '$1 == "50%" {print $2}' "$out"), p99 $(awk '$1 == "99%" {print $2}' "$out")"
  else
    ab_load "$out" -k -c 16 "ab -k -c16"
  fi
}

# ab_load RAW OPTIONS... NOTE: ab for the duration; unexpected: failed plus non-2xx.
ab_load() {
  local out=$1 note=${*: -1}
  local options=("${@:2:$#-2}")
  timeout $((duration + 30)) ab -q -t "$duration" -n 100000000 -s 10 "${options[@]}" "$base/1k.bin" >"$out" 2>&1 || true
  local complete failed non2xx
  complete=$(awk '/^Complete requests:/ {print $3}' "$out")
  failed=$(awk '/^Failed requests:/ {print $3}' "$out")
  non2xx=$(awk '/^Non-2xx responses:/ {print $3}' "$out")
  emit "${complete:-0}" $((${failed:-0} + ${non2xx:-0} + (${complete:-0} == 0 ? 1 : 0))) "$note"
}

# curl_check EXPECTED_CODE EXPECTED_SIZE (or '*') CURL_ARGS...: one transfer; 0 when as expected.
curl_check() {
  local want_code=$1 want_size=$2 got code size
  shift 2
  got=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' --max-time 20 "$@" || true)
  read -r code size <<<"$got"
  [[ $code == "$want_code" && ($want_size == '*' || $size == "$want_size") ]] && return 0
  echo "want $want_code $want_size, got '$got' for $*" >>"$results/files.mismatch"
  return 1
}

# 1 MiB downloads, a range (206), a conditional GET (304) and a missing file (404), in a loop.
files_load() {
  local requests=0 unexpected=0 etag
  etag=$(curl -sI --max-time 5 "$base/1k.bin" | awk -F': ' 'tolower($1) == "etag" {sub(/\r$/, "", $2); print $2}')
  while ((EPOCHSECONDS < deadline)); do
    curl_check 200 1048576 "$base/1m.bin" || unexpected=$((unexpected + 1))
    curl_check 206 1024 -r 1000-2023 "$base/1m.bin" || unexpected=$((unexpected + 1))
    curl_check 304 0 -H "If-None-Match: $etag" "$base/1k.bin" || unexpected=$((unexpected + 1))
    curl_check 404 '*' "$base/missing.bin" || unexpected=$((unexpected + 1))
    requests=$((requests + 4))
  done
  emit "$requests" "$unexpected" "1 MiB, range, If-None-Match, missing (curl)"
}

# Beats from kIds ids, 50 per curl (one connection), each id at most once a second (the rate
# limit is 10); every cycle one id signs off (204) and the list is read (200).
beats_load() {
  local requests=0 unexpected=0 cycle=0 first id code args started
  while ((EPOCHSECONDS < deadline)); do
    started=$EPOCHREALTIME
    for ((first = 0; first < kIds; first += 50)); do
      args=()
      for ((id = first; id < first + 50 && id < kIds; id++)); do
        args+=(-o /dev/null "$base/heartbeat/soak-$id?interval=60")
      done
      while read -r code; do
        requests=$((requests + 1))
        [[ $code == 200 || $code == 201 ]] || unexpected=$((unexpected + 1))
      done < <(curl -s -X POST --max-time 20 -w '%{http_code}\n' "${args[@]}" || true)
    done
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 -X DELETE "$base/heartbeat/soak-$((cycle % kIds))" || true)
    [[ $code == 204 ]] || unexpected=$((unexpected + 1))
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 "$base/heartbeat" || true)
    [[ $code == 200 ]] || unexpected=$((unexpected + 1))
    requests=$((requests + 2))
    cycle=$((cycle + 1))
    # At least a second per cycle: no id is beaten faster than once a second.
    sleep "$(awk -v s="$started" -v n="$EPOCHREALTIME" 'BEGIN {d = 1.05 - (n - s); print (d > 0 ? d : 0)}')"
  done
  emit "$requests" "$unexpected" "$kIds ids, 50 per connection, a sign-off and a list each cycle (curl)"
}

# `pulsehttpd beat`: one beat a second, and one every 3 s (longer than the keep-alive timeout,
# so it reconnects).
beat_client_load() {
  local interval=$1 count=$2 out=$results/beat-$1.raw
  timeout $((duration + 30)) "$pulse_bin" beat --interval "${interval}s" --count "$count" \
    "$base/heartbeat/soak-beat-$interval" >"$out" 2>&1 || true
  local requests unexpected
  requests=$(grep -c '^beat [0-9]*: ' "$out" || true)
  unexpected=$(grep '^beat [0-9]*: ' "$out" | grep -vc ': 20[01] ' || true)
  emit "$requests" $((unexpected + (requests == 0 ? 1 : 0))) "pulsehttpd beat every ${interval}s"
}

# One event-stream watcher for the duration: 200, a snapshot first, and curl's own time limit
# (exit 28) as the only way it ends.
watcher_load() {
  local n=$1 out=$results/watcher-$1.raw status=0 code
  code=$(curl -sN --max-time "$duration" -o "$out" -w '%{http_code}' "$base/heartbeat/events") || status=$?
  local unexpected=0
  [[ $code == 200 ]] || unexpected=$((unexpected + 1))
  [[ $status == 28 ]] || unexpected=$((unexpected + 1))
  grep -q '^event: snapshot' "$out" || unexpected=$((unexpected + 1))
  emit 1 "$unexpected" "watcher $n: status $code, curl exit $status, $(grep -c '^event: ' "$out" || true) events"
}

start_pulse
log "pulsehttpd pid $pulse_pid on $base; load for ${duration}s (wrk: $([[ $have_wrk == 1 ]] && echo yes || echo no))"

# Warm-up: what any load brings into being once (worker buffers, the file cache, every id in the
# registry) is there before the first measurement.
timeout 30 ab -q -k -n 2000 -c 8 "$base/1k.bin" >/dev/null 2>&1 || die "warm-up with ab failed"
curl -fsS --max-time 20 -o /dev/null "$base/1m.bin" || die "warm-up download failed"
for ((first = 0; first < kIds; first += 50)); do
  args=()
  for ((id = first; id < first + 50 && id < kIds; id++)); do args+=(-o /dev/null "$base/heartbeat/soak-$id?interval=60"); done
  curl -fsS -X POST --max-time 20 "${args[@]}" || die "warm-up beats failed"
done
curl -fsS --max-time 20 -o /dev/null "$base/heartbeat" || die "warm-up list failed"
sleep 2
read -r before_fds before_threads before_rss < <(measure)
requests_before=$(metric pulse_http_requests_total 'code="200"')

deadline=$((EPOCHSECONDS + duration))
load_started=$EPOCHSECONDS
start_job keepalive keepalive_load
start_job http10 ab_load "$results/http10.raw" -c 4 "ab -c4, HTTP/1.0, no keep-alive"
start_job pipelined python3 "$work_dir/clients.py" pipeline "$pulse_port" "$deadline" 16
start_job files files_load
start_job beats beats_load
start_job beat-1 beat_client_load 1 "$duration"
start_job beat-3 beat_client_load 3 $(((duration + 2) / 3))
for ((w = 1; w <= kWatchers; w++)); do start_job "watcher-$w" watcher_load "$w"; done
start_job resets python3 "$work_dir/clients.py" reset "$pulse_port" "$deadline"
start_job slow-headers python3 "$work_dir/clients.py" slow "$pulse_port" "$deadline" "$kSlowClients" headers 2
start_job slow-bodies python3 "$work_dir/clients.py" slow "$pulse_port" "$deadline" "$kSlowClients" body 4

# Every job bounds itself; waiting longer than this means one is stuck.
failures=()
job_deadline=$((deadline + 60))
for entry in "${jobs_started[@]}"; do
  name=${entry%%:*}
  pid=${entry##*:}
  while is_running "$pid" && ((EPOCHSECONDS < job_deadline)); do sleep 0.2; done
  if is_running "$pid"; then
    failures+=("$name did not stop by itself")
    stop_pid "$pid"
  else
    wait "$pid" 2>/dev/null || true
    forget_pid "$pid"
  fi
done
load_seconds=$((EPOCHSECONDS - load_started))
is_running "$pulse_pid" || { cat "$work_dir/pulse.err" >&2; die "pulsehttpd died under the load"; }

log "load done after ${load_seconds}s; settling for ${settle}s"
sleep "$settle"
read -r after_fds after_threads after_rss < <(measure)
open_connections=$(metric pulse_http_open_connections)
requests_after=$(metric pulse_http_requests_total 'code="200"')
server_statuses=$(curl -fsS --max-time 5 "$base/metrics" |
  awk '/^pulse_http_requests_total\{/ && $2 > 0 {sub(/^pulse_http_requests_total\{code="/, "", $1); sub(/"\}$/, "", $1); printf "%s%s=%s", sep, $1, $2; sep = " "}')

# --- checks and the summary ------------------------------------------------------------------------

total_requests=0
total_unexpected=0
rows=""
for entry in "${jobs_started[@]}"; do
  name=${entry%%:*}
  file=$results/$name
  requests=$(awk '$1 == "requests" {print $2}' "$file" 2>/dev/null || true)
  unexpected=$(awk '$1 == "unexpected" {print $2}' "$file" 2>/dev/null || true)
  note=$(sed -n 's/^note //p' "$file" 2>/dev/null || true)
  if [[ -z $requests || -z $unexpected ]]; then
    failures+=("$name reported nothing")
    tail -n 5 "$file.err" >&2 2>/dev/null || true
    requests=${requests:-0}
    unexpected=${unexpected:-1}
  fi
  total_requests=$((total_requests + requests))
  total_unexpected=$((total_unexpected + unexpected))
  ((unexpected == 0)) || failures+=("$name: $unexpected unexpected")
  rows+=$(printf '| %s | %s | %s | %s |' "$name" "$requests" "$unexpected" "$note")$'\n'
done
[[ -s $results/files.mismatch ]] && head -n 5 "$results/files.mismatch" >&2

# Statuses the server itself counted that no load here should cause.
server_unexpected=$(tr ' ' '\n' <<<"$server_statuses" |
  awk -F= '$1 !~ /^(200|201|204|206|304|404|408)$/ && $1 != "" {s += $2} END {print s + 0}')
((server_unexpected == 0)) || failures+=("the server counted $server_unexpected responses with unexpected statuses")

fd_growth=$((after_fds - before_fds))
rss_growth=$((after_rss - before_rss))
((fd_growth <= kFdMargin)) || failures+=("open descriptors grew by $fd_growth (allowed $kFdMargin)")
((after_threads == before_threads)) ||
  failures+=("threads changed: $before_threads -> $after_threads")
((rss_growth <= kRssMarginKib)) || failures+=("resident memory grew by $rss_growth KiB (allowed $kRssMarginKib)")
[[ $open_connections == 1 ]] || failures+=("connections still open after settling: $open_connections (want 1, this scrape)")

# Pulse promises a clean exit (status 0) on SIGTERM.
kill -TERM "$pulse_pid"
exit_deadline=$((EPOCHSECONDS + kStopTimeoutSeconds))
while is_running "$pulse_pid" && ((EPOCHSECONDS < exit_deadline)); do sleep 0.1; done
pulse_exit=0
if is_running "$pulse_pid"; then
  pulse_exit="still running ${kStopTimeoutSeconds}s after SIGTERM"
  stop_pid "$pulse_pid"
else
  wait "$pulse_pid" || pulse_exit=$?
  forget_pid "$pulse_pid"
fi
[[ $pulse_exit == 0 ]] || failures+=("exit status after SIGTERM: $pulse_exit")
error_lines=$(grep -c 'pulsehttpd: \(error\|fatal\)' "$work_dir/pulse.err" || true)

echo
echo "# Pulse soak: ${duration} s"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); $(nproc) cores; $("$pulse_bin" --version 2>/dev/null | head -n1)"
echo "- server: --threads $kThreads --keepalive-timeout $kKeepaliveTimeout --header-timeout $kHeaderTimeout" \
  "--body-timeout $kBodyTimeout --write-timeout $kWriteTimeout; settle ${settle} s after ${load_seconds} s of load"
echo
echo "| load | requests | unexpected | notes |"
echo "|---|---:|---:|---|"
printf '%s' "$rows"
echo "| **all** | **$total_requests** | **$total_unexpected** | server's 200s during the load: $((requests_after - requests_before)) |"
echo
echo "| server | before | after | allowed |"
echo "|---|---:|---:|---|"
echo "| open descriptors | $before_fds | $after_fds | +$kFdMargin |"
echo "| threads | $before_threads | $after_threads | equal |"
echo "| VmRSS, KiB | $before_rss | $after_rss | +$kRssMarginKib |"
echo "| open connections after settling | | $open_connections | 1 (the scrape) |"
echo
echo "- statuses the server counted: $server_statuses"
echo "- error lines in the server's log: $error_lines; exit status after SIGTERM: $pulse_exit"
if ((${#failures[@]} > 0)); then
  echo
  echo "**FAILED:**"
  printf -- '- %s\n' "${failures[@]}"
  exit 1
fi
echo
echo "All checks passed."
