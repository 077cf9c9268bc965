#!/usr/bin/env python3
"""Registers many heartbeat clients on a pulsehttpd at 127.0.0.1, for the live page's scale test.

Usage: register_clients.py BASE_URL COUNT [--connections N] [--timeout S]

Ids come in groups, like a fleet: web-eu-00000, web-us-00001, db-00002, cron-00003, edge-00004,
worker-00005, ... (the number is the client's index, so every id is unique and easy to find).
All beat with interval=600. A few are made interesting for the page: every 250th reports
status=fail; the rest stay up. With --runs, the jobs cron-00003 and cron-00011 then record a
few runs through /start and /0 or /fail, each with a log as its body, when the server knows
those signals (older servers: skipped).

Bounded: keep-alive connections on threads, each request with a timeout, and the whole run
within --timeout seconds. Prints one line ("registered N clients in S s") and exits 0 when every
beat was accepted, 1 otherwise.
"""

import argparse
import http.client
import sys
import threading
import time
import urllib.parse

GROUPS = ("web-eu", "web-us", "db", "cron", "edge", "worker", "web-eu", "edge")
INTERVAL_S = 600
FAILING_EVERY = 250
REQUEST_TIMEOUT_S = 10.0


def client_id(index):
    return f"{GROUPS[index % len(GROUPS)]}-{index:05d}"


class Connection:
    """One keep-alive connection; reconnects once if the server closed it between requests."""

    def __init__(self, host, port):
        self._host, self._port = host, port
        self._conn = None

    def request(self, method, target, body=None):
        for attempt in (0, 1):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self._host, self._port, timeout=REQUEST_TIMEOUT_S)
            try:
                self._conn.request(method, target, body=body)
                response = self._conn.getresponse()
                response.read()
                return response.status
            except (http.client.HTTPException, OSError):
                self._conn.close()
                self._conn = None
                if attempt:
                    raise
        return None

    def close(self):
        if self._conn is not None:
            self._conn.close()


def register(host, port, indices, deadline, failures):
    connection = Connection(host, port)
    try:
        for index in indices:
            if time.monotonic() > deadline:
                failures.append("out of time")
                return
            query = f"interval={INTERVAL_S}"
            if index % FAILING_EVERY == FAILING_EVERY - 1:
                query += "&status=fail&msg=" + urllib.parse.quote("disk 97% full")
            else:
                query += "&msg=ok"
            status = connection.request("POST", f"/heartbeat/{client_id(index)}?{query}")
            if status not in (200, 201):
                failures.append(f"{client_id(index)}: HTTP {status}")
    except (http.client.HTTPException, OSError) as error:
        failures.append(str(error))
    finally:
        connection.close()


def record_runs(host, port):
    """A few job runs with durations, for the detail view's trend; skipped by older servers."""
    connection = Connection(host, port)
    try:
        for job, runs in (("cron-00003", (0.35, 0.5, 0.3, 0.8, 0.45, 0.6)), ("cron-00011", (0.2, 0.25))):
            for i, seconds in enumerate(runs):
                if connection.request("POST", f"/heartbeat/{job}/start?interval={INTERVAL_S}") not in (200, 201):
                    return
                time.sleep(seconds)
                end = "fail" if (job == "cron-00003" and i == 3) else "0"
                log = (f"backup run {i + 1}\nrsync: 1,{200 + 37 * i} files, {18 + i} MB\n"
                       f"{'error: disk full' if end == 'fail' else 'done'} in {seconds:.2f} s\n").encode()
                connection.request("POST", f"/heartbeat/{job}/{end}", body=log)
    finally:
        connection.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base_url")
    parser.add_argument("count", type=int)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--runs", action="store_true", help="also record job runs (takes about 4 s)")
    args = parser.parse_args()

    url = urllib.parse.urlsplit(args.base_url)
    if url.hostname != "127.0.0.1":
        print("register_clients: only 127.0.0.1 is allowed", file=sys.stderr)
        return 2
    started = time.monotonic()
    deadline = started + args.timeout
    failures = []
    threads = [
        threading.Thread(target=register,
                         args=(url.hostname, url.port, range(c, args.count, args.connections), deadline, failures),
                         daemon=True)
        for c in range(args.connections)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    if any(thread.is_alive() for thread in threads):
        failures.append("threads still running at the deadline")
    if failures:
        print(f"register_clients: {len(failures)} failures, first: {failures[0]}", file=sys.stderr)
        return 1
    if args.runs:
        record_runs(url.hostname, url.port)
    print(f"registered {args.count} clients in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
