#!/usr/bin/env python3
"""S5: the server memory that idle keep-alive connections hold.

Opens COUNT connections to 127.0.0.1:PORT, sends one keep-alive GET on each and reads its
response, then leaves them idle for HOLD seconds, and reads the server's memory (Rss from
/proc/PID/smaps_rollup, else VmRSS) before the first connection and at the end of the hold.
Prints "key value" lines: opened, failed, closed (by the server during the hold), before_kib,
after_kib. Every step has a deadline; exits 1 if a deadline passes, 2 on bad usage or when the
descriptor limit is too low for COUNT connections.

Usage: idle_connections.py --port PORT --pid PID --count N [--hold SECONDS] [--path /index.html]
"""
import argparse
import resource
import selectors
import socket
import sys
import time

kBatch = 100  # connections opened at once: below every peer's listen backlog
kSpareDescriptors = 64
kStepTimeoutSeconds = 30.0


def server_kib(pid):
    # Rss, not Pss: Pss moves whenever another process maps or unmaps the same libraries.
    for path, key in ((f"/proc/{pid}/smaps_rollup", "Rss:"), (f"/proc/{pid}/status", "VmRSS:")):
        try:
            with open(path, encoding="ascii") as status:
                for line in status:
                    if line.startswith(key):
                        return int(line.split()[1])
        except OSError:
            continue
    sys.exit(f"idle_connections.py: cannot read the memory of pid {pid}")


def raise_descriptor_limit(count):
    """The soft limit up to what COUNT connections need, within the hard limit."""
    need = count + kSpareDescriptors
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= need:
        return
    if hard != resource.RLIM_INFINITY and hard < need:
        print(f"idle_connections.py: {count} connections need {need} descriptors; the hard limit "
              f"(ulimit -Hn) is {hard}", file=sys.stderr)
        sys.exit(2)
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


class Exchange:
    """One connection: connect, send the GET, read one response framed by Content-Length."""

    def __init__(self, port, request):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.sock.connect_ex(("127.0.0.1", port))
        self.request = request
        self.received = b""
        self.done = False

    def on_writable(self):
        error = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if error:
            raise OSError(error, "connect")
        self.sock.send(self.request)  # a few dozen bytes: one send is enough

    def on_readable(self):
        try:
            chunk = self.sock.recv(65536)
        except BlockingIOError:
            return
        if not chunk:
            raise EOFError("closed before the response ended")
        self.received += chunk
        head, found, body = self.received.partition(b"\r\n\r\n")
        if not found:
            return
        if not head.startswith(b"HTTP/1.1 200 "):
            raise ValueError(head.split(b"\r\n", 1)[0].decode("latin-1"))
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        self.done = len(body) >= length


def open_batch(port, request, size):
    """Opens SIZE connections and completes one exchange on each; returns (open, failed)."""
    selector = selectors.DefaultSelector()
    pending = []
    for _ in range(size):
        exchange = Exchange(port, request)
        selector.register(exchange.sock, selectors.EVENT_WRITE, exchange)
        pending.append(exchange)
    opened, failed = [], 0
    deadline = time.monotonic() + kStepTimeoutSeconds
    while selector.get_map():
        if time.monotonic() > deadline:
            sys.exit("idle_connections.py: a batch of connections did not finish in time")
        for key, events in selector.select(timeout=1.0):
            exchange = key.data
            try:
                if events & selectors.EVENT_WRITE:
                    exchange.on_writable()
                    selector.modify(exchange.sock, selectors.EVENT_READ, exchange)
                    continue
                exchange.on_readable()
            except (OSError, EOFError, ValueError) as error:
                print(f"idle_connections.py: connection failed: {error}", file=sys.stderr)
                selector.unregister(exchange.sock)
                exchange.sock.close()
                failed += 1
                continue
            if exchange.done:
                selector.unregister(exchange.sock)
                opened.append(exchange.sock)
    selector.close()
    return opened, failed


def closed_by_server(sockets):
    """How many of the idle connections the server has closed (readable with EOF, or reset)."""
    closed = 0
    selector = selectors.DefaultSelector()
    for sock in sockets:
        selector.register(sock, selectors.EVENT_READ)
    for key, _ in selector.select(timeout=0):
        try:
            if not key.fileobj.recv(1):
                closed += 1
        except OSError:
            closed += 1
    selector.close()
    return closed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--hold", type=float, default=3.0)
    parser.add_argument("--path", default="/index.html")
    args = parser.parse_args()
    if not 1 <= args.count <= 100000 or not 0 <= args.hold <= 60:
        parser.error("--count must be 1..100000 and --hold 0..60 seconds")
    raise_descriptor_limit(args.count)
    request = f"GET {args.path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode("ascii")

    # Whatever the first connections bring into being once (buffers, caches) is not per connection.
    warm, _ = open_batch(args.port, request, 10)
    for sock in warm:
        sock.close()
    time.sleep(0.3)

    before = server_kib(args.pid)
    held, failed = [], 0
    while len(held) + failed < args.count:
        opened, batch_failed = open_batch(args.port, request, min(kBatch, args.count - len(held) - failed))
        held += opened
        failed += batch_failed
    time.sleep(args.hold)
    after = server_kib(args.pid)
    closed = closed_by_server(held)
    for sock in held:
        sock.close()
    print(f"opened {len(held)}\nfailed {failed}\nclosed {closed}\nbefore_kib {before}\nafter_kib {after}")


if __name__ == "__main__":
    main()
