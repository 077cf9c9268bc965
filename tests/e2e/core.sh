#!/usr/bin/env bash
# End to end: real clients (curl, ab) against the built binary; CLI errors; SIGTERM drain.
# Usage: core.sh PULSEHTTPD SOURCE_DIR
PULSE_BIN=$1
source "$(dirname "$0")/lib.sh"

# --- CLI: --help, --version, bad flags -------------------------------------------------------
# Captured first: grep -q stops reading at its match, and the writer's SIGPIPE would fail the pipe.
help=$("$PULSE_BIN" --help) || fail "--help exited with $?"
grep -q -- '--keepalive-timeout' <<<"$help" || fail "--help does not list flags"
version=$("$PULSE_BIN" --version) || fail "--version exited with $?"
grep -q '^pulsehttpd ' <<<"$version" || fail "--version: $version"
set +e
err=$("$PULSE_BIN" --port 99999 2>&1 >/dev/null); status=$?
set -e
[ "$status" -eq 2 ] || fail "bad --port exits $status, want 2"
[ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || fail "bad --port error is not one line: $err"
printf '%s' "$err" | grep -q -- '--port' || fail "error does not name --port: $err"
set +e
err=$(PULSE_KEEPALIVE_TIMEOUT=later "$PULSE_BIN" 2>&1 >/dev/null); status=$?
set -e
[ "$status" -eq 2 ] || fail "bad PULSE_KEEPALIVE_TIMEOUT exits $status, want 2"
set +e
err=$("$PULSE_BIN" --root /nonexistent/pulse-root --port 0 2>&1 >/dev/null); status=$?
set -e
[ "$status" -ne 0 ] || fail "a missing docroot must fail start-up"
[ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || fail "start-up error is not one line: $err"
pass "CLI help, version and one-line errors"

mkdir -p "$E2E_TMP/root"
echo "hello from pulse" >"$E2E_TMP/root/index.html"
head -c $((32 * 1024 * 1024)) /dev/urandom >"$E2E_TMP/root/big.bin"
start_server --root "$E2E_TMP/root" --threads 2

# --- curl: HTTP/1.0 closes, HTTP/1.1 reuses one connection for several URLs ------------------
out=$(curl -sS --max-time 10 --http1.0 -v "$BASE_URL/healthz" 2>&1)
printf '%s' "$out" | grep -q '^< HTTP/1.1 200' || fail "curl --http1.0: $out"
printf '%s' "$out" | grep -qi '^< Connection: close' || fail "HTTP/1.0 response lacks Connection: close"
printf '%s' "$out" | grep -qi 'Closing connection' || fail "curl did not see the connection close"
pass "curl --http1.0"

out=$(curl -sS --max-time 10 --http1.1 -v "$BASE_URL/healthz" "$BASE_URL/healthz" "$BASE_URL/index.html" 2>&1)
[ "$(printf '%s' "$out" | grep -c '^< HTTP/1.1 200')" -eq 3 ] || fail "curl --http1.1 three URLs: $out"
printf '%s' "$out" | grep -qi 'Re-using existing connection' || fail "curl did not reuse the connection"
[ "$(printf '%s' "$out" | grep -c 'Connected to')" -eq 1 ] || fail "curl connected more than once"
pass "curl --http1.1 reuses one connection for three URLs"

out=$(curl -sS --max-time 10 --http1.0 -H 'Connection: keep-alive' -v "$BASE_URL/healthz" "$BASE_URL/healthz" 2>&1)
[ "$(printf '%s' "$out" | grep -c 'Connected to')" -eq 1 ] || fail "HTTP/1.0 keep-alive was not reused: $out"
pass "curl --http1.0 with keep-alive reuses the connection"

# --- ab: with and without keep-alive, zero failures ------------------------------------------
for mode in "-k" ""; do
  out=$(timeout 60 ab $mode -q -n 2000 -c 16 "$BASE_URL/healthz" 2>&1) || fail "ab $mode: $out"
  printf '%s' "$out" | grep -q '^Complete requests: *2000' || fail "ab $mode incomplete: $out"
  printf '%s' "$out" | grep -q '^Failed requests: *0' || fail "ab $mode failures: $out"
  printf '%s' "$out" | grep -q '^Non-2xx responses' && fail "ab $mode non-2xx: $out"
  if [ "$mode" = "-k" ]; then
    printf '%s' "$out" | grep -q '^Keep-Alive requests: *2000' || fail "ab -k did not keep alive: $out"
  fi
  pass "ab $mode -n 2000 -c 16: 0 failures"
done

# --- Many concurrent clients, then no connection left behind --------------------------------
out=$(timeout 90 ab -k -q -n 20000 -c 256 "$BASE_URL/index.html" 2>&1) || fail "ab -c 256: $out"
printf '%s' "$out" | grep -q '^Failed requests: *0' || fail "ab -c 256 failures: $out"
printf '%s' "$out" | grep -q '^Complete requests: *20000' || fail "ab -c 256 incomplete: $out"
open_now=""
for _ in $(seq 1 50); do
  # The scrape's own connection is the only one left once ab's have closed.
  open_now=$(curl -sS --max-time 5 "$BASE_URL/metrics" | awk '$1 == "pulse_http_open_connections" {print $2}')
  [ "$open_now" = 1 ] && break
  sleep 0.1
done
[ "$open_now" = 1 ] || fail "connections left open after the load: $open_now"
pass "ab -k -c 256 (20000 requests): 0 failures, every connection closed afterwards"

# --- Out of file descriptors: the acceptor sheds connections instead of spinning --------------
stop_server
(ulimit -n 48; exec "$PULSE_BIN" --bind 127.0.0.1 --port 0 --root "$E2E_TMP/root" --threads 1 \
   >"$E2E_TMP/emfile.out" 2>&1) &
SERVER_PID=$!
for _ in $(seq 1 100); do grep -q 'listening on' "$E2E_TMP/emfile.out" 2>/dev/null && break; sleep 0.1; done
BASE_URL=$(sed -n 's/^pulsehttpd listening on \(http:\/\/[^ ]*\).*/\1/p' "$E2E_TMP/emfile.out" | head -1)
port=${BASE_URL##*:}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }
# Hold 80 idle connections open for 3 s: more than the 48 descriptors the server may have.
python3 - "$port" <<'PY' &
import socket, sys, time
socks = []
for _ in range(80):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
    socks.append(s)
time.sleep(3)
PY
holder=$!
sleep 1
before=$(cpu_ticks)
sleep 1
after=$(cpu_ticks)
# Spinning on EMFILE would burn ~100 ticks (1 s of CPU) here; idle is ~0.
[ $((after - before)) -lt 30 ] || fail "acceptor spins when out of descriptors: $((after - before)) ticks in 1 s"
wait "$holder" || true
sleep 0.5
curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "$BASE_URL/healthz" | grep -q 200 || fail "not serving after EMFILE"
pass "EMFILE: no spin, serving again once descriptors free up"
stop_server
[ "$STOP_STATUS" -eq 0 ] || fail "exit status after SIGTERM (EMFILE run): $STOP_STATUS"
# The access log's writer thread must not catch SIGTERM (it would kill the process).
start_server --root "$E2E_TMP/root" --threads 2 --access-log "$E2E_TMP/access.log"
curl -sS --max-time 5 -o /dev/null "$BASE_URL/healthz?from=e2e"

# --- SIGTERM with a response in flight: it completes, exit status 0 --------------------------
curl -sS --max-time 30 --limit-rate 8M -o "$E2E_TMP/big.out" "$BASE_URL/big.bin" &
curl_pid=$!
sleep 1
stop_server
wait "$curl_pid" || fail "the in-flight download failed"
cmp -s "$E2E_TMP/big.out" "$E2E_TMP/root/big.bin" || fail "the in-flight download is not byte-exact"
[ "$STOP_STATUS" -eq 0 ] || fail "exit status after SIGTERM: $STOP_STATUS"
pass "SIGTERM drains an in-flight 32 MiB download and exits 0 (access log on)"
grep -q '"GET /healthz?from=e2e HTTP/1.1" 200 3$' "$E2E_TMP/access.log" || fail "access log line missing"
grep -q '"GET /big.bin HTTP/1.1" 200 33554432$' "$E2E_TMP/access.log" || fail "access log lacks the download"
pass "access log in Common Log Format, flushed at shutdown"
echo "core e2e: all passed"
