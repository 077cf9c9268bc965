#!/usr/bin/env bash
# Builds the Pulse container image with podman and runs it for real: static file, heartbeat,
# health check, an outgoing beat and TLS from inside the image, and a `podman stop` that must let
# an in-flight download finish and exit 0. Then deploy/compose.yaml runs with podman-compose on
# the same image: two replicas sharing one Redis.
#
# No registry is reachable and no Docker engine runs here, so the Debian base images are made
# locally with debootstrap (cached per day) and podman gets its own storage and configuration in
# a temporary folder; nothing under /etc is touched and everything is removed on exit. The
# compose step's bridge network (which podman-compose always creates) adds firewall rules while it
# runs; they go with its containers, and the bridge with the network. CNI keeps its empty top-level
# chains (CNI-FORWARD, CNI-HOSTPORT-DNAT, ...) for the next network, as it does everywhere.
#
# Usage: tests/container/run.sh            (as root, or with passwordless sudo)
# Environment: PULSE_CONTAINER_CACHE  where the debootstrap base is cached
#                                     (default /var/cache/pulse-container)
#              PULSE_CONTAINER_KEEP=1 keep the temporary folder for post-mortem
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly repo_root
readonly cache_dir="${PULSE_CONTAINER_CACHE:-/var/cache/pulse-container}"
readonly suite=bookworm
readonly image=localhost/pulse:container-test
readonly container=pulse-container-test
# The Redis stand-in of the compose step (docker.io/library/redis:7 cannot be pulled here).
readonly redis_image=localhost/pulse-redis:container-test
# The compose project names a bridge network and a dnsname folder under /run, which are global to
# the host: the process id keeps concurrent runs apart.
readonly compose_project="pulse-compose-test-$$"

# Time bounds, in seconds. The image build compiles the project and runs its unit tests.
readonly kInstallTimeout=600
readonly kDebootstrapTimeout=900
readonly kBuildTimeout=2400
readonly kRedisBuildTimeout=600   # the Redis stand-in: one apt-get install
readonly kPodmanTimeout=90
readonly kStartTimeout=30
readonly kStopTimeout=10          # what `docker stop` grants before SIGKILL
readonly kCurlTimeout=30
readonly kComposeTimeout=120      # one podman-compose up or down
readonly kReadyTimeout=30         # a replica's /readyz following Redis going or coming back

# The in-flight download: large enough, slow enough, that it is still running when the stop comes,
# short enough to finish well inside the stop timeout.
readonly kBigFileMiB=24
readonly kRateLimit=8M

started=$SECONDS
step() { printf '[container %4ds] %s\n' "$((SECONDS - started))" "$*"; }
fail() { printf '[container %4ds] FAIL: %s\n' "$((SECONDS - started))" "$*" >&2; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
  # debootstrap and rootful podman need root; rootless podman cannot raise limits on this machine.
  command -v sudo >/dev/null || fail "run as root (debootstrap and podman need it)"
  exec sudo --preserve-env=PULSE_CONTAINER_CACHE,PULSE_CONTAINER_KEEP,http_proxy,https_proxy,no_proxy \
    bash "$0" "$@"
fi

# --- tools (issue step 1) ----------------------------------------------------------------------
# The test container uses slirp4netns networking: it forwards the published port without touching
# the host's firewall, which podman's default bridge network would need. podman-compose 1.0.3 puts
# every service on a bridge network of its own and finds the others by service name; with the CNI
# backend of Debian's podman 4.3, those names resolve only through the dnsname plugin.
readonly tools=(podman buildah runc debootstrap debian-archive-keyring slirp4netns curl python3
                podman-compose golang-github-containernetworking-plugin-dnsname)
missing=()
for p in "${tools[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  step "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  timeout "$kInstallTimeout" apt-get update -qq
  timeout "$kInstallTimeout" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
step "tools: $(podman --version), $(runc --version | head -n1)"

# --- scratch space and clean-up ---------------------------------------------------------------
work="$(mktemp -d /var/tmp/pulse-container.XXXXXX)"
readonly work
curl_pid=

# Rootful podman keeps a blob-info cache here whatever its storage configuration says; remove
# it afterwards if this run is what created it.
blob_cache=/var/lib/containers
[ -e "$blob_cache" ] && blob_cache=
# The dnsname plugin keeps its dnsmasq state under here, whatever the configuration says.
dnsname_run=/run/containers
[ -e "$dnsname_run" ] && dnsname_run=
compose_up=0
port_a=
port_b=

pm() { timeout --kill-after=5 "$kPodmanTimeout" podman "$@"; }
# podman-compose on deploy/compose.yaml, with the images and ports of this run.
compose() {
  PULSE_IMAGE="$image" PULSE_REDIS_IMAGE="$redis_image" \
  PULSE_A_PORT="127.0.0.1:$port_a" PULSE_B_PORT="127.0.0.1:$port_b" \
    timeout --kill-after=5 "$kComposeTimeout" \
    podman-compose -f "$repo_root/deploy/compose.yaml" -p "$compose_project" "$@"
}
compose_down() {
  compose down -v >>"$work/compose.log" 2>&1
  # podman-compose 1.0.3 leaves the network behind; removing it deletes its bridge interface.
  pm network rm --force "${compose_project}_default" >/dev/null 2>&1
}

cleanup() {
  local rc=$?
  set +e
  if [ -n "$curl_pid" ]; then kill "$curl_pid" 2>/dev/null; wait "$curl_pid" 2>/dev/null; fi
  if [ "$rc" -ne 0 ] && [ -f "$work/conf/containers.conf" ] &&
     pm container exists "$container" 2>/dev/null; then
    echo "---- container log (last 40 lines) ----" >&2
    pm logs --tail 40 "$container" >&2
  fi
  if [ "$compose_up" = 1 ]; then
    if [ "$rc" -ne 0 ]; then
      echo "---- podman-compose (last 20 lines) ----" >&2
      tail -n 20 "$work/compose.log" >&2
      for s in redis pulse-a pulse-b; do
        echo "---- ${compose_project}_${s}_1 log (last 20 lines) ----" >&2
        pm logs --tail 20 "${compose_project}_${s}_1" >&2
      done
    fi
    compose_down
  fi
  if [ -f "$work/conf/containers.conf" ]; then
    pm rm --force --time 0 --ignore "$container" >/dev/null 2>&1
    # Removes every image, container and layer of this private storage, then its folders.
    pm system reset --force >/dev/null 2>&1
  fi
  [ -n "$blob_cache" ] && rm -rf --one-file-system "$blob_cache"
  # Only empty folders: another run's dnsname state, if any, stays.
  [ -n "$dnsname_run" ] &&
    rmdir "$dnsname_run/cni/dnsname" "$dnsname_run/cni" "$dnsname_run" 2>/dev/null
  # A crashed podman may leave overlay mounts behind; never delete through a live mount.
  grep -F " $work/" /proc/mounts | cut -d' ' -f2 | sort -r | while read -r m; do umount -l "$m"; done
  if [ "${PULSE_CONTAINER_KEEP:-0}" = 1 ]; then
    echo "kept $work" >&2
  else
    rm -rf --one-file-system "$work"
  fi
  if [ "$rc" -eq 0 ]; then step "PASS"; else step "FAILED (exit $rc)"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- podman configuration of our own (step 3; needed before the import of step 2) ------------
mkdir -p "$work/conf" "$work/storage" "$work/run" "$work/tmp" "$work/networks" "$work/site"
cat >"$work/conf/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$work/storage"
runroot = "$work/run"
EOF
cat >"$work/conf/containers.conf" <<EOF
[containers]
# Raising limits is not permitted here; these fit under the machine's hard limits.
default_ulimits = ["nofile=1024:20000", "nproc=4096:4096"]

[engine]
# crun rejects this machine's hybrid cgroup layout; runc copes.
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$work/tmp"

[network]
network_config_dir = "$work/networks"
EOF
cat >"$work/conf/registries.conf" <<'EOF'
# Nothing is ever pulled: every image is built or imported locally.
unqualified-search-registries = []
EOF
export CONTAINERS_STORAGE_CONF="$work/conf/storage.conf"
export CONTAINERS_CONF="$work/conf/containers.conf"
export CONTAINERS_REGISTRIES_CONF="$work/conf/registries.conf"
export TMPDIR="$work/tmp"

# --- base images from debootstrap, cached per day (step 2) -------------------------------------
# The mirror (and the security mirror) the host's apt already uses: what works here works there.
host_mirror() {
  local want_suite=$1
  {
    # deb822 stanzas (sources.list.d/*.sources): the first URI of a binary stanza for the suite.
    awk -v s="$want_suite" '
      function flush() { if (uri != "" && suite_ok && deb_ok) { print uri; exit } }
      /^[[:space:]]*$/ { flush(); uri = ""; suite_ok = 0; deb_ok = 0; next }
      tolower($1) == "types:" { for (i = 2; i <= NF; i++) if ($i == "deb") deb_ok = 1 }
      tolower($1) == "uris:" { uri = $2 }
      tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == s) suite_ok = 1 }
      END { flush() }' /etc/apt/sources.list.d/*.sources 2>/dev/null
    # One-line format: deb [options] URI SUITE COMPONENTS...
    sed -E 's/\[[^]]*\]//' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      awk -v s="$want_suite" '$1 == "deb" && $3 == s { print $2 }' || true
  } | head -n1 || true
}
mirror="$(host_mirror "$suite")"
mirror="${mirror:-http://deb.debian.org/debian}"
security_mirror="$(host_mirror "$suite-security")"
security_mirror="${security_mirror:-http://deb.debian.org/debian-security}"

base_tar="$cache_dir/$suite-minbase-$(dpkg --print-architecture)-$(date -u +%Y%m%d).tar"
if [ -s "$base_tar" ]; then
  step "base: cached $base_tar"
else
  step "base: debootstrap --variant=minbase $suite from $mirror"
  mkdir -p "$cache_dir"
  rootfs="$work/rootfs"
  timeout "$kDebootstrapTimeout" debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" \
    >"$work/debootstrap.log" 2>&1 || { tail -n 20 "$work/debootstrap.log" >&2; fail "debootstrap"; }
  # Same apt sources as Debian's own images, so the build stage gets updates and security fixes.
  rm -f "$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security_mirror
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  rm -rf "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/var/lib/apt/lists/"*
  tar --numeric-owner -C "$rootfs" -cf "$base_tar.partial.$$" .
  mv "$base_tar.partial.$$" "$base_tar"
  rm -rf --one-file-system "$rootfs"
  # Keep only today's base.
  find "$cache_dir" -maxdepth 1 -name "$suite-minbase-*.tar" ! -path "$base_tar" -delete
fi
# The same PATH and CMD as Debian's published images; an imported tarball has no configuration.
pm import --quiet --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["bash"]' "$base_tar" "docker.io/library/debian:$suite-slim" >/dev/null
pm tag "docker.io/library/debian:$suite-slim" "docker.io/library/debian:$suite"
step "base: imported as debian:$suite-slim and debian:$suite"

# --- build (step 4) ----------------------------------------------------------------------------
step "build: podman build --format docker (compiles and runs the unit tests)"
proxy_args=()
for v in http_proxy https_proxy no_proxy; do
  [ -n "${!v:-}" ] && proxy_args+=(--build-arg "$v=${!v}")
done
# Host networking: apt in the build stage reaches the mirror exactly as the host does.
timeout --kill-after=10 "$kBuildTimeout" nice -n 10 podman build --pull=never --format docker \
  --network host "${proxy_args[@]}" --tag "$image" --file "$repo_root/Dockerfile" "$repo_root" \
  >"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log" >&2; fail "podman build"; }
size_bytes="$(pm image inspect --format '{{.Size}}' "$image")"
step "build: $image is $((size_bytes / 1000)) kB ($(awk -v b="$size_bytes" 'BEGIN { printf "%.1f", b / 1e6 }') MB)"

# --- run and check (step 4) --------------------------------------------------------------------
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
token="pulse-container-$RANDOM$RANDOM"
printf '%s\n' "$token" >"$work/site/hello.txt"
printf '<!doctype html><title>mounted</title>\n' >"$work/site/index.html"
head -c "$((kBigFileMiB * 1024 * 1024))" /dev/urandom >"$work/site/big.bin"
# The container user is not root: the mounted site must be world-readable.
chmod 0755 "$work/site"
chmod 0644 "$work/site/"*

step "run: publishing 127.0.0.1:$port -> 9090 (PULSE_PORT override), site mounted at /srv/www"
# Without systemd podman cannot schedule periodic health checks and says so on stderr; the check
# itself is run on demand below. PULSE_PORT and the access log are the environment overrides under
# test: the health check must follow the port, and the log's writer thread makes sure SIGTERM
# reaches the server however many threads it runs.
pm run --detach --name "$container" --network slirp4netns \
  --publish "127.0.0.1:$port:9090" \
  --env PULSE_PORT=9090 \
  --volume "$work/site:/srv/www:ro" \
  --env PULSE_ACCESS_LOG=stdout \
  "$image" >/dev/null 2>"$work/run.err" || { cat "$work/run.err" >&2; fail "podman run"; }

base_url="http://127.0.0.1:$port"
deadline=$((SECONDS + kStartTimeout))
until curl -fsS -o /dev/null --max-time 2 "$base_url/healthz" 2>/dev/null; do
  [ "$(pm inspect --format '{{.State.Running}}' "$container")" = true ] || fail "container exited"
  [ "$SECONDS" -lt "$deadline" ] || fail "no answer on $base_url/healthz within ${kStartTimeout}s"
  sleep 0.5
done
# Logs are captured before matching: `grep -q` closing the pipe early would fail the pipeline.
container_log() { pm logs "$container" 2>/dev/null; }
grep -q "pulsehttpd listening on http://0.0.0.0:9090" <<<"$(container_log)" ||
  fail "start-up line missing from the container's stdout"
step "run: up, start-up line logged"

got="$(curl -fsS --max-time "$kCurlTimeout" "$base_url/hello.txt")" || fail "GET /hello.txt"
[ "$got" = "$token" ] || fail "GET /hello.txt returned '$got', want '$token' (mounted site not served?)"
step "check: static file from the mounted site"
deadline=$((SECONDS + 5))
# The access log is written by its own thread, a moment after the response.
until grep -q '"GET /hello.txt HTTP/1.1" 200' <<<"$(container_log)"; do
  [ "$SECONDS" -lt "$deadline" ] || fail "no access log line on stdout: PULSE_ACCESS_LOG=stdout ignored?"
  sleep 0.2
done
step "check: environment override (PULSE_ACCESS_LOG=stdout) took effect"

id="box-$RANDOM"
code="$(curl -sS -o /dev/null -w '%{http_code}' --max-time "$kCurlTimeout" -X POST "$base_url/heartbeat/$id")"
case "$code" in 2??) ;; *) fail "POST /heartbeat/$id returned $code" ;; esac
list="$(curl -fsS --max-time "$kCurlTimeout" "$base_url/heartbeat")" || fail "GET /heartbeat"
grep -qF "\"$id\"" <<<"$list" || fail "GET /heartbeat does not list $id: $list"
step "check: heartbeat beat and list"

health="$(pm healthcheck run "$container" 2>&1)" || fail "podman healthcheck run: $health"
status="$(pm inspect --format '{{.State.Health.Status}}' "$container")"
[ "$status" = healthy ] || fail "health status is '$status', want healthy"
step "check: podman healthcheck run -> $status"

# Outgoing HTTP from inside the image (libcurl and the libraries copied beside it load on
# scratch): a beat reaches the server; and TLS is there, since https:// against this plain HTTP
# port fails in the TLS handshake, which a missing libssl would never reach.
beat_out="$(pm exec "$container" /usr/local/bin/pulsehttpd beat http://127.0.0.1:9090/heartbeat/in-image --count 1 2>&1)" ||
  fail "beat from inside the image: $beat_out"
grep -Eq '^beat 1: 20[01] \(connection #1\)$' <<<"$beat_out" || fail "beat from inside the image: $beat_out"
tls_out="$(pm exec "$container" /usr/local/bin/pulsehttpd probe https://127.0.0.1:9090/healthz 2>&1)" &&
  fail "probe https:// of a plain HTTP port succeeded: $tls_out"
grep -qiE 'ssl|tls' <<<"$tls_out" || fail "probe https:// from inside the image failed, but not in TLS: $tls_out"
# What the image holds: the binary, its shared libraries and loader, the CA bundle, site, passwd.
pm export "$container" | tar -t >"$work/image.files" || fail "podman export"
grep -Eq '(^|/)etc/ssl/certs/ca-certificates\.crt$' "$work/image.files" || fail "no CA bundle in the image"
step "check: beat and TLS from inside the image ($(grep -Ec '\.so(\.[0-9]+)*$' "$work/image.files") shared libraries, CA bundle)"

# --- stop with a request in flight (step 4); clean-up (step 5) is the EXIT trap ----------------
curl -fsS --max-time "$kCurlTimeout" --limit-rate "$kRateLimit" -o "$work/big.out" \
  "$base_url/big.bin" 2>"$work/curl.err" &
curl_pid=$!
deadline=$((SECONDS + 10))
until [ "$(stat -c %s "$work/big.out" 2>/dev/null || echo 0)" -gt 1048576 ]; do
  kill -0 "$curl_pid" 2>/dev/null || fail "download ended before the stop: $(cat "$work/curl.err")"
  [ "$SECONDS" -lt "$deadline" ] || fail "download did not start"
  sleep 0.1
done
kill -0 "$curl_pid" 2>/dev/null || fail "download finished before the stop; raise kBigFileMiB"
step "stop: podman stop with $(stat -c %s "$work/big.out") of $((kBigFileMiB * 1048576)) bytes received"
stop_started=$SECONDS
pm stop --time "$kStopTimeout" "$container" >/dev/null 2>"$work/stop.err" ||
  { cat "$work/stop.err" >&2; fail "podman stop"; }
stop_took=$((SECONDS - stop_started))
curl_rc=0
wait "$curl_pid" || curl_rc=$?
curl_pid=
[ "$curl_rc" -eq 0 ] || fail "in-flight download failed (curl exit $curl_rc): $(cat "$work/curl.err")"
cmp -s "$work/big.out" "$work/site/big.bin" || fail "in-flight download is corrupt or truncated"
exit_code="$(pm inspect --format '{{.State.ExitCode}}' "$container")"
[ "$exit_code" = 0 ] ||
  fail "container exit code $exit_code after podman stop, want 0 ($(grep -o 'StopSignal.*' "$work/stop.err"))"
[ "$stop_took" -lt "$kStopTimeout" ] || fail "stop took ${stop_took}s: not drained in time"
step "check: in-flight download completed, exit code 0, stopped in ${stop_took}s"

# --- several replicas: deploy/compose.yaml with podman-compose (step 6) ------------------------
# The image above, a Redis stand-in built on the same Debian base, and the compose file as users
# run it: only the images and host ports come from the environment.
step "compose: building the Redis stand-in (redis-server from Debian, laid out as redis:7)"
mkdir -p "$work/redis-context"
timeout --kill-after=10 "$kRedisBuildTimeout" nice -n 10 podman build --pull=never --format docker \
  --network host "${proxy_args[@]}" --tag "$redis_image" \
  --file "$repo_root/tests/container/redis.Containerfile" "$work/redis-context" \
  >"$work/redis-build.log" 2>&1 || { tail -n 20 "$work/redis-build.log" >&2; fail "podman build (redis)"; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
port_a="$(free_port)"
port_b="$(free_port)"
while [ "$port_b" = "$port_a" ]; do port_b="$(free_port)"; done
url_a="http://127.0.0.1:$port_a"
url_b="http://127.0.0.1:$port_b"
redis_container="${compose_project}_redis_1"

step "compose: up -d (project $compose_project, pulse-a on $port_a, pulse-b on $port_b)"
compose_up=1
# --no-build: the image under test is the one built above; the project is not compiled twice.
compose up -d --no-build >"$work/compose.log" 2>&1 || fail "podman-compose up"

http_code() {  # URL [curl args...]: the status code, 000 when nothing answered
  local url=$1; shift
  curl -sS -o /dev/null -w '%{http_code}' --max-time 2 "$@" "$url" 2>/dev/null || true
}
# Waits until URL answers CODE; every compose container must stay up meanwhile.
wait_for_code() {  # URL CODE WHAT
  local deadline=$((SECONDS + kReadyTimeout)) got
  until got="$(http_code "$1")"; [ "$got" = "$2" ]; do
    for s in pulse-a pulse-b; do
      [ "$(pm inspect --format '{{.State.Running}}' "${compose_project}_${s}_1")" = true ] ||
        fail "$s exited"
    done
    [ "$SECONDS" -lt "$deadline" ] || fail "$3: $1 answers $got, want $2 within ${kReadyTimeout}s"
    sleep 0.5
  done
}
wait_for_code "$url_a/readyz" 200 "pulse-a not ready"
wait_for_code "$url_b/readyz" 200 "pulse-b not ready"
step "compose: both replicas answer /readyz 200 through Redis"

health="$(pm healthcheck run "$redis_container" 2>&1)" || fail "Redis health check: $health"
aof="$(pm exec "$redis_container" redis-cli config get appendonly | tail -n 1)"
[ "$aof" = yes ] || fail "Redis runs with appendonly '$aof': the compose command was not applied"
step "check: Redis healthy (redis-cli ping), appendonly yes"

# One client's fields as "id beats", from GET /heartbeat/{id} on one replica.
client_fields() {  # URL ID
  curl -fsS --max-time "$kCurlTimeout" "$1/heartbeat/$2" >"$work/client.json" ||
    fail "GET $1/heartbeat/$2 did not answer 2xx"
  python3 -c 'import json, sys; c = json.load(open(sys.argv[1])); print(c["id"], c["beats"])' \
    "$work/client.json" || fail "GET $1/heartbeat/$2: no id and beats in $(cat "$work/client.json")"
}
beat_id=compose-1
code="$(http_code "$url_a/heartbeat/$beat_id?interval=30" -X POST)"
[ "$code" = 201 ] || fail "POST $url_a/heartbeat/$beat_id returned $code, want 201"
got_a="$(client_fields "$url_a" "$beat_id")"
got_b="$(client_fields "$url_b" "$beat_id")"
[ "$got_a" = "$beat_id 1" ] || fail "pulse-a shows '$got_a', want '$beat_id 1'"
[ "$got_b" = "$got_a" ] || fail "pulse-b shows '$got_b', pulse-a '$got_a': presence is not shared"
step "check: a beat through pulse-a is listed by pulse-b ($got_b)"

# Redis away: readiness goes, beats are refused rather than acknowledged, static files stay.
pm stop --time 10 "$redis_container" >/dev/null 2>"$work/stop.err" ||
  { cat "$work/stop.err" >&2; fail "podman stop redis"; }
wait_for_code "$url_a/readyz" 503 "pulse-a still ready without Redis"
wait_for_code "$url_b/readyz" 503 "pulse-b still ready without Redis"
code="$(http_code "$url_a/heartbeat/$beat_id?interval=30" -X POST -D "$work/beat.headers")"
[ "$code" = 503 ] || fail "a beat without Redis returned $code, want 503"
grep -qi '^retry-after:' "$work/beat.headers" || fail "the 503 to a beat has no Retry-After"
code="$(http_code "$url_b/healthz")"
[ "$code" = 200 ] || fail "/healthz without Redis returned $code, want 200"
step "check: Redis stopped -> /readyz 503, beats 503 with Retry-After, /healthz 200"

# Redis back (its address on the network may change): both replicas reconnect by themselves, the
# client is still there (the AOF on the volume) and beats count on both again.
pm start "$redis_container" >/dev/null 2>"$work/start.err" ||
  { cat "$work/start.err" >&2; fail "podman start redis"; }
wait_for_code "$url_a/readyz" 200 "pulse-a not ready after Redis returned"
wait_for_code "$url_b/readyz" 200 "pulse-b not ready after Redis returned"
code="$(http_code "$url_b/heartbeat/$beat_id?interval=30" -X POST)"
[ "$code" = 200 ] || fail "POST $url_b/heartbeat/$beat_id after the restart returned $code, want 200"
got_a="$(client_fields "$url_a" "$beat_id")"
[ "$got_a" = "$beat_id 2" ] || fail "after the restart pulse-a shows '$got_a', want '$beat_id 2'"
step "check: Redis started -> /readyz 200 on both, $beat_id kept, a beat through pulse-b counted"

compose_up=0
compose_down
left="$(pm ps --all --quiet --filter "label=io.podman.compose.project=$compose_project")"
[ -z "$left" ] || fail "containers left after podman-compose down: $left"
left="$(pm volume ls --quiet --filter "label=io.podman.compose.project=$compose_project")"
[ -z "$left" ] || fail "volumes left after podman-compose down -v: $left"
! pm network exists "${compose_project}_default" || fail "network ${compose_project}_default left"
step "compose: down -v removed the containers, the volume and the network"
