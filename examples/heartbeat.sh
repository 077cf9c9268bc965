#!/usr/bin/env bash
# Heartbeat client for Pulse: tells the server every INTERVAL seconds that this machine is alive,
# says "server unreachable" when it cannot for longer than the server would wait, and signs off
# (DELETE) on Ctrl-C or SIGTERM. Copy it and set the variables below; it needs only bash and curl.
#
#   PULSE_URL=http://monitor:8080 PULSE_ID=web-1 PULSE_INTERVAL=30 ./heartbeat.sh
#   PULSE_COUNT=1 PULSE_MSG="backup done" ./heartbeat.sh      # one beat, e.g. at the end of a cron job
#
# PULSE_URL       the server (default http://127.0.0.1:8080)
# PULSE_ID        this client's id: 1-64 of A-Z a-z 0-9 . _ - (default: the short host name)
# PULSE_INTERVAL  seconds between beats (default 30)
# PULSE_GRACE     seconds the server waits after a missed beat before "down"
#                 (default: the server's, half the interval but at least 5)
# PULSE_MSG       a message sent with every beat (optional, up to 256 bytes)
# PULSE_COUNT     stop after this many beats without signing off (default 0: until stopped)
set -u

url=${PULSE_URL:-http://127.0.0.1:8080}
id=${PULSE_ID:-$(hostname -s)}
interval=${PULSE_INTERVAL:-30}
grace=${PULSE_GRACE:-}
msg=${PULSE_MSG:-}
count=${PULSE_COUNT:-0}

case "${1:-}" in
  -h | --help)
    sed -n '2,/^set -u/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
    exit 0
    ;;
esac
for number in "$interval" "$count" ${grace:+"$grace"}; do
  case "$number" in
    '' | *[!0-9]*) echo "heartbeat.sh: not a whole number: '$number'" >&2; exit 2 ;;
  esac
done

# The server declares a client down after interval + grace without a beat.
if [ -z "$grace" ]; then
  grace=$((interval / 2 > 5 ? interval / 2 : 5))
fi
server_timeout=$((interval + grace))

beat() {
  # -f: an HTTP error is a failure too; --retry: ride out a brief outage within one beat.
  local body=(-X POST)
  [ -n "$msg" ] && body=(--data-binary "$msg")
  curl -fsS -m 5 --retry 3 -o /dev/null "${body[@]}" "$url/heartbeat/$id?interval=$interval&grace=$grace"
}

sign_off() {
  trap - INT TERM
  [ -n "${sleeper:-}" ] && kill "$sleeper" 2>/dev/null
  if curl -fsS -m 5 -o /dev/null -X DELETE "$url/heartbeat/$id"; then
    echo "signed off as $id"
  fi
  exit 0
}
trap sign_off INT TERM

echo "beating as $id every ${interval}s to $url (down after ${server_timeout}s of silence)"
last_success=$SECONDS
unreachable=false
sent=0
while [ "$count" -eq 0 ] || [ "$sent" -lt "$count" ]; do
  beat
  status=$?
  if [ "$status" -eq 0 ]; then
    last_success=$SECONDS
    if $unreachable; then
      echo "server reachable again"
      unreachable=false
    fi
  elif [ "$status" -eq 22 ]; then
    # An HTTP error: the server answered, and refused (curl printed the status above).
    echo "the server refused the beat: check PULSE_ID, PULSE_INTERVAL, PULSE_GRACE and PULSE_MSG" >&2
  elif ! $unreachable && [ $((SECONDS - last_success)) -gt "$server_timeout" ]; then
    echo "server unreachable: no beat delivered for over ${server_timeout}s"
    unreachable=true
  fi
  sent=$((sent + 1))
  if [ "$count" -ne 0 ] && [ "$sent" -ge "$count" ]; then break; fi
  # In the background, so that Ctrl-C interrupts the wait at once.
  sleep "$interval" &
  sleeper=$!
  wait "$sleeper"
  sleeper=""
done
