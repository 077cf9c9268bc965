# Pulse container image: built and unit-tested on Debian 12, shipped as one static binary on
# `scratch` with the default site. README.md "Run in a container" shows how to use it.
#
#   docker build -t pulse .
#   docker run --rm -p 8080:8080 -v "$PWD/site:/srv/www:ro" pulse

# --- build: the same Debian packages and commands as a developer machine ----------------------
FROM debian:bookworm AS build

# setup.sh alone first, so editing the sources does not invalidate the package layer.
COPY scripts/setup.sh /src/scripts/setup.sh
RUN /src/scripts/setup.sh build && rm -rf /var/lib/apt/lists/*

COPY . /src
# PULSE_STATIC: glibc, libstdc++ and fmt are linked in, so the runtime image needs no libraries.
# The unit tests run here; an image is only produced when they pass. Warnings are not errors here:
# CI enforces them (scripts/test.sh), and a user's image build should not fail on a new warning.
RUN cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DPULSE_BUILD_TESTS=ON \
        -DPULSE_STATIC=ON \
 && cmake --build /build --target pulsehttpd unit_tests \
 && ctest --test-dir /build -L unit --output-on-failure

# The runtime stage has no shell, so its whole tree is laid out here and copied in one layer.
# It has no dynamic loader either, so a binary that would need one is refused. The site is
# world-readable (whatever the umask of the checkout) and owned by root, so the server, which does
# not run as root, can serve it but never modify it. /var/lib/pulse belongs to the server: a
# volume mounted there inherits that owner (for PULSE_HEARTBEAT_STATE).
RUN if readelf --program-headers /build/src/app/pulsehttpd | grep -q INTERP; then \
      echo "pulsehttpd is dynamically linked: the scratch image needs -DPULSE_STATIC=ON" >&2; exit 1; \
    fi \
 && install -d /rootfs/usr/local/bin /rootfs/srv/www /rootfs/etc \
 && install -d -o 10001 -g 10001 /rootfs/var/lib/pulse \
 && strip --strip-unneeded -o /rootfs/usr/local/bin/pulsehttpd /build/src/app/pulsehttpd \
 && cp -R /src/www/. /rootfs/srv/www/ \
 && chmod -R a+rX,go-w /rootfs/srv/www \
 && echo 'pulse:x:10001:10001:Pulse:/nonexistent:/sbin/nologin' >/rootfs/etc/passwd \
 && echo 'pulse:x:10001:' >/rootfs/etc/group

# --- runtime: the binary, the default site, a passwd entry; nothing else ----------------------
FROM scratch

COPY --from=build /rootfs/ /

# Numeric, so that runtimes enforcing "run as non-root" can verify it without reading /etc/passwd.
USER 10001:10001

# Every flag also reads PULSE_<FLAG>; `docker run -e PULSE_ACCESS_LOG=stdout ...` and so on.
ENV PULSE_BIND=0.0.0.0 \
    PULSE_PORT=8080 \
    PULSE_ROOT=/srv/www

EXPOSE 8080

# SIGTERM drains: the listener closes, responses in flight finish (PULSE_SHUTDOWN_TIMEOUT, 8 s by
# default, inside `docker stop`'s 10 s) and the process exits 0.
STOPSIGNAL SIGTERM

# No shell or curl in the image: the binary probes itself. Exec form, so nothing needs /bin/sh.
# Without a URL, probe checks /healthz on 127.0.0.1 at PULSE_PORT, so overriding the port works.
HEALTHCHECK --interval=15s --timeout=5s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/pulsehttpd", "probe", "--timeout", "2s"]

# Arguments after the image name are flags: `docker run pulse --threads 2 --access-log stdout`.
ENTRYPOINT ["/usr/local/bin/pulsehttpd"]
