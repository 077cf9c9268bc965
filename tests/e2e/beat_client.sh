#!/usr/bin/env bash
# End to end: `pulsehttpd beat` keeps ONE connection for all its beats, where a curl loop opens
# one per beat; it signs off with DELETE on SIGINT. `beat https://` through a TLS-terminating
# proxy (tests/support/http_test_server.py --upstream) with a certificate made here and trusted
# with --cacert; `beat --hold` against that Python server (dropped once, silent once) and, once
# the server has GET /heartbeat/{id}/hold, against pulsehttpd itself.
# Usage: beat_client.sh PULSEHTTPD SOURCE_DIR
PULSE_BIN=$1
SOURCE_DIR=$2
source "$(dirname "$0")/lib.sh"
# Everything here is on 127.0.0.1: no proxy of the machine's in between.
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

# The Python servers and background clients of this script, killed by PID on exit.
OWN_PIDS=()
trap 'for p in "${OWN_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done; cleanup' EXIT

# start_helper NAME ARGS...: http_test_server.py on a free port; sets HELPER_PORT, HELPER_PID.
start_helper() {
  local name=$1
  shift
  python3 "$SOURCE_DIR/tests/support/http_test_server.py" --port-file "$E2E_TMP/$name.port" "$@" \
    >"$E2E_TMP/$name.log" 2>&1 &
  HELPER_PID=$!
  OWN_PIDS+=("$HELPER_PID")
  for _ in $(seq 1 100); do
    [ -f "$E2E_TMP/$name.port" ] && { HELPER_PORT=$(cat "$E2E_TMP/$name.port"); return 0; }
    kill -0 "$HELPER_PID" 2>/dev/null || fail "$name helper exited: $(cat "$E2E_TMP/$name.log")"
    sleep 0.1
  done
  fail "$name helper did not start within 10 s"
}
stop_helper() { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# wait_for_line FILE REGEX SECONDS: until a line of FILE matches.
wait_for_line() {
  for _ in $(seq 1 $(($3 * 10))); do grep -Eq "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
mkdir -p "$E2E_TMP/root"
start_server --root "$E2E_TMP/root" --threads 2

connections_total() {
  curl -sS --max-time 5 "$BASE_URL/metrics" | awk '$1 == "pulse_http_connections_total" {print $2}'
}

before=$(connections_total)
timeout 30 "$PULSE_BIN" beat "$BASE_URL/heartbeat/beat-client" --interval 1s --count 4 >"$E2E_TMP/beat.out" \
  || fail "beat exited non-zero: $(cat "$E2E_TMP/beat.out")"
after=$(connections_total)
[ "$(grep -c '^beat [0-9]*: 20[01] (connection #1)$' "$E2E_TMP/beat.out")" -eq 4 ] \
  || fail "beat did not reuse one connection: $(cat "$E2E_TMP/beat.out")"
# The two /metrics scrapes are connections too: one each.
[ $((after - before)) -eq 2 ] || fail "server saw $((after - before - 1)) beat connections, want 1"
beats=$(curl -sS --max-time 5 "$BASE_URL/heartbeat/beat-client" | python3 -c 'import json,sys; print(json.load(sys.stdin)["beats"])')
[ "$beats" -eq 4 ] || fail "server counted $beats beats, want 4"
pass "pulsehttpd beat: 4 beats over one connection"

before=$(connections_total)
for _ in 1 2 3 4; do curl -fsS -m 5 -o /dev/null -X POST "$BASE_URL/heartbeat/curl-loop"; done
after=$(connections_total)
[ $((after - before)) -eq 5 ] || fail "curl loop: $((after - before - 1)) connections, want 4"
pass "a curl loop opens one connection per beat (4), for comparison"

# The server closes idle connections (keep-alive timeout shorter than the beat interval):
# the client notices on first use and retries once on a fresh connection; no beat is lost.
stop_server
start_server --root "$E2E_TMP/root" --threads 2 --keepalive-timeout 1s
timeout 30 "$PULSE_BIN" beat "$BASE_URL/heartbeat/slow-beater" --interval 2s --count 3 >"$E2E_TMP/slow.out" \
  || fail "beats failed across server idle closes: $(cat "$E2E_TMP/slow.out")"
[ "$(grep -c '^beat [0-9]*: 20[01] (connection #[0-9]*)$' "$E2E_TMP/slow.out")" -eq 3 ] \
  || fail "a beat failed after the server closed the idle connection: $(cat "$E2E_TMP/slow.out")"
pass "beats survive the server closing idle keep-alive connections"

# Ctrl-C: the client signs off, and the server forgets it (gone, not down).
: >"$E2E_TMP/signoff.out"
"$PULSE_BIN" beat "$BASE_URL/heartbeat/signs-off" --interval 10s >"$E2E_TMP/signoff.out" &
beat_pid=$!
for _ in $(seq 1 50); do grep -q '^beat 1:' "$E2E_TMP/signoff.out" && break; sleep 0.1; done
kill -INT "$beat_pid"
wait "$beat_pid" || true
grep -q '^signed off: 204$' "$E2E_TMP/signoff.out" || fail "no sign-off: $(cat "$E2E_TMP/signoff.out")"
code=$(curl -sS -o /dev/null -w '%{http_code}' "$BASE_URL/heartbeat/signs-off")
[ "$code" = 404 ] || fail "signed-off client still listed ($code)"
pass "Ctrl-C signs off with DELETE"

# A server that goes away: the client reports failures and reconnects when it is back.
timeout 20 "$PULSE_BIN" beat "http://127.0.0.1:1/heartbeat/nobody" --interval 1s --count 2 >"$E2E_TMP/down.out" && \
  fail "beat against a closed port must exit non-zero"
grep -q 'failed:.*will reconnect' "$E2E_TMP/down.out" || fail "no failure report: $(cat "$E2E_TMP/down.out")"
pass "unreachable server: failures reported, exit status 1"

# --- https:// -----------------------------------------------------------------------------------
# A TLS-terminating proxy in front of the server, as users run Pulse; its certificate is made
# here and trusted with --cacert. Certificates are always verified: without --cacert the beat fails.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
  -keyout "$E2E_TMP/key.pem" -out "$E2E_TMP/cert.pem" >/dev/null 2>&1 || fail "openssl req -x509 failed"
start_helper tls --tls "$E2E_TMP/cert.pem" "$E2E_TMP/key.pem" --upstream "$BASE_URL"
tls_url="https://127.0.0.1:$HELPER_PORT"
tls_pid=$HELPER_PID
timeout 30 "$PULSE_BIN" beat "$tls_url/heartbeat/tls-client" --interval 1s --count 3 --cacert "$E2E_TMP/cert.pem" \
  >"$E2E_TMP/tls.out" || fail "beat https:// exited non-zero: $(cat "$E2E_TMP/tls.out")"
[ "$(grep -c '^beat [0-9]*: 20[01] (connection #1)$' "$E2E_TMP/tls.out")" -eq 3 ] \
  || fail "beat https:// did not keep one TLS connection: $(cat "$E2E_TMP/tls.out")"
beats=$(curl -sS --max-time 5 "$BASE_URL/heartbeat/tls-client" | python3 -c 'import json,sys; print(json.load(sys.stdin)["beats"])')
[ "$beats" -eq 3 ] || fail "server counted $beats beats over https, want 3"
pass "pulsehttpd beat https:// --cacert: 3 beats over one TLS connection"

timeout 30 "$PULSE_BIN" beat "$tls_url/heartbeat/untrusted" --interval 1s --count 1 >"$E2E_TMP/untrusted.out" && \
  fail "beat https:// accepted a self-signed certificate without --cacert"
grep -qi 'failed:.*certificate' "$E2E_TMP/untrusted.out" || fail "no certificate error: $(cat "$E2E_TMP/untrusted.out")"
pass "beat https:// refuses a certificate it does not trust"
"$PULSE_BIN" probe "$tls_url/healthz" --cacert "$E2E_TMP/cert.pem" || fail "probe https:// --cacert failed"
"$PULSE_BIN" probe "$tls_url/healthz" 2>/dev/null && fail "probe https:// trusted a self-signed certificate"
pass "probe https:// with --cacert"
stop_helper "$tls_pid"
stop_server

# --- --hold against the Python stand-in of the hold endpoint --------------------------------------
# It drops the first held connection after two keep-alives: the client says so, reconnects
# within the first back-off (1 s, jittered down to 0.5 s) and is held again.
start_helper hold --keepalive 0.5 --drop-after 2
hold_port=$HELPER_PORT
hold_pid=$HELPER_PID
"$PULSE_BIN" beat "http://127.0.0.1:$hold_port/heartbeat/holder" --hold >"$E2E_TMP/hold.out" 2>&1 &
client_pid=$!
OWN_PIDS+=("$client_pid")
wait_for_line "$E2E_TMP/hold.out" '^hold 2: held \(connection #2\)$' 10 \
  || fail "no reconnect after the drop: $(cat "$E2E_TMP/hold.out")"
grep -Eq '^hold 1: held \(connection #1\)$' "$E2E_TMP/hold.out" || fail "first hold not reported: $(cat "$E2E_TMP/hold.out")"
grep -Eq '^hold 1: dropped by the server after [0-9.]+ s; reconnecting in (0\.[5-9]|1\.0) s$' "$E2E_TMP/hold.out" \
  || fail "drop or first back-off not as expected: $(cat "$E2E_TMP/hold.out")"
sleep 1.2  # still held: keep-alives keep coming, nothing is reported
[ "$(wc -l <"$E2E_TMP/hold.out")" -eq 3 ] || fail "a held connection was reported as lost: $(cat "$E2E_TMP/hold.out")"
stop_started=$(date +%s%N)
kill -TERM "$client_pid"
status=0
wait "$client_pid" || status=$?
stop_ms=$(( ($(date +%s%N) - stop_started) / 1000000 ))
[ "$status" -eq 0 ] || fail "beat --hold exited $status on SIGTERM: $(cat "$E2E_TMP/hold.out")"
[ "$stop_ms" -lt 2000 ] || fail "beat --hold took $stop_ms ms to stop"
grep -q '^signed off: 204$' "$E2E_TMP/hold.out" || fail "--hold did not sign off: $(cat "$E2E_TMP/hold.out")"
requests=$(curl -sS --max-time 5 "http://127.0.0.1:$hold_port/_requests")
[ "$(grep -c ' GET /heartbeat/holder/hold$' <<<"$requests")" -eq 2 ] || fail "want 2 hold requests: $requests"
grep -q ' DELETE /heartbeat/holder$' <<<"$requests" || fail "no DELETE sign-off seen: $requests"
pass "beat --hold: held, dropped, reconnected within 1 s, held again; SIGTERM signs off in $stop_ms ms"
stop_helper "$hold_pid"

# A connection that stays open but goes silent is dead after 3 missed keep-alives (15 s).
start_helper silent --keepalive 0.5 --silent-first
silent_pid=$HELPER_PID
"$PULSE_BIN" beat "http://127.0.0.1:$HELPER_PORT/heartbeat/silent" --hold >"$E2E_TMP/silent.out" 2>&1 &
client_pid=$!
OWN_PIDS+=("$client_pid")
wait_for_line "$E2E_TMP/silent.out" '^hold 2: held' 25 || fail "no reconnect after silence: $(cat "$E2E_TMP/silent.out")"
grep -Eq '^hold 1: no bytes for 15\.0 s, taken for dead after 1[5-6]\.[0-9] s; reconnecting in' "$E2E_TMP/silent.out" \
  || fail "silence not detected at 15 s: $(cat "$E2E_TMP/silent.out")"
kill -INT "$client_pid"
wait "$client_pid" || fail "beat --hold exited non-zero on SIGINT"
pass "beat --hold: a silent connection is given up after 15 s and replaced"
stop_helper "$silent_pid"

# A server that is not there: attempts back off 1, 2, 4 s (each jittered to between half and all).
"$PULSE_BIN" beat "http://127.0.0.1:1/heartbeat/nobody" --hold >"$E2E_TMP/backoff.out" 2>&1 &
client_pid=$!
OWN_PIDS+=("$client_pid")
wait_for_line "$E2E_TMP/backoff.out" '^hold 3: ' 10 || fail "no third attempt: $(cat "$E2E_TMP/backoff.out")"
kill -TERM "$client_pid"
wait "$client_pid" || true
grep -Eq '^hold 1: failed: .*reconnecting in (0\.[5-9]|1\.0) s$' "$E2E_TMP/backoff.out" \
  && grep -Eq '^hold 2: failed: .*reconnecting in (1\.[0-9]|2\.0) s$' "$E2E_TMP/backoff.out" \
  && grep -Eq '^hold 3: failed: .*reconnecting in ([2-3]\.[0-9]|4\.0) s$' "$E2E_TMP/backoff.out" \
  || fail "back-off not 1, 2, 4 s: $(cat "$E2E_TMP/backoff.out")"
grep -q 'signed off' "$E2E_TMP/backoff.out" && fail "signed off an id it never held: $(cat "$E2E_TMP/backoff.out")"
pass "beat --hold: exponential back-off with jitter while the server is away, no sign-off of an id never held"

# --- --hold against pulsehttpd's own hold endpoint, once it has one -------------------------------
start_server --root "$E2E_TMP/root" --threads 2
"$PULSE_BIN" beat "$BASE_URL/heartbeat/real-holder" --hold >"$E2E_TMP/real.out" 2>&1 &
client_pid=$!
OWN_PIDS+=("$client_pid")
wait_for_line "$E2E_TMP/real.out" '^hold 1: held' 10 || fail "pulsehttpd did not hold: $(cat "$E2E_TMP/real.out")"
held=$(curl -sS --max-time 5 "$BASE_URL/heartbeat/real-holder" | python3 -c 'import json,sys; c = json.load(sys.stdin); print(c["state"], c["held"])')
[ "$held" = "up True" ] || fail "a held client shows as '$held', want 'up True'"
metrics_page=$(curl -sS --max-time 5 "$BASE_URL/metrics")
grep -q '^pulse_heartbeat_held_connections 1$' <<<"$metrics_page" \
  || fail "/metrics does not count the held connection"
kill -TERM "$client_pid"
wait "$client_pid" || fail "beat --hold exited non-zero on SIGTERM"
grep -q '^signed off: 204$' "$E2E_TMP/real.out" || fail "no sign-off: $(cat "$E2E_TMP/real.out")"
pass "beat --hold against pulsehttpd: held and up; SIGTERM signs off"

# A hold the server refuses every time (a malformed id) ends the client: no retries, no sign-off.
status=0
timeout 10 "$PULSE_BIN" beat "$BASE_URL/heartbeat/bad%20id" --hold >"$E2E_TMP/refused.out" 2>&1 || status=$?
[ "$status" = 1 ] || fail "a refused hold exited $status, want 1: $(cat "$E2E_TMP/refused.out")"
grep -q 'answered 400.*not retrying' "$E2E_TMP/refused.out" || fail "no reason given: $(cat "$E2E_TMP/refused.out")"
grep -q 'signed off' "$E2E_TMP/refused.out" && fail "signed off after a refusal: $(cat "$E2E_TMP/refused.out")"
status=0
"$PULSE_BIN" beat "$BASE_URL/heartbeat/" --hold >"$E2E_TMP/noid.out" 2>&1 || status=$?
[ "$status" = 2 ] || fail "a URL without an id exited $status, want 2: $(cat "$E2E_TMP/noid.out")"
pass "beat --hold: a refused hold (400) stops with exit 1, a URL without an id is exit 2"
stop_server
echo "beat client e2e: all passed"
