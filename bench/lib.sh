# Shared by bench/run.sh and bench/soak.sh: a temp dir and the PIDs this script started (stopped
# by PID on exit, never by name), waiting for a port, and CPU time readings from /proc.
# Usage: source bench/lib.sh; lib_init NAME   (NAME prefixes log lines and the temp dir)
# shellcheck shell=bash disable=SC2034 # stopped_status, kClockTicks: read by the scripts that source it

readonly kStartupTimeoutSeconds=15
readonly kStopTimeoutSeconds=10
readonly kHost=127.0.0.1

lib_name=bench
work_dir=
started_pids=()
stopped_status=0

log() { echo "$lib_name: $*" >&2; }
die() { echo "$lib_name: $*" >&2; exit 1; }

lib_init() {
  lib_name=$1
  work_dir=$(mktemp -d "${TMPDIR:-/tmp}/pulse-$lib_name.XXXXXX")
  trap lib_cleanup EXIT
  trap 'exit 130' INT TERM
}

# --- PID bookkeeping -------------------------------------------------------------------------------

# True while the child runs; an exited child that is not reaped yet (a zombie) does not count.
is_running() {
  local state
  state=$(awk '{sub(/.*\) /, ""); print $1}' "/proc/$1/stat" 2>/dev/null || true)
  [[ -n $state && $state != Z ]]
}

track_pid() { started_pids+=("$1"); }

# Once reaped, a PID may be reused by someone else's process: never signal it again.
forget_pid() {
  local kept=() p
  for p in "${started_pids[@]}"; do [[ $p == "$1" ]] || kept+=("$p"); done
  started_pids=("${kept[@]}")
}

# stop_pid PID: SIGTERM, then SIGKILL after kStopTimeoutSeconds; reaps it and leaves its exit
# status in stopped_status ("killed" when SIGKILL was needed).
stop_pid() {
  local pid=$1 waited=0 killed=0
  if is_running "$pid"; then kill -TERM "$pid" 2>/dev/null || true; fi
  while is_running "$pid" && ((waited < kStopTimeoutSeconds * 10)); do
    sleep 0.1
    waited=$((waited + 1))
  done
  if is_running "$pid"; then
    log "pid $pid ignored SIGTERM for ${kStopTimeoutSeconds}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    killed=1
  fi
  stopped_status=0
  wait "$pid" 2>/dev/null || stopped_status=$?
  ((killed == 0)) || stopped_status=killed
  forget_pid "$pid"
}

# reap_pid PID: waits for a child that ends by itself; its exit status in stopped_status.
reap_pid() {
  stopped_status=0
  wait "$1" 2>/dev/null || stopped_status=$?
  forget_pid "$1"
}

lib_cleanup() {
  local pid
  for pid in "${started_pids[@]}"; do stop_pid "$pid"; done
  [[ -z $work_dir ]] || rm -rf -- "$work_dir"
}

# --- ports -----------------------------------------------------------------------------------------

# A port that was free a moment ago (the caller retries if a neighbour takes it first).
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_listening PID PORT: polls until a TCP connect succeeds; fails when the process dies or after
# kStartupTimeoutSeconds.
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

# wait_pulse_port PID OUTFILE: prints the port pulsehttpd announces on stdout ("pulsehttpd
# listening on http://127.0.0.1:PORT"), or fails when it dies or stays silent.
wait_pulse_port() {
  local pid=$1 out=$2 tries=0 port
  while ((tries < kStartupTimeoutSeconds * 10)); do
    is_running "$pid" || return 1
    port=$(sed -n 's|^pulsehttpd listening on http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$out" | head -n1)
    if [[ -n $port ]]; then
      echo "$port"
      return 0
    fi
    sleep 0.1
    tries=$((tries + 1))
  done
  return 1
}

# --- CPU time from /proc ---------------------------------------------------------------------------

kClockTicks=$(getconf CLK_TCK)
readonly kClockTicks

# PID and all its descendants, one a line (nginx's workers, lighttpd's forked workers).
tree_pids() {
  local child
  echo "$1"
  # shellcheck disable=SC2013 # the files hold PIDs separated by spaces: words are what is wanted
  for child in $(cat "/proc/$1/task/"*/children 2>/dev/null); do tree_pids "$child"; done
}

# cpu_ticks PID: user + system time, in clock ticks, of PID's threads and its descendants' (fields
# 14 and 15 of /proc/PID/stat cover every thread of a process; 16 and 17 add reaped children).
cpu_ticks() {
  local p total=0 fields
  for p in $(tree_pids "$1"); do
    # The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    fields=$(awk '{sub(/.*\) /, ""); print $12 + $13 + $14 + $15}' "/proc/$p/stat" 2>/dev/null || true)
    total=$((total + ${fields:-0}))
  done
  echo "$total"
}

# Busy time of every CPU in clock ticks from /proc/stat: all but idle and iowait. Softirq time
# counts too: the kernel books loopback packet work done in a process's context partly there, while
# the process's own utime + stime include it. Steal counts: a hypervisor's neighbour is noise too.
system_busy_ticks() { awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }
