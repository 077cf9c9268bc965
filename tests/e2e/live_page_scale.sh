#!/usr/bin/env bash
# End to end: the live page (www/) in headless Chromium with 10,000 clients. The counts say
# 10,000 while only the rows in view exist; search finds one id; a state change made with curl
# shows within 2 s; the client view opens (history and run times when the server keeps them) and
# gives the focus back when it closes; markup in a log or message stays text; the arrow keys move between rows; sorting by state puts
# the down client first; a prefix group narrows the list and ?prefix= survives a reload; the
# indicator says "Reconnecting" once the server is gone. Screenshots in light and dark are taken
# (PULSE_SCREENSHOT_DIR=DIR keeps them, as docs/screenshots/ holds them for the README).
# Usage: live_page_scale.sh PULSEHTTPD SOURCE_DIR
source "$(dirname "$0")/lib.sh"
PULSE_BIN=$1
SRC=$2

# 77: CTest's SKIP_RETURN_CODE for this test.
for tool in chromium python3 curl; do
  command -v "$tool" >/dev/null || { echo "skip: $tool is not installed (scripts/setup.sh test)"; exit 77; }
done

CLIENTS=10000
WINDOW=1200x900
browser() {
  local status=0
  timeout 150 python3 "$SRC/tests/e2e/headless_browser.py" --browser-log "$E2E_TMP/chromium.log" \
    --window "$WINDOW" --step-timeout 20 "$@" || status=$?
  if [ "$status" -ne 0 ]; then
    echo "--- chromium log (last lines)" >&2
    tail -n 20 "$E2E_TMP/chromium.log" >&2
    fail "the browser session failed (status $status)"
  fi
}
beat() { curl -fsS -m 5 -o /dev/null -X POST "$BASE_URL/heartbeat/$1"; }

start_server --root "$SRC/www"
timeout 150 python3 "$SRC/tests/e2e/register_clients.py" "$BASE_URL" "$CLIENTS" --runs --timeout 120 ||
  fail "could not register $CLIENTS clients"
# db-00002 goes down within 2 s and edge-00004 late within 1 s, so sorting by state has a down
# client to put first; the total stays 10,000.
beat 'db-00002?interval=1&grace=1&msg=unplugged'
beat 'edge-00004?interval=1&grace=600&msg=slow%20link'
# Markup as a beat's body: a newer server keeps it as the log (and its first line as the
# message), an older one as the message. Either way the page must show it as text.
curl -fsS -m 5 -o /dev/null -X POST --data-binary '<b id="injected-log">disk</b> full' "$BASE_URL/heartbeat/cron-00011"
total=$(curl -fsS -m 10 "$BASE_URL/heartbeat?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
[ "$total" = "$CLIENTS" ] || fail "the server holds $total clients, expected $CLIENTS"
pass "$CLIENTS clients registered"

# What this server keeps decides what the client view must show (the page works either way).
HAS_HISTORY=false
[ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$BASE_URL/heartbeat/cron-00003/history")" = 200 ] && HAS_HISTORY=true
HAS_LOG=false
grep -q '"log":"<b id' <<<"$(curl -fsS -m 5 "$BASE_URL/heartbeat/cron-00011")" && HAS_LOG=true
HAS_RUNS=false
grep -q '"last_duration_ms":[0-9]' <<<"$(curl -fsS -m 5 "$BASE_URL/heartbeat/cron-00003")" && HAS_RUNS=true
echo "server keeps history: $HAS_HISTORY; runs: $HAS_RUNS; logs: $HAS_LOG"

FIND=web-us-01337  # not one of the failing ones (every 250th)
WRAP='document.getElementById("clients-wrap")'
ROWS='document.querySelectorAll("#clients-body tr[data-id]")'
READY='document.querySelector("#clients-table[aria-busy=false]") && document.querySelector("#connection[data-state=live]")'
COUNTED="document.getElementById('count-total').dataset.count === '$CLIENTS' && document.getElementById('shown-text').dataset.count === '$CLIENTS'"
search() { echo "(s = document.getElementById('search'), s.value = '$1', s.dispatchEvent(new Event('input')), true)"; }
click() { echo "(document.querySelector('$1').click(), true)"; }
if $HAS_RUNS; then DETAIL_ID=cron-00003; else DETAIL_ID=$FIND; fi
OPEN_DETAIL="$(search "$DETAIL_ID")"
DETAIL_READY="document.querySelector('#detail[open]') && document.getElementById('detail-id').textContent === '$DETAIL_ID' && document.querySelector('#detail-history li') && document.querySelector('#detail-fields dt')"
if $HAS_RUNS; then
  DETAIL_READY="$DETAIL_READY && document.querySelectorAll('#detail-trend svg.sparkline circle').length >= 6 && document.getElementById('detail-log').textContent.includes('run 6')"
fi
if $HAS_HISTORY; then DETAIL_READY="$DETAIL_READY && document.querySelector('#detail-strip .strip-segment')"; fi
INJECTED_SHOWN_AS_TEXT="!document.getElementById('injected-log') && document.querySelector('tr[data-id=\"cron-00011\"] td.msg').textContent.startsWith('<b id=')"
if $HAS_LOG; then
  INJECTED_SHOWN_AS_TEXT="$INJECTED_SHOWN_AS_TEXT && document.getElementById('detail-log').textContent === '<b id=\"injected-log\">disk</b> full'"
fi
shots=$E2E_TMP/shots
mkdir -p "$shots"

browser "$BASE_URL/" --color-scheme light \
  --wait "$READY" --wait "$COUNTED" \
  --wait "$ROWS.length > 0 && $ROWS.length < 100" \
  --wait "($WRAP.scrollTop = $WRAP.scrollHeight, true)" \
  --wait "document.querySelector('tr[data-id=\"worker-09997\"]') && $ROWS.length < 100" \
  --wait "($WRAP.scrollTop = 0, true)" \
  --wait "$(search "$FIND")" \
  --wait "document.getElementById('shown-text').dataset.count === '1' && $ROWS.length === 1 && document.querySelector('tr[data-id=\"$FIND\"][data-state=up]')" \
  --exec "curl -fsS -m 5 -o /dev/null -X POST '$BASE_URL/heartbeat/$FIND?interval=600&status=fail&msg=disk%20full'" \
  --within 2 --wait "document.querySelector('tr[data-id=\"$FIND\"][data-state=failing]') && document.getElementById('count-failing').dataset.count === '41'" \
  --wait "[...document.querySelectorAll('#activity strong')].some((n) => n.textContent === '$FIND')" \
  --wait "$(click "tr[data-id=\"$FIND\"]")" \
  --wait "document.querySelector('#detail[open]') && document.getElementById('detail-id').textContent === '$FIND' && document.querySelector('#detail-state[data-state=failing]') && document.querySelector('#detail-history li')" \
  --wait "(document.getElementById('detail').close(), true)" \
  --wait "document.activeElement && document.activeElement.dataset.id === '$FIND'" \
  --wait "$(search '')" --wait "$COUNTED" \
  --wait "($ROWS[0].focus(), $ROWS[0].dispatchEvent(new KeyboardEvent('keydown', {key: 'ArrowDown', bubbles: true})), true)" \
  --wait "document.activeElement === $ROWS[1] && $ROWS[1].tabIndex === 0" \
  --wait "$(click 'th[data-sort=state] button')" \
  --wait "$ROWS[0].dataset.id === 'db-00002' && $ROWS[0].dataset.state === 'down' && document.querySelector('th[data-sort=state][aria-sort=ascending]')" \
  --screenshot "$shots/live-light.png" \
  --wait "$OPEN_DETAIL" --wait "$ROWS.length === 1" --wait "$(click "tr[data-id=\"$DETAIL_ID\"]")" \
  --wait "$DETAIL_READY" --screenshot "$shots/detail-light.png" \
  --wait "(document.getElementById('detail').close(), true)" \
  --wait "$(search cron-00011)" --wait "$ROWS.length === 1" --wait "$(click 'tr[data-id="cron-00011"]')" \
  --wait "document.getElementById('detail-id').textContent === 'cron-00011' && document.getElementById('detail-status').textContent === ''" \
  --wait "$INJECTED_SHOWN_AS_TEXT" \
  --wait "(document.getElementById('detail').close(), true)" --wait "$(search '')" \
  --wait "$(click 'button.group[data-prefix="db-"]')" \
  --wait "document.getElementById('shown-text').dataset.count === '1250' && location.search === '?prefix=db-'" \
  --wait "(history.replaceState(null, '', '/?prefix=web-'), true)" --reload --wait "$READY" \
  --wait "document.getElementById('prefix').value === 'web-' && document.getElementById('shown-text').dataset.count === '3750'" \
  --wait "document.querySelector('button.group[data-prefix=\"web-eu-\"]') && document.querySelector('button.group[data-prefix=\"web-us-\"]') && document.querySelector('button.group-up')"
pass "10,000 counted, rows virtualised; search found $FIND; its change showed within 2 s; client view, keyboard, sort, groups and ?prefix= work"

browser "$BASE_URL/" --color-scheme dark \
  --wait "$READY" --wait "$COUNTED" \
  --wait "$(click 'th[data-sort=state] button')" --wait "$ROWS[0].dataset.id === 'db-00002'" \
  --screenshot "$shots/live-dark.png" \
  --wait "$OPEN_DETAIL" --wait "$ROWS.length === 1" --wait "$(click "tr[data-id=\"$DETAIL_ID\"]")" \
  --wait "$DETAIL_READY" --screenshot "$shots/detail-dark.png" \
  --exec "kill -TERM $SERVER_PID" \
  --wait "document.querySelector('#connection[data-state=reconnecting]') && document.getElementById('connection-text').textContent.startsWith('Reconnecting')"
pass "dark theme screenshots taken; the indicator says Reconnecting once the server is gone"

for shot in live-light live-dark detail-light detail-dark; do
  [ -s "$shots/$shot.png" ] || fail "no screenshot $shot.png"
  # A PNG of the whole window: the signature, then IHDR with the window's width and height.
  python3 - "$shots/$shot.png" "$WINDOW" <<'EOF' || fail "$shot.png is not a ${WINDOW} PNG"
import struct, sys
data = open(sys.argv[1], "rb").read(24)
width, height = (int(v) for v in sys.argv[2].split("x"))
assert data[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", data[16:24]) == (width, height)
EOF
done
if [ -n "${PULSE_SCREENSHOT_DIR:-}" ]; then
  mkdir -p "$PULSE_SCREENSHOT_DIR"
  cp "$shots"/*.png "$PULSE_SCREENSHOT_DIR"/
  echo "screenshots in $PULSE_SCREENSHOT_DIR"
fi
pass "four screenshots"

for _ in $(seq 1 150); do
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$SERVER_PID" 2>/dev/null && fail "server still running 15 s after SIGTERM"
STOP_STATUS=0
wait "$SERVER_PID" || STOP_STATUS=$?
SERVER_PID=""
[ "$STOP_STATUS" -eq 0 ] || fail "server exited with status $STOP_STATUS"
pass "server stopped cleanly"
