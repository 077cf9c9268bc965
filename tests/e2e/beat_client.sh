#!/usr/bin/env bash
# End to end: `pulsehttpd beat` keeps ONE connection for all its beats, where a curl loop opens
# one per beat; it signs off with DELETE on SIGINT.
# Usage: beat_client.sh PULSEHTTPD SOURCE_DIR
PULSE_BIN=$1
source "$(dirname "$0")/lib.sh"
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
stop_server
echo "beat client e2e: all passed"
