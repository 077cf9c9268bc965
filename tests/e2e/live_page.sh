#!/usr/bin/env bash
# End to end: the live page (www/index.html) in headless Chromium against the real server, with
# assertions on the rendered DOM: the first snapshot; join, beat and sign-off events as they
# happen; escaping of client text; "last seen" ticking; a reload after a DELETE; and, against a
# server with --read-token, the token form (a wrong token, the right one, kept across a reload).
# Usage: live_page.sh PULSEHTTPD SOURCE_DIR
source "$(dirname "$0")/lib.sh"
PULSE_BIN=$1
SRC=$2

# 77: CTest's SKIP_RETURN_CODE for this test (see live_page_e2e.cmake).
for tool in chromium python3 curl; do
  command -v "$tool" >/dev/null || { echo "skip: $tool is not installed (scripts/setup.sh test)"; exit 77; }
done

# --dump-dom would serialise the page at its load event, before the event stream delivers
# anything; the driver waits for conditions instead, each bounded (--step-timeout).
browser() {
  local status=0
  timeout 120 python3 "$SRC/tests/e2e/headless_browser.py" --browser-log "$E2E_TMP/chromium.log" \
    --step-timeout 15 "$@" || status=$?
  if [ "$status" -ne 0 ]; then
    echo "--- chromium log (last lines)" >&2
    tail -n 20 "$E2E_TMP/chromium.log" >&2
    fail "the browser session failed (status $status)"
  fi
}

beat() { curl -fsS -m 5 -o /dev/null -X POST "$BASE_URL/heartbeat/$1"; }

# The serialised <tr> of one client (rows are built by script, so each is on one line).
row() { grep -oP "<tr data-id=\"$1\".*?</tr>" "$2" || true; }
count() { sed -n "s/.*id=\"count-$1\"[^>]*>\([^<]*\)<.*/\1/p" "$2" | head -n 1; }
expect_text() {  # FILE TEXT WHAT
  grep -qF -- "$2" "$1" || fail "$3: '$2' not in $(basename "$1")"
}
expect_no_text() {  # FILE TEXT WHAT
  if grep -qF -- "$2" "$1"; then fail "$3: '$2' in $(basename "$1")"; fi
}
expect_count() {  # FILE STATE VALUE
  local got
  got=$(count "$2" "$1")
  [ "$got" = "$3" ] || fail "count-$2 is '$got', expected $3 in $(basename "$1")"
}

start_server --root "$SRC/www"
beat 'web-01?interval=60&msg=all%20good'
# A message that would be markup if the page ever used innerHTML.
beat 'db-1?interval=60&status=fail&msg=%3Cb%20id%3D%22injected%22%3Edisk%3C%2Fb%3E%20full'

READY='document.querySelector("#clients-table[aria-busy=false]") && document.querySelector("#connection[data-state=live]")'
SEEN='document.querySelector("tr[data-id=web-01] time").textContent'
first="$E2E_TMP/first.html"
live="$E2E_TMP/live.html"
reloaded="$E2E_TMP/reloaded.html"
empty="$E2E_TMP/empty.html"

browser "$BASE_URL/" \
  --wait "$READY" --dump "$first" \
  --wait "(window.seenBefore = $SEEN)" --wait "$SEEN !== window.seenBefore" \
  --exec "curl -fsS -m 5 -o /dev/null -X POST '$BASE_URL/heartbeat/web-01?interval=60&msg=second%20beat'" \
  --wait 'document.querySelector("tr[data-id=web-01] td.msg").textContent === "second beat"' \
  --exec "curl -fsS -m 5 -o /dev/null -X POST '$BASE_URL/heartbeat/cron-7?interval=60'" \
  --wait 'document.querySelector("tr[data-id=cron-7][data-state=up]")' \
  --exec "curl -fsS -m 5 -o /dev/null -X DELETE '$BASE_URL/heartbeat/cron-7'" \
  --wait '!document.querySelector("tr[data-id=cron-7]")' --dump "$live" \
  --exec "curl -fsS -m 5 -o /dev/null -X DELETE '$BASE_URL/heartbeat/web-01'" \
  --reload --wait "$READY" --dump "$reloaded" \
  --exec "curl -fsS -m 5 -o /dev/null -X DELETE '$BASE_URL/heartbeat/db-1'" \
  --reload --wait "$READY" --dump "$empty"
pass "the page rendered, followed the events and ticked 'last seen'"

# --- The first snapshot: both clients, their states, the counts.
web=$(row web-01 "$first")
db=$(row db-1 "$first")
[ -n "$web" ] || fail "no row for web-01"
[ -n "$db" ] || fail "no row for db-1"
grep -qF 'data-state="up"' <<<"$web" || fail "web-01 is not up: $web"
grep -qF '<span class="state-text">Up</span>' <<<"$web" || fail "web-01's state is not written out: $web"
grep -qF 'data-state="failing"' <<<"$db" || fail "db-1 is not failing: $db"
grep -qF '<span class="state-text">Failing</span>' <<<"$db" || fail "db-1's state is not written out: $db"
grep -qP '<time [^>]*>(just now|[0-9]+ s ago)</time>' <<<"$web" || fail "web-01 has no 'last seen': $web"
grep -qF '>1 min</td>' <<<"$web" || fail "web-01's interval is not shown: $web"
grep -qF '>all good</td>' <<<"$web" || fail "web-01's message is not shown: $web"
pass "both clients in rows with their states, last seen, interval and message"

[ "$(grep -oP '<tr data-id="[^"]*"' "$first" | tr '\n' ' ')" = '<tr data-id="db-1" <tr data-id="web-01" ' ] ||
  fail "rows are not exactly db-1, web-01 in id order"
expect_count "$first" online 2
expect_count "$first" offline 0
expect_count "$first" up 1
expect_count "$first" failing 1
expect_count "$first" late 0
expect_count "$first" down 0
expect_text "$first" 'id="connection" class="connection" data-state="live"' "connection indicator"
expect_text "$first" "$BASE_URL/heartbeat/\$(hostname)?interval=60" "the curl one-liner uses this server's address"
expect_text "$first" '<form id="token-form" class="token-form" hidden=""' "no token form without --read-token"
pass "counts: 2 online, 0 offline, 1 up, 1 failing; indicator live"

grep -qF '&lt;b id="injected"&gt;disk&lt;/b&gt; full' <<<"$db" || fail "db-1's message is not shown as text: $db"
expect_no_text "$first" '<b id="injected">' "client text became markup"
pass "client text is escaped"

# --- Live events, without a reload: cron-7 joined and signed off.
[ -z "$(row cron-7 "$live")" ] || fail "cron-7 still has a row after signing off"
expect_text "$live" '<strong>cron-7</strong> joined, up' "change feed"
expect_text "$live" '<strong>cron-7</strong> signed off' "change feed"
expect_count "$live" online 2
grep -qF '<td class="num">2</td><td class="msg" title="second beat">second beat</td>' <<<"$(row web-01 "$live")" ||
  fail "web-01's second beat is not shown: $(row web-01 "$live")"
pass "live: a join added a row, a beat updated one, a sign-off removed one"

# --- After DELETE web-01 and a reload.
[ -z "$(row web-01 "$reloaded")" ] || fail "web-01 is still listed after DELETE and reload"
grep -qF 'data-state="failing"' <<<"$(row db-1 "$reloaded")" || fail "db-1 missing after reload"
expect_count "$reloaded" online 1
expect_count "$reloaded" failing 1
expect_count "$reloaded" up 0
pass "after DELETE and reload, the client is gone"

# --- No clients at all: the invitation instead of an empty table.
[ -z "$(grep -oP '<tr data-id=' "$empty")" ] || fail "rows left after every client signed off"
expect_text "$empty" '<p id="clients-empty" class="empty">' "empty-state message shown"
expect_count "$empty" online 0
pass "with no clients the page says how to add one"

stop_server
[ "$STOP_STATUS" -eq 0 ] || fail "server exited with status $STOP_STATUS"
pass "server stopped cleanly"

# --- A server with --read-token: the page asks once, keeps the token in the tab.
READ_TOKEN=r-page-5b7d9f
WRITE_TOKEN=w-page-2c4e6a
start_server --root "$SRC/www" --read-token "$READ_TOKEN" --heartbeat-token "$WRITE_TOKEN"
curl -fsS -m 5 -o /dev/null -X POST -H "Authorization: Bearer $WRITE_TOKEN" "$BASE_URL/heartbeat/locked-1?interval=60"
LOCKED='document.querySelector("#token-form:not([hidden])") && document.querySelector("#connection[data-state=locked]")'
submit() {  # a --wait expression that types TOKEN into the form and submits it, once
  echo "(document.getElementById('token-input').value = '$1', document.getElementById('token-form').requestSubmit(), true)"
}
locked="$E2E_TMP/locked.html"
unlocked="$E2E_TMP/unlocked.html"
kept="$E2E_TMP/kept.html"
browser "$BASE_URL/" \
  --wait "$LOCKED" --dump "$locked" \
  --wait "$(submit wrong-token)" \
  --wait "$LOCKED"' && !document.getElementById("token-error").hidden' \
  --wait "$(submit "$READ_TOKEN")" \
  --wait "$READY" --wait 'document.getElementById("token-form").hidden' \
  --wait "sessionStorage.getItem('pulse.readToken') === '$READ_TOKEN'" \
  --exec "curl -fsS -m 5 -o /dev/null -X POST -H 'Authorization: Bearer $WRITE_TOKEN' '$BASE_URL/heartbeat/locked-2?interval=60'" \
  --wait 'document.querySelector("tr[data-id=locked-2][data-state=up]")' --dump "$unlocked" \
  --reload --wait "$READY" --wait 'document.querySelector("tr[data-id=locked-2]")' --dump "$kept"
[ -z "$(row locked-1 "$locked")" ] || fail "a client was shown before the token was given"
expect_text "$locked" 'Needs the read token' "the indicator says what is missing"
[ -n "$(row locked-1 "$unlocked")" ] || fail "no row for locked-1 once the token was given"
expect_text "$unlocked" '<strong>locked-2</strong> joined, up' "live events with ?token="
[ -n "$(row locked-1 "$kept")" ] || fail "no row for locked-1 after a reload"
expect_text "$kept" '<form id="token-form" class="token-form" hidden=""' "the form asked again after a reload"
pass "read token: asked for, a wrong one refused, the right one used and kept for the tab"
stop_server
