#!/usr/bin/env bash
# End to end: bearer tokens against the built binary. curl with and without the token (header
# and ?token=), examples/heartbeat.sh and `pulsehttpd beat` with PULSE_HEARTBEAT_TOKEN, token
# files (rotation; no secret in ps), the access log never holding a ?token=, the start-up
# warning for a non-loopback address without a token, and bad token flags (exit 2).
# Usage: auth.sh PULSEHTTPD SOURCE_DIR
PULSE_BIN=$1
EXAMPLE="$2/examples/heartbeat.sh"
source "$(dirname "$0")/lib.sh"

WRITE=w-3c7e91d0a5b2
READ=r-8f2a64c1e9d7

# status METHOD PATH [curl args...]: prints the status code; the body goes to $E2E_TMP/body.
status() {
  local method=$1 path=$2
  shift 2
  curl -sS -m 10 -o "$E2E_TMP/body" -w '%{http_code}' -X "$method" "$@" "$BASE_URL$path"
}
expect() {  # WANT METHOD PATH [curl args...]
  local want=$1 got
  shift
  got=$(status "$@")
  [ "$got" = "$want" ] || fail "$1 $2: $got, want $want: $(cat "$E2E_TMP/body")"
}
auth() { echo "Authorization: Bearer $1"; }

mkdir -p "$E2E_TMP/root"
echo 'a static file' >"$E2E_TMP/root/file.txt"
start_server --root "$E2E_TMP/root" --threads 2 --heartbeat-token "$WRITE" --read-token "$READ" \
  --access-log "$E2E_TMP/access.log"

# --- curl ------------------------------------------------------------------------------------
expect 401 POST '/heartbeat/e2e-web?interval=60'
grep -q '"error":"token_required"' "$E2E_TMP/body" || fail "401 body: $(cat "$E2E_TMP/body")"
www_authenticate=$(curl -sS -m 10 -D - -o /dev/null -X POST "$BASE_URL/heartbeat/e2e-web" | tr -d '\r' |
  sed -n 's/^[Ww][Ww][Ww]-[Aa]uthenticate: //p')
[ "$www_authenticate" = 'Bearer realm="pulse"' ] || fail "WWW-Authenticate: '$www_authenticate'"
expect 401 POST /heartbeat/e2e-web -H "$(auth "$READ")"
expect 401 POST /heartbeat/e2e-web -H "$(auth "${WRITE}x")"
expect 404 GET /heartbeat/e2e-web -H "$(auth "$READ")"
pass "no token, the read token, a wrong token: 401, and nothing created"

expect 201 POST '/heartbeat/e2e-web?interval=60' -H "$(auth "$WRITE")"
expect 200 POST "/heartbeat/e2e-web?interval=60&token=$WRITE"
expect 401 DELETE /heartbeat/e2e-web
pass "curl -H 'Authorization: Bearer ...' and ?token=: 201, 200; DELETE without: 401"

expect 401 GET /heartbeat
expect 200 GET /heartbeat -H "$(auth "$READ")"
expect 200 GET "/heartbeat?token=$READ"
expect 200 GET /heartbeat/e2e-web -H "$(auth "$WRITE")"
expect 401 GET /metrics
expect 200 GET /metrics -H "$(auth "$READ")"
expect 200 GET /healthz
expect 200 GET /file.txt
pass "reads need the read (or heartbeat) token; /healthz and static files are open"

curl -sS -m 2 -N "$BASE_URL/heartbeat/events?token=$READ" >"$E2E_TMP/events" 2>/dev/null || true  # ends by -m
grep -q '^event: snapshot$' "$E2E_TMP/events" || fail "no snapshot with ?token=: $(head -c 300 "$E2E_TMP/events")"
expect 401 GET /heartbeat/events
pass "the event stream with ?token="

# --- examples/heartbeat.sh -------------------------------------------------------------------
PULSE_URL=$BASE_URL PULSE_ID=e2e-script PULSE_INTERVAL=30 PULSE_COUNT=1 timeout 20 bash "$EXAMPLE" \
  >"$E2E_TMP/untokened.out" 2>&1 || true
grep -q 'set PULSE_HEARTBEAT_TOKEN' "$E2E_TMP/untokened.out" || fail "no hint about the token: $(cat "$E2E_TMP/untokened.out")"
expect 404 GET /heartbeat/e2e-script -H "$(auth "$READ")"
PULSE_HEARTBEAT_TOKEN=wrong-token PULSE_URL=$BASE_URL PULSE_ID=e2e-script PULSE_COUNT=1 timeout 20 bash "$EXAMPLE" \
  >"$E2E_TMP/wrong.out" 2>&1 || true
grep -q 'refused the token in PULSE_HEARTBEAT_TOKEN' "$E2E_TMP/wrong.out" || fail "wrong token: $(cat "$E2E_TMP/wrong.out")"
PULSE_HEARTBEAT_TOKEN=$WRITE PULSE_URL=$BASE_URL PULSE_ID=e2e-script PULSE_COUNT=1 timeout 20 bash "$EXAMPLE" \
  >"$E2E_TMP/tokened.out" 2>&1 || fail "heartbeat.sh with the token: $(cat "$E2E_TMP/tokened.out")"
grep -q 'refused\|needs' "$E2E_TMP/tokened.out" && fail "heartbeat.sh with the token was refused: $(cat "$E2E_TMP/tokened.out")"
expect 200 GET /heartbeat/e2e-script -H "$(auth "$READ")"
pass "examples/heartbeat.sh: refused without PULSE_HEARTBEAT_TOKEN, beats with it"

# Ctrl-C: the sign-off carries the token too. Job control on, so that the background script
# receives SIGINT instead of ignoring it.
set -m
PULSE_HEARTBEAT_TOKEN=$WRITE PULSE_URL=$BASE_URL PULSE_ID=e2e-signoff PULSE_INTERVAL=30 bash "$EXAMPLE" \
  >"$E2E_TMP/signoff.out" 2>&1 &
script_pid=$!
set +m
for _ in $(seq 1 50); do
  [ "$(status GET /heartbeat/e2e-signoff -H "$(auth "$READ")")" = 200 ] && break
  sleep 0.1
done
expect 200 GET /heartbeat/e2e-signoff -H "$(auth "$READ")"
kill -INT "$script_pid"
for _ in $(seq 1 100); do
  kill -0 "$script_pid" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$script_pid" 2>/dev/null && { kill -KILL "$script_pid"; fail "heartbeat.sh ignored SIGINT"; }
grep -q '^signed off as e2e-signoff$' "$E2E_TMP/signoff.out" || fail "no sign-off: $(cat "$E2E_TMP/signoff.out")"
expect 404 GET /heartbeat/e2e-signoff -H "$(auth "$READ")"
pass "examples/heartbeat.sh signs off with the token on Ctrl-C"

# --- pulsehttpd beat -------------------------------------------------------------------------
timeout 20 env -u PULSE_HEARTBEAT_TOKEN "$PULSE_BIN" beat "$BASE_URL/heartbeat/e2e-beat" --interval 1s --count 1 \
  >"$E2E_TMP/beat-none.out" && fail "beat without a token exited 0"
grep -q '^beat 1: 401 (connection #1): the server needs a heartbeat token; set PULSE_HEARTBEAT_TOKEN$' \
  "$E2E_TMP/beat-none.out" || fail "beat without a token: $(cat "$E2E_TMP/beat-none.out")"
PULSE_HEARTBEAT_TOKEN=$WRITE timeout 20 "$PULSE_BIN" beat "$BASE_URL/heartbeat/e2e-beat" --interval 1s --count 2 \
  >"$E2E_TMP/beat.out" || fail "beat with the token: $(cat "$E2E_TMP/beat.out")"
[ "$(grep -c '^beat [12]: 20[01] (connection #1)$' "$E2E_TMP/beat.out")" -eq 2 ] ||
  fail "beat with the token: $(cat "$E2E_TMP/beat.out")"
expect 200 GET /heartbeat/e2e-beat -H "$(auth "$READ")"
grep -q '"beats":2' "$E2E_TMP/body" || fail "two beats not counted: $(cat "$E2E_TMP/body")"

PULSE_HEARTBEAT_TOKEN=$WRITE "$PULSE_BIN" beat "$BASE_URL/heartbeat/e2e-beat-signoff" --interval 10s \
  >"$E2E_TMP/beat-signoff.out" &
beat_pid=$!
for _ in $(seq 1 50); do grep -q '^beat 1:' "$E2E_TMP/beat-signoff.out" && break; sleep 0.1; done
if tr '\0' ' ' <"/proc/$beat_pid/cmdline" | grep -qF "$WRITE"; then fail "the token shows in beat's arguments"; fi
kill -INT "$beat_pid"
wait "$beat_pid" || true
grep -q '^signed off: 204$' "$E2E_TMP/beat-signoff.out" || fail "beat sign-off: $(cat "$E2E_TMP/beat-signoff.out")"
pass "pulsehttpd beat: 401 with a hint without the token; beats and signs off with PULSE_HEARTBEAT_TOKEN"

# --- the access log holds no token -----------------------------------------------------------
for _ in $(seq 1 50); do grep -q 'events?token=' "$E2E_TMP/access.log" 2>/dev/null && break; sleep 0.1; done
grep -q '"GET /heartbeat/events?token=REDACTED HTTP/1.1" 200' "$E2E_TMP/access.log" ||
  fail "no redacted event-stream line: $(tail -n 5 "$E2E_TMP/access.log")"
if grep -qF -e "$READ" -e "$WRITE" "$E2E_TMP/access.log"; then fail "a token reached the access log"; fi
pass "?token= is REDACTED in the access log"
stop_server
[ "$STOP_STATUS" -eq 0 ] || fail "server exited with status $STOP_STATUS"

# --- token files: several tokens (rotation), nothing secret in ps ----------------------------
printf '  old-token-1a2b  \n\nnew-token-3c4d\r\n' >"$E2E_TMP/write.tokens"
start_server --root "$E2E_TMP/root" --threads 1 --heartbeat-token-file "$E2E_TMP/write.tokens"
expect 201 POST /heartbeat/rotated-old -H "$(auth old-token-1a2b)"
expect 201 POST /heartbeat/rotated-new -H "$(auth new-token-3c4d)"
expect 401 POST /heartbeat/rotated-x -H "$(auth old-token-1a2)"
expect 200 GET /heartbeat
if tr '\0' ' ' <"/proc/$SERVER_PID/cmdline" | grep -qF -e old-token -e new-token; then
  fail "a token shows in the server's arguments"
fi
grep -q 'warning' "$E2E_TMP/server.err" && fail "warning on loopback: $(cat "$E2E_TMP/server.err")"
stop_server
pass "--heartbeat-token-file: both tokens work, none in ps; reads stay open without --read-token"

# --- the start-up warning --------------------------------------------------------------------
start_server --root "$E2E_TMP/root" --threads 1 --bind 0.0.0.0
grep -q 'warning: listening on 0.0.0.0:[0-9]* without --heartbeat-token' "$E2E_TMP/server.err" ||
  fail "no warning for 0.0.0.0 without a token: $(cat "$E2E_TMP/server.err")"
stop_server
start_server --root "$E2E_TMP/root" --threads 1 --bind 0.0.0.0 --heartbeat-token "$WRITE"
grep -q 'warning' "$E2E_TMP/server.err" && fail "warning despite a token: $(cat "$E2E_TMP/server.err")"
stop_server
pass "a non-loopback address without --heartbeat-token is warned about, with one it is not"

# --- bad token configuration: one line naming the flag, exit 2 -------------------------------
bad_config() {  # WANT_TEXT ARGS...
  local want=$1 code=0
  shift
  "$PULSE_BIN" --port 0 --root "$E2E_TMP/root" "$@" >"$E2E_TMP/bad.out" 2>"$E2E_TMP/bad.err" || code=$?
  [ "$code" -eq 2 ] || fail "$*: exit $code, want 2"
  [ "$(wc -l <"$E2E_TMP/bad.err")" -eq 1 ] || fail "$*: not one line: $(cat "$E2E_TMP/bad.err")"
  grep -qF -- "$want" "$E2E_TMP/bad.err" || fail "$*: '$want' not in: $(cat "$E2E_TMP/bad.err")"
}
: >"$E2E_TMP/empty.tokens"
bad_config '--heartbeat-token-file: cannot read' --heartbeat-token-file "$E2E_TMP/missing.tokens"
bad_config '--heartbeat-token-file:' --heartbeat-token-file "$E2E_TMP/empty.tokens"
bad_config '--read-token: must not be empty' --read-token ''
bad_config '--heartbeat-token: must be' --heartbeat-token 'has space'
PULSE_HEARTBEAT_TOKEN='' bad_config 'PULSE_HEARTBEAT_TOKEN'
pass "bad token flags: one line naming the flag, exit 2"
echo "auth e2e: all passed"
