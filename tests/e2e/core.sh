#!/usr/bin/env bash
# End to end: real clients (curl, ab) against the built binary; CLI errors; SIGTERM drain.
# Usage: core.sh PULSEHTTPD SOURCE_DIR
PULSE_BIN=$1
source "$(dirname "$0")/lib.sh"

# --- CLI: --help, --version, bad flags -------------------------------------------------------
"$PULSE_BIN" --help | grep -q -- '--keepalive-timeout' || fail "--help does not list flags"
"$PULSE_BIN" --version | grep -q '^pulsehttpd ' || fail "--version"
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

# --- SIGTERM with a response in flight: it completes, exit status 0 --------------------------
curl -sS --max-time 30 --limit-rate 8M -o "$E2E_TMP/big.out" "$BASE_URL/big.bin" &
curl_pid=$!
sleep 1
stop_server
wait "$curl_pid" || fail "the in-flight download failed"
cmp -s "$E2E_TMP/big.out" "$E2E_TMP/root/big.bin" || fail "the in-flight download is not byte-exact"
[ "$STOP_STATUS" -eq 0 ] || fail "exit status after SIGTERM: $STOP_STATUS"
pass "SIGTERM drains an in-flight 32 MiB download and exits 0"
echo "core e2e: all passed"
