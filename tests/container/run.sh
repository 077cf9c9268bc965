#!/usr/bin/env bash
# Builds the Pulse container image with podman and runs it for real: static file, heartbeat,
# health check, and a `podman stop` that must let an in-flight download finish and exit 0.
#
# No registry is reachable and no Docker engine runs here, so the Debian base images are made
# locally with debootstrap (cached per day) and podman gets its own storage and configuration in
# a temporary folder; nothing under /etc is touched and everything is removed on exit.
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

# Time bounds, in seconds. The image build compiles the project and runs its unit tests.
readonly kInstallTimeout=600
readonly kDebootstrapTimeout=900
readonly kBuildTimeout=2400
readonly kPodmanTimeout=90
readonly kStartTimeout=30
readonly kStopTimeout=10          # what `docker stop` grants before SIGKILL
readonly kCurlTimeout=30

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
# the host's firewall, which podman's default bridge network would need.
readonly tools=(podman buildah runc debootstrap debian-archive-keyring slirp4netns curl python3)
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

pm() { timeout --kill-after=5 "$kPodmanTimeout" podman "$@"; }

cleanup() {
  local rc=$?
  set +e
  if [ -n "$curl_pid" ]; then kill "$curl_pid" 2>/dev/null; wait "$curl_pid" 2>/dev/null; fi
  if [ "$rc" -ne 0 ] && [ -f "$work/conf/containers.conf" ] &&
     pm container exists "$container" 2>/dev/null; then
    echo "---- container log (last 40 lines) ----" >&2
    pm logs --tail 40 "$container" >&2
  fi
  if [ -f "$work/conf/containers.conf" ]; then
    pm rm --force --time 0 --ignore "$container" >/dev/null 2>&1
    # Removes every image, container and layer of this private storage, then its folders.
    pm system reset --force >/dev/null 2>&1
  fi
  [ -n "$blob_cache" ] && rm -rf --one-file-system "$blob_cache"
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
