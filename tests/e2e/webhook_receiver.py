"""A webhook receiver for the tests: a real HTTP (or HTTPS) server on 127.0.0.1 that records every
request it gets and answers as the test scripts it: fail the first N tries with 500, answer a fixed
status (a 4xx), ask to come back later (429 with Retry-After), or be down (its port closed) for a
while and come back on the same port.

Python standard library only (and the openssl command line to make a certificate).
"""

import http.server
import json
import os
import socket
import ssl
import subprocess
import threading
import time


def make_certificate(directory):
    """A self-signed certificate for 127.0.0.1 (CN and an IP subjectAltName); returns (cert, key) paths."""
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
    return cert, key


class Attempt:
    """One request the receiver got, and what it answered."""
    __slots__ = ("key", "body", "headers", "status", "received")

    def __init__(self, key, body, headers, status, received):
        self.key = key
        self.body = body          # the parsed JSON document (None if it was not JSON)
        self.headers = headers    # lower-case names
        self.status = status
        self.received = received  # time.monotonic()

    def __repr__(self):
        text = (self.body or {}).get("text") if isinstance(self.body, dict) else None
        return f"<{self.status} {self.key} {text!r}>"


class Receiver:
    def __init__(self, port=0, tls=None):
        """tls: (cert, key) paths to serve HTTPS; None for HTTP. port 0 picks a free one."""
        self.tls = tls
        self.port = port
        self.lock = threading.Lock()
        self.attempts = []
        self.fail_first = 0        # answer 500 to this many more requests
        self.plan = []             # then these statuses, one a request
        self.stall_first = 0       # hold this many requests (before anything else) without an answer
        self.stall_s = 0.0         # for this long
        self.status = 200          # then this
        self.retry_after = None    # a Retry-After header with 429 or 503 answers
        self.server = None
        self.thread = None
        self.connections = set()   # open keep-alive connections, closed when the receiver goes down

    @property
    def scheme(self):
        return "https" if self.tls else "http"

    def url(self, path="/hook/T000/B000/secret"):
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def start(self):
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver

            def do_POST(self):  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                with receiver.lock:
                    stall = receiver.stall_first > 0
                    if stall:
                        receiver.stall_first -= 1
                if stall:
                    # A receiver that takes the request and never answers in time: the sender's
                    # timeout ends it; this answer goes to a closed connection.
                    with receiver.lock:
                        receiver.attempts.append(Attempt(self.headers.get("Idempotency-Key"), json.loads(raw),
                                                         {k.lower(): v for k, v in self.headers.items()}, 0,
                                                         time.monotonic()))
                    time.sleep(receiver.stall_s)
                    self.close_connection = True
                    return
                with receiver.lock:
                    if receiver.fail_first > 0:
                        receiver.fail_first -= 1
                        status = 500
                    elif receiver.plan:
                        status = receiver.plan.pop(0)
                    else:
                        status = receiver.status
                    retry_after = receiver.retry_after
                    receiver.attempts.append(Attempt(self.headers.get("Idempotency-Key"), body,
                                                     {k.lower(): v for k, v in self.headers.items()}, status,
                                                     time.monotonic()))
                answer = b"ok" if status < 300 else b"no"
                self.send_response(status)
                if retry_after is not None and status in (429, 503):
                    self.send_header("Retry-After", str(retry_after))
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def setup(self):
                super().setup()
                with receiver.lock:
                    receiver.connections.add(self.connection)

            def finish(self):
                with receiver.lock:
                    receiver.connections.discard(self.connection)
                super().finish()

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            allow_reuse_address = True  # come back on the same port right after going down
            daemon_threads = True

        self.server = Server(("127.0.0.1", self.port), Handler)
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        """Closes the port (connections to it are refused) until start() again."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            # A kept-alive connection would still reach a receiver that is "down".
            with self.lock:
                connections = list(self.connections)
            for connection in connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.thread.join(5)
            self.server = None

    def snapshot(self):
        with self.lock:
            return list(self.attempts)

    def accepted(self):
        return [a for a in self.snapshot() if 200 <= a.status < 300]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
