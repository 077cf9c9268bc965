#!/usr/bin/env python3
"""End to end: three pulsehttpd replicas on one Redis under a realistic fleet, nothing lost.

10,000 client ids promise to beat every 10 s (interval=10, grace=5) and do, a little early, every
9.5 s, spread evenly (about 1,050 beats a second in all), each beat going to the next replica in
turn, over a few hundred keep-alive connections, for LOAD_SECONDS (default 60). 100 of the ids stop
beating at 20 s.

Why early: a client that beats exactly every 10 s arrives a few milliseconds after its deadline
about half the time (its own jitter), and is rightly late whenever a sweep falls in between; that
would be the schedule's doing, not the server's. 0.5 s of margin, and a generator held to 0.4 s of
its schedule, leave every transition of a beating id to the server.

Asserted: no beat lost (the cluster's pulse_heartbeat_beats_total rose by exactly the number of
2xx answers, on every replica), no unexpected answer (5xx, time-outs: a healthy cluster has none),
and no duplicate transition: on the event stream of every replica, each stopped id changes to late
once and to down once, and no other id changes state at all. Printed: beats per second achieved,
p50/p99 beat latency, each replica's CPU per beat, Redis's CPU per beat.

Usage: load.py PULSEHTTPD   (exit 0: passed, 1: failed, 77: no Redis)
"""

import asyncio
import collections
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster  # noqa: E402
from cluster import CheckFailed, HarnessError, check  # noqa: E402

DURATION_S = float(os.environ.get("LOAD_SECONDS", "60"))
CLIENTS = 10_000
INTERVAL_S = 10
GRACE_S = 5
BEAT_PERIOD_S = 9.5
STOPPED_EVERY = CLIENTS // 100  # every 100th id stops: 100 of them
CONNECTIONS_PER_REPLICA = 100
REQUEST_TIMEOUT_S = 5.0
# The generator must keep to its schedule (within the margin above), or a late id would be its
# fault, not the server's.
MAX_SCHEDULE_LAG_S = 0.4
EVENT_DRAIN_S = 3.0       # after the run: events still on their way to the watchers
STOP_AT_S = min(20.0, DURATION_S - INTERVAL_S - GRACE_S - 5.0)  # the stopped ids must reach down in the run
RUN_BOUND_S = DURATION_S + 55  # CTest's TIMEOUT is DURATION + 60


class Stats:
    def __init__(self):
        self.ok = 0
        self.ok_by_replica = collections.Counter()
        self.statuses = collections.Counter()
        self.errors = collections.Counter()
        self.latencies = []
        self.max_lag = 0.0
        self.sent = 0
        self.last_beat = {}  # id -> monotonic time of its last 2xx


class Connection:
    """One keep-alive HTTP/1.1 connection; a request at a time."""

    def __init__(self, port):
        self.port = port
        self.reader = None
        self.writer = None

    async def request(self, path):
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = 0
        close = False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and "close" in value.lower():
                close = True
        if length:
            await self.reader.readexactly(length)
        if close:
            self.close()
        return status

    def close(self):
        if self.writer is not None:
            self.writer.close()
            self.writer = None
            self.reader = None


async def worker(port, replica_name, queue, stats, start):
    connection = Connection(port)
    try:
        while True:
            item = await queue.get()
            if item is None:
                return
            due, client_id = item
            sent = time.monotonic()
            stats.max_lag = max(stats.max_lag, sent - (start + due))
            stats.sent += 1
            try:
                status = await asyncio.wait_for(
                    connection.request(f"/heartbeat/{client_id}?interval={INTERVAL_S}&grace={GRACE_S}"),
                    REQUEST_TIMEOUT_S)
            except asyncio.TimeoutError:
                stats.errors["timeout"] += 1
                connection.close()
                continue
            except (OSError, asyncio.IncompleteReadError, ValueError) as e:
                stats.errors[type(e).__name__] += 1
                connection.close()
                continue
            stats.latencies.append(time.monotonic() - sent)
            stats.statuses[status] += 1
            if 200 <= status < 300:
                stats.ok += 1
                stats.ok_by_replica[replica_name] += 1
                stats.last_beat[client_id] = time.monotonic()
    finally:
        connection.close()


async def generate(replicas, stats, start):
    """Beat n is due at n * (BEAT_PERIOD / CLIENTS) s, for id n % CLIENTS, through replica n % 3."""
    queues = [asyncio.Queue() for _ in replicas]
    workers = [asyncio.create_task(worker(r.port, r.name, queues[i], stats, start))
               for i, r in enumerate(replicas) for _ in range(CONNECTIONS_PER_REPLICA)]
    spacing = BEAT_PERIOD_S / CLIENTS
    total = int(DURATION_S / spacing)
    n = 0
    while n < total:
        elapsed = time.monotonic() - start
        while n < total and n * spacing <= elapsed:
            client_id = n % CLIENTS
            due = n * spacing
            if not (client_id % STOPPED_EVERY == 0 and due >= STOP_AT_S):
                queues[n % len(replicas)].put_nowait((due, f"ld-{client_id:05d}"))
            n += 1
        await asyncio.sleep(0.005)
    for queue in queues:
        for _ in range(CONNECTIONS_PER_REPLICA):
            queue.put_nowait(None)
    await asyncio.wait(workers, timeout=REQUEST_TIMEOUT_S + 5)


def cluster_beats_total(replicas):
    return {r.name: r.metrics().get("pulse_heartbeat_beats_total") for r in replicas}


def transitions_before(watcher, cutoff):
    changes = collections.defaultdict(list)
    for event in watcher.snapshot_events():
        if event.kind == "change" and event.received < cutoff:
            changes[event.client_id].append((event.id, event.previous, event.state))
    return changes


def stream_transitions(redis, key):
    """{id: [(entry id, previous, state)]} of the change entries in the cluster's Redis stream."""
    changes = collections.defaultdict(list)
    entries = redis.command("XRANGE", key, "-", "+")
    for entry_id, fields in entries:
        record = dict(zip(fields[::2], fields[1::2]))
        if record.get("kind") != "change":
            continue
        client = json.loads(record.get("client") or "{}")
        changes[client.get("id")].append((entry_id, record.get("previous"), client.get("state")))
    return changes, len(entries)


def expect_transitions(where, changes, stopped):
    """Each stopped id: up→late, late→down, once each; any other id: nothing."""
    others = {i: c for i, c in changes.items() if i not in stopped}
    check(not others, f"{where}: {len(others)} ids that kept beating changed state, e.g. "
          f"{dict(list(others.items())[:3])}")
    wrong = {}
    for client_id in sorted(stopped):
        states = [(previous, state) for _, previous, state in changes.get(client_id, [])]
        if states != [("up", "late"), ("late", "down")]:
            wrong[client_id] = states
    check(not wrong, f"{where}: {len(wrong)} of the stopped ids did not change to late once and to down once, "
          f"e.g. {dict(list(wrong.items())[:3])}")


def run(binary):
    check(STOP_AT_S >= BEAT_PERIOD_S, f"LOAD_SECONDS={DURATION_S:.0f} is too short: at least "
          f"{2 * INTERVAL_S + GRACE_S + 5} s, so that the stopped ids beat first and reach down within the run")
    with cluster.ReplicaSet(binary, extra_args=["--max-connections", "2000"]) as rs:
        watchers = rs.watch()
        before = cluster_beats_total(rs.replicas)
        check(len(set(before.values())) == 1, f"replicas disagree on pulse_heartbeat_beats_total: {before}")
        cpu_before = {r.name: r.cpu_seconds() for r in rs.replicas}
        redis_cpu_before = rs.redis.cpu_seconds()
        stats = Stats()
        start = time.monotonic()
        asyncio.run(generate(rs.replicas, stats, start))
        ended = time.monotonic()
        # Read at once: the ids that kept beating go late from 0.5 s after the end, rightly.
        in_stream, stream_length = stream_transitions(rs.redis, "pulse:events")
        cpu = {r.name: r.cpu_seconds() - cpu_before[r.name] for r in rs.replicas}
        redis_cpu = rs.redis.cpu_seconds() - redis_cpu_before
        time.sleep(EVENT_DRAIN_S)
        after = cluster_beats_total(rs.replicas)

        elapsed = ended - start
        latencies = stats.latencies
        print(f"{stats.sent} beats sent in {elapsed:.1f} s: {stats.ok / elapsed:.0f} acknowledged a second; "
              f"answers {dict(stats.statuses)}, errors {dict(stats.errors)}; generator lag max {stats.max_lag:.2f} s")
        print(f"beat latency p50 {cluster.percentile(latencies, 0.5) * 1000:.1f} ms, "
              f"p99 {cluster.percentile(latencies, 0.99) * 1000:.1f} ms, "
              f"max {max(latencies, default=0) * 1000:.1f} ms")
        for replica in rs.replicas:
            handled = stats.ok_by_replica[replica.name]
            print(f"replica {replica.name}: {cpu[replica.name]:.2f} s CPU for {handled} beats: "
                  f"{cpu[replica.name] / max(1, handled) * 1e6:.0f} us a beat")
        print(f"redis: {redis_cpu:.2f} s CPU for {stats.ok} beats: {redis_cpu / max(1, stats.ok) * 1e6:.0f} us a beat")
        deltas = {name: after[name] - before[name] for name in after}
        print(f"pulse_heartbeat_beats_total rose by {deltas} (2xx answers: {stats.ok})")

        check(stats.max_lag <= MAX_SCHEDULE_LAG_S, f"the load generator fell {stats.max_lag:.1f} s behind its "
              "schedule: the figures are not valid (an overloaded machine?)")
        check(not stats.errors, f"beats without an answer on a healthy cluster: {dict(stats.errors)}")
        unexpected = {s: n for s, n in stats.statuses.items() if not 200 <= s < 300}
        check(not unexpected, f"beats answered with an error on a healthy cluster: {unexpected}")
        for name, delta in deltas.items():
            check(delta == stats.ok, f"lost beats: {name}'s pulse_heartbeat_beats_total rose by {delta:.0f}, "
                  f"but {stats.ok} beats were acknowledged")

        stopped = {f"ld-{i:05d}" for i in range(0, CLIENTS, STOPPED_EVERY)}
        expect_transitions(f"the Redis stream pulse:events ({stream_length} entries)", in_stream, stopped)
        reference = None
        for watcher in watchers:
            check(not watcher.ended, f"{watcher.name}'s stream ended during the run: {watcher.error}")
            changes = transitions_before(watcher, ended)
            expect_transitions(watcher.name, changes, stopped)
            ids = {i: [e for e, _, _ in c] for i, c in changes.items()}
            if reference is None:
                reference = ids
            check(ids == reference, f"{watcher.name} saw other event ids than {watchers[0].name}")
        print(f"transitions: each of the {len(stopped)} stopped ids changed to late once and to down once, in the "
              f"Redis stream and on all {len(watchers)} watchers, with the same ids; no other id changed state")


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    cluster.skip_unless_redis()
    try:
        with cluster.Watchdog(RUN_BOUND_S, "load.py"):
            run(os.path.abspath(argv[1]))
    except CheckFailed as e:
        print(f"FAIL: {e}")
        return 1
    except HarnessError as e:
        print(f"FAIL (harness): {e}")
        return 1
    print("ok: load")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
