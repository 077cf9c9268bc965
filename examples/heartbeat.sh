#!/usr/bin/env bash
# Heartbeat client for Pulse: tells the server every INTERVAL seconds that this machine is alive,
# says "server unreachable" when it cannot for longer than the server would wait, and signs off
# (DELETE) on Ctrl-C or SIGTERM. Copy it and set the variables below; it needs only bash and curl.
#
#   PULSE_URL=http://monitor:8080 PULSE_ID=web-1 PULSE_INTERVAL=30 ./heartbeat.sh
#   PULSE_COUNT=1 PULSE_MSG="backup done" ./heartbeat.sh      # one beat, e.g. at the end of a cron job
#   PULSE_HEARTBEAT_TOKEN=$(cat /etc/pulse/token) ./heartbeat.sh # a server started with --heartbeat-token
#
# PULSE_URL       the server (default http://127.0.0.1:8080)
# PULSE_ID        this client's id: 1-64 of A-Z a-z 0-9 . _ - (default: the short host name)
# PULSE_INTERVAL  seconds between beats (default 30)
# PULSE_GRACE     seconds the server waits after a missed beat before "down"
#                 (default: the server's, half the interval but at least 5)
# PULSE_MSG       a message sent with every beat (optional, up to 256 bytes)
# PULSE_COUNT     stop after this many beats without signing off (default 0: until stopped)
# PULSE_HEARTBEAT_TOKEN
#                 the server's heartbeat token, if it has one (its --heartbeat-token); sent as
#                 "Authorization: Bearer" through curl's standard input, so it never shows in ps
set -u

url=${PULSE_URL:-http://127.0.0.1:8080}
id=${PULSE_ID:-$(hostname -s)}
interval=${PULSE_INTERVAL:-30}
grace=${PULSE_GRACE:-}
msg=${PULSE_MSG:-}
count=${PULSE_COUNT:-0}
token=${PULSE_HEARTBEAT_TOKEN:-}

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

# The token goes into a curl config line: only token characters (RFC 6750), so none can break it.
case "$token" in
  *[!A-Za-z0-9._~+/=-]*) echo "heartbeat.sh: PULSE_HEARTBEAT_TOKEN is not a token (A-Z a-z 0-9 - . _ ~ + / =)" >&2; exit 2 ;;
esac

# curl, with the token (if any) as a header read from standard input (-K -): a header given on
# the command line would show in ps to every user of this machine.
pulse_curl() {
  if [ -n "$token" ]; then
    printf 'header = "Authorization: Bearer %s"\n' "$token" | curl -K - "$@"
  else
    curl "$@"
  fi
}

# The server declares a client down after interval + grace without a beat.
if [ -z "$grace" ]; then
  grace=$((interval / 2 > 5 ? interval / 2 : 5))
fi
server_timeout=$((interval + grace))

# Sets http_code (000 when there was no answer); returns curl's exit status.
beat() {
  # -f: an HTTP error is a failure too; --retry: ride out a brief outage within one beat.
  local body=(-X POST)
  [ -n "$msg" ] && body=(--data-binary "$msg")
  http_code=$(pulse_curl -fsS -m 5 --retry 3 -o /dev/null -w '%{http_code}' "${body[@]}" \
    "$url/heartbeat/$id?interval=$interval&grace=$grace")
}

sign_off() {
  trap - INT TERM
  [ -n "${sleeper:-}" ] && kill "$sleeper" 2>/dev/null
  if pulse_curl -fsS -m 5 -o /dev/null -X DELETE "$url/heartbeat/$id"; then
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
  elif [ "$status" -eq 22 ] && [ "$http_code" = 401 ]; then
    if [ -n "$token" ]; then
      echo "the server refused the token in PULSE_HEARTBEAT_TOKEN" >&2
    else
      echo "the server needs its heartbeat token: set PULSE_HEARTBEAT_TOKEN" >&2
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
