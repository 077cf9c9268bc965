#!/usr/bin/env python3
"""S7 set-up: one beat from each of COUNT ids (PREFIX0 .. PREFIX{COUNT-1}), so the timed run
beats ids the registry already holds, as in steady state.

Pipelines the POSTs in batches over one keep-alive connection and checks every answer: 201 for
a new id, 200 for a known one. Prints "registered N". Exits 1 on any other status, a closed
connection, or when the whole set-up passes its deadline.

Usage: register_ids.py --port PORT --count N [--prefix bench-]
"""
import argparse
import socket
import sys
import time

kBatch = 200
kTimeoutSeconds = 120.0


def read_responses(sock, buf, count, statuses):
    """Reads `count` responses framed by Content-Length, appending each status; returns the rest."""
    for _ in range(count):
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(262144)
            if not chunk:
                raise EOFError("the server closed the connection")
            buf += chunk
        head, _, buf = buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        statuses.append(int(lines[0].split()[1]))
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(buf) < length:
            chunk = sock.recv(262144)
            if not chunk:
                raise EOFError("the server closed the connection in a body")
            buf += chunk
        buf = buf[length:]
    return buf


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--prefix", default="bench-")
    args = parser.parse_args()
    deadline = time.monotonic() + kTimeoutSeconds
    statuses = []
    with socket.create_connection(("127.0.0.1", args.port), timeout=10) as sock:
        buf = b""
        for first in range(0, args.count, kBatch):
            if time.monotonic() > deadline:
                sys.exit(f"register_ids.py: {len(statuses)} of {args.count} ids after {kTimeoutSeconds:.0f} s")
            ids = range(first, min(first + kBatch, args.count))
            sock.sendall(b"".join(
                b"POST /heartbeat/%s%d HTTP/1.1\r\nHost: bench\r\nContent-Length: 0\r\n\r\n"
                % (args.prefix.encode("ascii"), i) for i in ids))
            buf = read_responses(sock, buf, len(ids), statuses)
    unexpected = [s for s in statuses if s not in (200, 201)]
    if unexpected:
        sys.exit(f"register_ids.py: {len(unexpected)} beats answered with another status, first {unexpected[0]}")
    print(f"registered {len(statuses)}")


if __name__ == "__main__":
    main()
