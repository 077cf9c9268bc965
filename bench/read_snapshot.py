#!/usr/bin/env python3
"""Reads the first event of GET /heartbeat/events (the snapshot) and hangs up. Prints
"<seconds> <bytes>": the time from connecting to the snapshot's end, and its size. Exits 1 when
the first event is not a complete snapshot (its data is not JSON with a clients list), or after
60 s.

Usage: read_snapshot.py --port PORT
"""
import argparse
import json
import socket
import sys
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    started = time.monotonic()
    sock = socket.create_connection(("127.0.0.1", args.port), timeout=60)
    sock.sendall(b"GET /heartbeat/events HTTP/1.1\r\nHost: bench\r\n\r\n")
    raw = bytearray()
    data_at = -1  # where the snapshot's data line starts, once seen
    scanned = 0  # everything before this was searched for the end already
    # Chunked framing around SSE text; the snapshot ends with the newline after its data line.
    # A data line holds no newline, so the first one after "data: " ends it.
    while True:
        chunk = sock.recv(1 << 20)
        if not chunk:
            sys.exit("the stream ended before the snapshot did")
        raw += chunk
        if data_at < 0:
            data_at = raw.find(b"\ndata: ")
            if data_at >= 0:
                scanned = data_at + 7
        if data_at >= 0 and raw.find(b"\n", scanned) >= 0:
            break
        scanned = max(scanned, len(raw) - 1)
        if time.monotonic() - started > 60:
            sys.exit("no whole snapshot within 60 s")
    elapsed = time.monotonic() - started
    sock.close()
    body = bytes(raw.split(b"\r\n\r\n", 1)[1])
    # Drop the chunk-size lines: rebuild the stream's text from the chunks.
    parts, at = [], 0
    while at < len(body):
        end = body.find(b"\r\n", at)
        if end < 0:
            break
        size = int(body[at:end], 16)
        parts.append(body[end + 2:end + 2 + size])
        at = end + 2 + size + 2
        if size == 0:
            break
    text = b"".join(parts)
    start = text.index(b"event: snapshot\ndata: ") + len(b"event: snapshot\ndata: ")
    end = text.find(b"\n", start)
    if end < 0:
        sys.exit("the snapshot's data line is cut")
    data = text[start:end]
    document = json.loads(data)
    if not isinstance(document.get("clients"), list):
        sys.exit("the snapshot has no clients")
    print(f"{elapsed:.6f} {len(data)}")


if __name__ == "__main__":
    main()
