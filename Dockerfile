# Pulse container image: built and unit-tested on Debian 12, shipped on `scratch` as the binary,
# exactly the shared libraries it needs, the dynamic loader, a CA bundle and the default site.
# README.md "Run in a container" shows how to use it.
#
#   docker build -t pulse .
#   docker run --rm -p 8080:8080 -v "$PWD/site:/srv/www:ro" pulse

# --- build: the same Debian packages and commands as a developer machine ----------------------
FROM debian:bookworm AS build

# setup.sh alone first, so editing the sources does not invalidate the package layer.
COPY scripts/setup.sh /src/scripts/setup.sh
RUN /src/scripts/setup.sh build && rm -rf /var/lib/apt/lists/*

COPY . /src
# PULSE_STATIC: libstdc++, fmt and hiredis are linked in; glibc and libcurl cannot be (Debian has
# no static Kerberos libraries for libcurl.a; cmake/static.cmake), so they are copied below.
# The unit tests run here; an image is only produced when they pass. Warnings are not errors here:
# CI enforces them (scripts/test.sh), and a user's image build should not fail on a new warning.
RUN cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DPULSE_BUILD_TESTS=ON \
        -DPULSE_STATIC=ON \
 && cmake --build /build --target pulsehttpd unit_tests \
 && ctest --test-dir /build -L unit --output-on-failure

# The runtime stage has no shell, so its whole tree is laid out here and copied in one layer.
# The binary's libraries are those ldd names, each copied (the file, not the link) to the path
# the loader looks at, with the loader itself at the binary's INTERP path: nothing else of
# Debian comes along. A library ldd cannot find, or no INTERP, is refused. The CA bundle is
# libcurl's default (/etc/ssl/certs/ca-certificates.crt) for outgoing https://. The site is
# world-readable (whatever the umask of the checkout) and owned by root, so the server, which does
# not run as root, can serve it but never modify it. /var/lib/pulse belongs to the server: a
# volume mounted there inherits that owner (for PULSE_HEARTBEAT_STATE).
RUN bin=/build/src/app/pulsehttpd \
 && interp="$(readelf --program-headers "$bin" | sed -n 's/.*Requesting program interpreter: \(.*\)]$/\1/p')" \
 && if [ -z "$interp" ] || [ ! -e "$interp" ]; then \
      echo "pulsehttpd names no dynamic loader (INTERP) that exists here: '$interp'" >&2; exit 1; \
    fi \
 && if ldd "$bin" | grep -q 'not found'; then ldd "$bin" >&2; echo "pulsehttpd: a library is missing" >&2; exit 1; fi \
 && for lib in "$interp" $(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3}'); do \
      install -D -m 0644 "$(readlink -f "$lib")" "/rootfs$lib"; \
    done \
 && chmod 0755 "/rootfs$interp" \
 && install -D -m 0644 /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ca-certificates.crt \
 && install -d /rootfs/usr/local/bin /rootfs/srv/www /rootfs/etc \
 && install -d -o 10001 -g 10001 /rootfs/var/lib/pulse \
 && strip --strip-unneeded -o /rootfs/usr/local/bin/pulsehttpd /build/src/app/pulsehttpd \
 && cp -R /src/www/. /rootfs/srv/www/ \
 && chmod -R a+rX,go-w /rootfs/srv/www \
 && echo 'pulse:x:10001:10001:Pulse:/nonexistent:/sbin/nologin' >/rootfs/etc/passwd \
 && echo 'pulse:x:10001:' >/rootfs/etc/group

# --- runtime: the binary and its libraries, a CA bundle, the default site, a passwd entry -------
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
