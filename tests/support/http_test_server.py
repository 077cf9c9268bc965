#!/usr/bin/env python3
"""A small HTTP/1.1 server for the tests of Pulse's outgoing client (CurlClient, `pulsehttpd beat`).

Listens on a free 127.0.0.1 port and writes that port to --port-file once it accepts (the file
appears whole: written beside it, then renamed). Plain HTTP, or HTTPS with --tls CERT KEY.
Keep-alive: one handler object is one connection, numbered from 1, so a test can tell reuse.

  /echo...         any method: 200, JSON {method, path, headers (lower-case names), body, connection}
  /status/NNN      NNN, body "status NNN"
  /slow            answers after 3 s
  .../hold         text/event-stream as Pulse's hold endpoint speaks it: "event: held" and a JSON
                   data line, then ": keep-alive" every --keepalive seconds. The first hold
                   connection is dropped after --drop-after comments (--silent-first: it goes
                   silent instead, connection open); later ones last until the client leaves.
  /heartbeat/...   POST or PUT: 200 "ok"; DELETE: 204
  /_requests       the request lines seen so far (not its own), "CONNECTION METHOD PATH" a line
  anything else    404

With --upstream http://127.0.0.1:PORT it is instead a TLS-terminating reverse proxy: every request
is forwarded there and the answer sent back (for `beat https://` against a real pulsehttpd).
A proxied request (absolute URL in the request line) is answered like any other: /echo shows its
path, so a test sees that the client went through a proxy.
"""

import argparse
import http.client
import http.server
import json
import os
import socket
import ssl
import sys
import threading
import time
import urllib.parse

lock = threading.Lock()
connections = 0
hold_connections = 0
requests_seen = []


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        global connections
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()
            self.request.settimeout(None)
        super().setup()
        with lock:
            connections += 1
            self.connection_number = connections

    def log_message(self, format, *args):  # quiet: the test prints what matters
        pass

    def reply(self, status, body, content_type="text/plain", extra=()):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def handle_any(self):
        body = self.read_body()
        if self.path != "/_requests":
            with lock:
                requests_seen.append(f"{self.connection_number} {self.command} {self.path}")
        if self.server.upstream:
            return self.forward(body)
        local = urllib.parse.urlsplit(self.path).path
        if local == "/_requests":
            with lock:
                text = "".join(line + "\n" for line in requests_seen)
            return self.reply(200, text)
        if local.startswith("/echo") or self.path.startswith("http"):
            doc = {
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"),
                "connection": self.connection_number,
            }
            return self.reply(200, json.dumps(doc), "application/json", [("X-Test", "echo")])
        if local.startswith("/status/"):
            code = int(local.split("/")[2])
            return self.reply(code, f"status {code}\n")
        if local == "/slow":
            time.sleep(3)
            return self.reply(200, "slow\n")
        if local.endswith("/hold") and self.command == "GET":
            return self.hold()
        if local.startswith("/heartbeat/"):
            if self.command in ("POST", "PUT"):
                return self.reply(200, "ok\n")
            if self.command == "DELETE":
                self.send_response(204)
                self.end_headers()
                return None
        return self.reply(404, "not found\n")

    def hold(self):
        global hold_connections
        with lock:
            hold_connections += 1
            number = hold_connections
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        first = number == 1
        try:
            self.wfile.write(b'event: held\ndata: {"id":"test","held":true}\n\n')
            self.wfile.flush()
            sent = 0
            while True:
                if first and self.server.silent_first:
                    time.sleep(3600)  # open and silent: the client must give up on it
                time.sleep(self.server.keepalive)
                self.wfile.write(b": keep-alive\n\n")
                self.wfile.flush()
                sent += 1
                if first and sent >= self.server.drop_after:
                    return  # dropped: the connection closes here
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            return

    def forward(self, body):
        upstream = urllib.parse.urlsplit(self.server.upstream)
        conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=10)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
        conn.request(self.command, self.path, body=body or None, headers=headers)
        answer = conn.getresponse()
        data = answer.read()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("connection", "keep-alive", "transfer-encoding", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        conn.close()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = handle_any


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--upstream")
    parser.add_argument("--keepalive", type=float, default=5.0)
    parser.add_argument("--drop-after", type=int, default=1)
    parser.add_argument("--silent-first", action="store_true")
    args = parser.parse_args()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # One line, not a traceback, for a client that refused our certificate (a test wants that).
    server.handle_error = lambda request, address: print(f"http_test_server: {sys.exc_info()[1]}", file=sys.stderr)
    server.daemon_threads = True
    server.upstream = args.upstream
    server.keepalive = args.keepalive
    server.drop_after = args.drop_after
    server.silent_first = args.silent_first
    if args.tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls[0], args.tls[1])
        # The handshake happens in the handler's thread, not in accept(): a client that never
        # completes one does not block the others.
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    port = server.server_address[1]
    partial = args.port_file + ".partial"
    with open(partial, "w") as f:
        f.write(f"{port}\n")
    os.rename(partial, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
