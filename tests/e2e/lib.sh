# Shared helpers for end-to-end scripts: start pulsehttpd on a free port, stop it by PID.
# Usage: source lib.sh; start_server ARGS...; ... "$BASE_URL" ...; stop_server
set -euo pipefail

E2E_TMP=$(mktemp -d /tmp/pulse-e2e-XXXXXX)
SERVER_PID=""
BASE_URL=""

cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$E2E_TMP"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

# Starts the binary ($PULSE_BIN) with --port 0 and waits (up to 10 s) for its address line.
start_server() {
  local log="$E2E_TMP/server.out"
  : >"$log"
  "$PULSE_BIN" --bind 127.0.0.1 --port 0 "$@" >"$log" 2>"$E2E_TMP/server.err" &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    if grep -q '^pulsehttpd listening on ' "$log"; then
      BASE_URL=$(sed -n 's/^pulsehttpd listening on \(http:\/\/[^ ]*\).*/\1/p' "$log" | head -1)
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$E2E_TMP/server.err" >&2; fail "server exited at start-up"; }
    sleep 0.1
  done
  fail "server did not print its address within 10 s"
}

# Sends SIGTERM and waits (up to 15 s) for exit; sets STOP_STATUS to the exit status.
# Not for use in $(...): wait only works on the shell's own children.
STOP_STATUS=""
stop_server() {
  kill -TERM "$SERVER_PID"
  for _ in $(seq 1 150); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$SERVER_PID" 2>/dev/null; then fail "server still running 15 s after SIGTERM"; fi
  STOP_STATUS=0
  wait "$SERVER_PID" || STOP_STATUS=$?
  SERVER_PID=""
}
