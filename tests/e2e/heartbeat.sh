#!/usr/bin/env bash
# End to end: the heartbeat API driven by curl, and examples/heartbeat.sh (bounded run, Ctrl-C
# sign-off, "server unreachable"), against the built binary; the state file across a restart.
# Usage: heartbeat.sh PULSEHTTPD SOURCE_DIR
PULSE_BIN=$1
EXAMPLE="$2/examples/heartbeat.sh"
source "$(dirname "$0")/lib.sh"

# curl_status METHOD PATH [curl args...]: prints the status code; the body goes to $E2E_TMP/body.
curl_status() {
  local method=$1 path=$2
  shift 2
  curl -sS -m 10 -o "$E2E_TMP/body" -w '%{http_code}' -X "$method" "$@" "$BASE_URL$path"
}
body() { cat "$E2E_TMP/body"; }
body_has() { grep -q -- "$1" "$E2E_TMP/body"; }
json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1" <"$E2E_TMP/body"; }

# Waits (bounded) until `curl GET PATH` prints something matching the extended regex.
wait_for_body() {
  local path=$1 pattern=$2
  for _ in $(seq 1 100); do
    grep -Eq -- "$pattern" <<<"$(curl -sS -m 5 "$BASE_URL$path" 2>/dev/null)" && return 0
    sleep 0.1
  done
  return 1
}

mkdir -p "$E2E_TMP/root"
STATE="$E2E_TMP/heartbeat-state.json"
start_server --root "$E2E_TMP/root" --threads 2 --heartbeat-state "$STATE"

# --- the API with curl -----------------------------------------------------------------------
[ "$(curl_status POST '/heartbeat/e2e-web?interval=60&msg=hello')" = 201 ] || fail "first beat: $(body)"
[ "$(json_field state)" = up ] || fail "first beat state: $(body)"
[ "$(curl_status PUT '/heartbeat/e2e-web?interval=60')" = 200 ] || fail "second beat: $(body)"
[ "$(json_field beats)" = 2 ] || fail "second beat count: $(body)"
[ "$(curl_status POST /heartbeat/e2e-db -d 'status=fail' -d 'msg=disk full')" = 201 ] || fail "form beat: $(body)"
[ "$(json_field state)" = failing ] || fail "status=fail from a form body: $(body)"
pass "beats: 201, 200, status=fail"

[ "$(curl_status POST '/heartbeat/bad%20id')" = 400 ] || fail "invalid id accepted"
body_has '"error":"invalid_id"' || fail "invalid id error: $(body)"
[ "$(curl_status POST '/heartbeat/e2e-web?interval=0')" = 400 ] || fail "interval=0 accepted"
pass "validation: 400 with a JSON reason"

[ "$(curl_status GET '/heartbeat?state=failing')" = 200 ] || fail "filtered list"
body_has '"id":"e2e-db"' || fail "state=failing misses e2e-db: $(body)"
body_has '"id":"e2e-web"' && fail "state=failing lists e2e-web: $(body)"
etag=$(curl -sS -m 10 -D - -o /dev/null "$BASE_URL/heartbeat" | tr -d '\r' | sed -n 's/^[Ee][Tt][Aa][Gg]: //p')
[ -n "$etag" ] || fail "the list has no ETag"
[ "$(curl_status GET /heartbeat -H "If-None-Match: $etag")" = 304 ] || fail "If-None-Match did not give 304"
pass "list, filter, ETag 304"

curl -sS -m 3 -N "$BASE_URL/heartbeat/events" >"$E2E_TMP/events" 2>/dev/null || true  # ends by -m
grep -q '^event: snapshot$' "$E2E_TMP/events" || fail "no snapshot event: $(head -c 300 "$E2E_TMP/events")"
grep -q '^id: [0-9]*$' "$E2E_TMP/events" || fail "the snapshot has no id"
pass "server-sent events with curl -N"

metrics=$(curl -sS -m 10 "$BASE_URL/metrics")
for line in 'pulse_heartbeat_clients{state="up"} 1' 'pulse_heartbeat_clients{state="failing"} 1' \
  'pulse_heartbeat_clients{state="down"} 0' '# TYPE pulse_http_requests_total counter'; do
  grep -qF -- "$line" <<<"$metrics" || fail "/metrics lacks: $line"
done
pass "/metrics"

[ "$(curl_status DELETE /heartbeat/e2e-db)" = 204 ] || fail "DELETE"
[ "$(curl_status GET /heartbeat/e2e-db)" = 404 ] || fail "a signed-off client is still there"
pass "DELETE signs off"

# --- examples/heartbeat.sh -------------------------------------------------------------------
out=$(PULSE_URL=$BASE_URL PULSE_ID=script-1 PULSE_INTERVAL=1 PULSE_COUNT=3 PULSE_MSG="from the script" \
  timeout 60 bash "$EXAMPLE" 2>&1) || fail "heartbeat.sh with PULSE_COUNT=3: $out"
[ "$(curl_status GET /heartbeat/script-1)" = 200 ] || fail "script-1 is not registered"
[ "$(json_field beats)" = 3 ] || fail "heartbeat.sh sent $(json_field beats) beats, want 3"
[ "$(json_field msg)" = "from the script" ] || fail "heartbeat.sh message: $(body)"
pass "heartbeat.sh: three beats, then exits"

# Ctrl-C: job control on, so the background script receives SIGINT instead of ignoring it.
set -m
PULSE_URL=$BASE_URL PULSE_ID=script-2 PULSE_INTERVAL=1 bash "$EXAMPLE" >"$E2E_TMP/script-2.out" 2>&1 &
script_pid=$!
set +m
wait_for_body /heartbeat/script-2 '"beats":[2-9]' || fail "script-2 never beat twice"
kill -INT "$script_pid"
for _ in $(seq 1 100); do
  kill -0 "$script_pid" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$script_pid" 2>/dev/null && { kill -KILL "$script_pid"; fail "heartbeat.sh ignored SIGINT"; }
grep -q "signed off as script-2" "$E2E_TMP/script-2.out" || fail "no sign-off: $(cat "$E2E_TMP/script-2.out")"
[ "$(curl_status GET /heartbeat/script-2)" = 404 ] || fail "script-2 still listed after Ctrl-C"
pass "heartbeat.sh: Ctrl-C signs off"

# --- the state file survives a restart --------------------------------------------------------
stop_server
[ "$STOP_STATUS" -eq 0 ] || fail "server exit status $STOP_STATUS"
python3 -m json.tool "$STATE" >/dev/null || fail "the state file is not JSON"
grep -q '"e2e-web"' "$STATE" || fail "the state file lacks e2e-web"
start_server --root "$E2E_TMP/root" --threads 2 --heartbeat-state "$STATE"
[ "$(curl_status GET /heartbeat/e2e-web)" = 200 ] || fail "e2e-web not restored"
[ "$(json_field state)" = up ] || fail "a restored client must get a fresh interval: $(body)"
[ "$(json_field beats)" = 2 ] || fail "restored beat count: $(body)"
pass "state file across a restart"

# --- the server goes away: the script says so ------------------------------------------------
dead_url=$BASE_URL
stop_server
out=$(PULSE_URL=$dead_url PULSE_ID=script-3 PULSE_INTERVAL=1 PULSE_GRACE=1 PULSE_COUNT=6 \
  timeout 120 bash "$EXAMPLE" 2>&1) || fail "heartbeat.sh against a dead server: $out"
grep -q '^server unreachable' <<<"$out" || fail "no 'server unreachable': $out"
pass "heartbeat.sh: server unreachable"
