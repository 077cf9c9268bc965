#!/usr/bin/env python3
"""End to end: three pulsehttpd replicas (A, B, C) on one Redis behave as one server.

Each check starts its own Redis and three replicas (so a check that kills a replica or stops Redis
leaves nothing behind for the next) and asserts exactly: the same fields on every replica, each
transition announced once in the cluster, nothing lost across a replica's death, a Redis stall or
a Redis restart. Waits are generous (the machine is shared); correctness is not.

Usage: replicas.py PULSEHTTPD [CHECK ...]   (exit 0: all passed, 1: a check failed, 77: no Redis)
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster  # noqa: E402
from cluster import ReplicaSet, check  # noqa: E402

RUN_BOUND_S = 140          # the whole run, whatever happens (CTest's TIMEOUT is the outer bound)
EVENT_TIMEOUT_S = 2.0      # an event to reach a watcher on another replica (the bound)
TRANSITION_TIMEOUT_S = 15.0  # late and down for interval=1&grace=1, with room for a loaded machine
SETTLE_S = 2.0             # after the last expected event: time for a duplicate to show up

SHARED_FIELDS = ("state", "interval", "grace", "status", "msg", "beats", "last_beat", "next_due", "down_at")
BEAT_FIELDS = ("state", "interval", "grace", "beats", "next_due", "down_at")

BINARY = None


def differing(a, b, fields):
    return {f: (a.get(f), b.get(f)) for f in fields if a.get(f) != b.get(f)}


def listed(listing, client_id):
    return next((c for c in listing["clients"] if c["id"] == client_id), None)


def check_beat_listed_everywhere():
    """A beat on A is listed on B (and C) with the same fields: one record, not one per replica."""
    with ReplicaSet(BINARY) as rs:
        a, b, c = rs.replicas
        first = a.beat("shared-1", interval=30, grace=10, status="fail", msg="hello%20from%20A")
        check(first.status == 201, f"first beat on A: {first}")
        second = a.beat("shared-1", interval=30, grace=10, status="fail", msg="second%20beat")
        check(second.status == 200, f"second beat on A: {second}")
        answer = second.json()
        on_a = a.client("shared-1")
        for replica in (b, c):
            got = replica.client("shared-1")
            check(got is not None, f"GET /heartbeat/shared-1 on {replica.name} is 404 right after A answered 200")
            diff = differing(on_a, got, SHARED_FIELDS)
            check(not diff, f"{replica.name} and A disagree on shared-1: {diff}")
            diff = differing(answer, got, BEAT_FIELDS)
            check(not diff, f"{replica.name} disagrees with A's beat answer: {diff}")
        check(on_a["state"] == "failing" and on_a["status"] == "fail" and on_a["msg"] == "second beat"
              and on_a["beats"] == 2 and on_a["interval"] == 30 and on_a["grace"] == 10,
              f"the record is not what A was told: {on_a}")
        # The list may be rendered once per change: it must converge, quickly.
        for replica in (b, c):
            started = time.monotonic()
            entry = cluster.wait_until(lambda r=replica: (e := listed(r.listing(), "shared-1")) and
                                       not differing(on_a, e, SHARED_FIELDS) and e, 2.0,
                                       f"GET /heartbeat on {replica.name} to list shared-1 as A has it")
            lag = time.monotonic() - started
            print(f"  GET /heartbeat on {replica.name} lists shared-1 with A's fields"
                  f"{f' (after {lag * 1000:.0f} ms)' if lag > 0.05 else ''}: beats {entry['beats']}")


def seed_history(rs):
    """One client joins before any watcher connects, so the cluster's event history is not empty."""
    response = rs.replicas[0].beat("seed-0", interval=600)
    check(response.status == 201, f"the seed beat: {response}")


def join_seen_on_c(rs):
    a, _, c = rs.replicas
    (watcher,) = rs.watch([c])
    sent = time.monotonic()
    response = a.beat("joiner-1", interval=60)
    check(response.status == 201, f"beat on A: {response}")
    event = watcher.wait_for(lambda e: e.kind == "join" and e.client_id == "joiner-1" or
                             e.kind == "snapshot" and '"id":"joiner-1"' in e.data, EVENT_TIMEOUT_S,
                             "join of joiner-1")
    check(event.kind == "join", f"the watcher on C got joiner-1 in a {event.kind} after {watcher.events[0].kind} "
          f"id {watcher.events[0].id}, not in a join: {[(e.kind, e.id) for e in watcher.snapshot_events()]}")
    check(event.id, f"the join has no id: {event}")
    check(event.state == "up", f"the join says state {event.state!r}: {event}")
    print(f"  join on C {1000 * (event.received - sent):.0f} ms after the beat was sent to A (id {event.id})")


def check_join_seen_on_c():
    """An event watcher on C sees a beat's join on A within 2 s."""
    with ReplicaSet(BINARY) as rs:
        seed_history(rs)
        join_seen_on_c(rs)


def check_first_join_on_fresh_redis():
    """The same on a fresh Redis, whose event history is still empty when the watcher connects:
    the first client's arrival is a join too (the stream promises snapshot, then join/change/leave)."""
    with ReplicaSet(BINARY) as rs:
        join_seen_on_c(rs)


def transitions(watcher, client_id):
    return [(e.id, e.previous, e.state) for e in watcher.about(client_id, kinds=("change",))]


def check_late_and_down_once():
    """A client that stops goes late, then down: each announced exactly once, with the same id on
    every replica's watchers (the cluster makes the transition once, not once per replica)."""
    with ReplicaSet(BINARY) as rs:
        watchers = rs.watch()
        for i, replica in enumerate(rs.replicas):
            response = replica.beat("goes-down-1", interval=1, grace=1)
            check(response.ok, f"beat {i + 1} on {replica.name}: {response}")
            time.sleep(0.3)
        for watcher in watchers:
            watcher.wait_for(lambda e: e.kind == "change" and e.client_id == "goes-down-1" and e.state == "down",
                             TRANSITION_TIMEOUT_S, "change of goes-down-1 to down")
        time.sleep(SETTLE_S)
        seen = {w.name: transitions(w, "goes-down-1") for w in watchers}
        for name, changes in seen.items():
            late = [c for c in changes if c[2] == "late"]
            down = [c for c in changes if c[2] == "down"]
            check(len(late) == 1, f"{name} saw {len(late)} changes to late (want exactly 1): {changes}")
            check(len(down) == 1, f"{name} saw {len(down)} changes to down (want exactly 1): {changes}")
            check(changes == [late[0], down[0]] and late[0][1] == "up" and down[0][1] == "late",
                  f"{name}: want up→late then late→down and nothing else, saw {changes}")
            check(cluster.event_id_key(late[0][0]) < cluster.event_id_key(down[0][0]),
                  f"{name}: the down's id {down[0][0]} is not after the late's {late[0][0]}")
        reference = next(iter(seen.values()))
        for name, changes in seen.items():
            check(changes == reference, f"watchers disagree on the events' ids: {seen}")
        # The counters are the cluster's: every replica reports the same figures.
        figures = {r.name: (r.metrics().get("pulse_heartbeat_transitions_total"),
                            r.metrics().get("pulse_heartbeat_beats_total")) for r in rs.replicas}
        check(len(set(figures.values())) == 1,
              f"replicas disagree on (transitions_total, beats_total): {figures}")
        check(figures["A"][1] == 3, f"pulse_heartbeat_beats_total is {figures['A'][1]}, want 3 (one per replica)")
        print(f"  late id {reference[0][0]}, down id {reference[1][0]} on all three watchers; "
              f"(transitions_total, beats_total) = {figures['A']} on every replica")


def check_replica_killed_mid_grace():
    """A replica killed (SIGKILL) while a client is in its grace period causes no false down: the
    client beats through B before down_at, and no watcher ever sees it down. Then the two replicas
    left still notice when it really stops."""
    with ReplicaSet(BINARY) as rs:
        a, b, c = rs.replicas
        watchers = rs.watch([b, c])
        for _ in range(2):
            response = a.beat("graceful-1", interval=2, grace=4)
            check(200 <= response.status < 300, f"beat on A: {response}")
        down_at = cluster.parse_iso8601(response.json()["down_at"])
        watchers[0].wait_for(lambda e: e.kind == "change" and e.client_id == "graceful-1" and e.state == "late",
                             TRANSITION_TIMEOUT_S, "change of graceful-1 to late")
        a.kill()
        rescue = b.beat("graceful-1", interval=2, grace=4)
        check(rescue.status == 200, f"the beat through B after A died: {rescue}")
        server_time = cluster.parse_iso8601(rescue.json()["server_time"])
        if server_time >= down_at:
            raise cluster.HarnessError(f"the rescue beat came {server_time - down_at:.2f} s after down_at: "
                                       "the machine is too slow for this check")
        check(rescue.json()["state"] == "up", f"the rescue beat left the client {rescue.json()['state']}")
        print(f"  A killed, rescue beat through B {down_at - server_time:.2f} s before down_at")
        # Beat on through B past the old down_at, then well past it.
        deadline = time.monotonic() + 6.0
        while time.monotonic() < deadline:
            time.sleep(1.0)
            response = b.beat("graceful-1", interval=2, grace=4)
            check(response.status == 200, f"beat through B: {response}")
        for watcher in watchers:
            downs = [e for e in watcher.about("graceful-1") if e.state == "down"]
            check(not downs, f"{watcher.name} saw graceful-1 go down while it beat through B: {downs}")
        for replica in (b, c):
            state = replica.client("graceful-1")["state"]
            check(state == "up", f"{replica.name} says graceful-1 is {state}")
        # Without A the cluster still sweeps: the client stops, and goes late and down exactly once.
        stopped = time.monotonic()
        for watcher in watchers:
            watcher.wait_for(lambda e: e.kind == "change" and e.client_id == "graceful-1" and e.state == "down"
                             and e.received > stopped, TRANSITION_TIMEOUT_S, "change of graceful-1 to down")
        time.sleep(SETTLE_S)
        seen = [[(e.id, e.state) for e in w.about("graceful-1", kinds=("change",)) if e.received > stopped]
                for w in watchers]
        for watcher, changes in zip(watchers, seen):
            check([s for _, s in changes] == ["late", "down"],
                  f"{watcher.name}: after the client stopped, want late then down once each: {changes}")
        check(seen[0] == seen[1], f"B's and C's watchers disagree: {seen}")


def check_last_event_id_on_another_replica():
    """A watcher on A reads up to id N, leaves; changes happen; it comes back to B with
    Last-Event-ID: N and gets exactly what it missed (no snapshot, no gap, no repeat)."""
    with ReplicaSet(BINARY) as rs:
        a, b, c = rs.replicas
        seed_history(rs)
        (control,) = rs.watch([c])
        (first,) = rs.watch([a])
        for client_id in ("resume-1", "resume-2", "resume-3"):
            check(b.beat(client_id, interval=60).status == 201, f"join of {client_id}")
        first.wait_for(lambda e: e.kind == "join" and e.client_id == "resume-3", EVENT_TIMEOUT_S * 2,
                       "join of resume-3")
        last_id = first.last_id
        first.close()
        check(a.beat("resume-4", interval=60).status == 201, "join of resume-4")
        check(c.beat("resume-1", interval=60, status="fail").status == 200, "resume-1 failing")
        check(b.request("DELETE", "/heartbeat/resume-2").status == 204, "DELETE resume-2")
        check(a.beat("resume-5", interval=60).status == 201, "join of resume-5")
        control.wait_for(lambda e: e.kind == "join" and e.client_id == "resume-5", EVENT_TIMEOUT_S * 2,
                         "join of resume-5")
        key = cluster.event_id_key(last_id)
        expected = [(e.id, e.kind, e.client_id) for e in control.snapshot_events()
                    if e.kind in ("join", "change", "leave") and cluster.event_id_key(e.id) > key]
        check([(k, i) for _, k, i in expected] ==
              [("join", "resume-4"), ("change", "resume-1"), ("leave", "resume-2"), ("join", "resume-5")],
              f"the control watcher on C saw, after id {last_id}: {expected}")
        resumed = cluster.EventWatcher(b.port, name="resumed watcher on B", last_event_id=last_id)
        rs.watchers.append(resumed)
        resumed.start()
        resumed.wait_for(lambda e: e.kind == "join" and e.client_id == "resume-5", EVENT_TIMEOUT_S * 2,
                         "join of resume-5 (the last missed event)")
        time.sleep(SETTLE_S / 2)
        got = resumed.snapshot_events()
        check(all(e.kind != "snapshot" for e in got), f"a snapshot after Last-Event-ID {last_id}: {got}")
        check([(e.id, e.kind, e.client_id) for e in got] == expected,
              f"resumed on B after {last_id}: want {expected}, got {[(e.id, e.kind, e.client_id) for e in got]}")
        print(f"  resumed after id {last_id} on B: {len(got)} missed events, ids as on C")


def static_latencies(replica, count, gap=0.0):
    """`count` GETs of a small file over one keep-alive connection: (latencies, failures)."""
    client = cluster.HttpClient(replica.port, timeout=5.0)
    latencies, failures = [], []
    try:
        for _ in range(count):
            try:
                response = client.request("GET", "/small.txt")
                if response.status != 200 or not response.body.startswith(b"pulse static file"):
                    failures.append(repr(response))
                latencies.append(response.elapsed)
            except OSError as e:
                failures.append(f"{type(e).__name__}: {e}")
            if gap:
                time.sleep(gap)
    finally:
        client.close()
    return latencies, failures


class ReadinessProbe:
    """Polls /readyz on every replica from a thread; keeps (time, replica, status)."""

    def __init__(self, replicas, period=0.2):
        self.replicas = replicas
        self.period = period
        self.samples = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            for replica in self.replicas:
                try:
                    status = replica.get("/readyz", timeout=3.0).status
                except OSError as e:
                    status = f"{type(e).__name__}"
                self.samples.append((time.monotonic(), replica.name, status))
            self._stop.wait(self.period)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)


def ms(seconds):
    return f"{seconds * 1000:.1f} ms"


def check_redis_stall():
    """Redis SIGSTOPped for 5 s: static files stay fast, beats get a prompt 503 with Retry-After,
    /readyz says 503; after SIGCONT everything recovers and no client that kept beating is reported
    down (the store credits the time it was away)."""
    stall_s = 5.0
    with ReplicaSet(BINARY) as rs:
        a = rs["A"]
        watchers = rs.watch(reconnect=True)
        steady_ids = [f"steady-{i}" for i in range(1, 4)]
        loop = cluster.BeatLoop(rs.replicas, steady_ids, "interval=3&grace=2", period=1.0, timeout=10.0).start()
        try:
            time.sleep(3.0)
            check(all(b.ok for b in loop.results()), f"beats before the stall: {loop.results()}")
            before, failed = static_latencies(a, 200)
            check(not failed, f"static GETs before the stall failed: {failed[:5]}")
            with ReadinessProbe(rs.replicas) as probe:
                rs.redis.pause()
                stopped = time.monotonic()
                try:
                    during, failed = static_latencies(a, 200, gap=0.01)
                    static_done = time.monotonic()
                    time.sleep(max(0.0, stopped + stall_s - time.monotonic()))
                finally:
                    rs.redis.resume()
                resumed = time.monotonic()
                ready_at = {}
                deadline = resumed + 10.0
                while len(ready_at) < len(rs.replicas) and time.monotonic() < deadline:
                    for t, name, status in list(probe.samples):
                        if t > resumed and status == 200 and name not in ready_at:
                            ready_at[name] = t - resumed
                    time.sleep(0.1)
            # Beat on for interval + grace and more after the stall: a false "down" would show now.
            time.sleep(8.0)
        finally:
            loop.stop()
        beats = loop.results()

        print(f"  static GET on A: before p50 {ms(cluster.median(before))} max {ms(max(before))}; "
              f"during the stall p50 {ms(cluster.median(during))} max {ms(max(during))} "
              f"({len(during)} GETs in {static_done - stopped:.1f} s)")
        check(not failed, f"static GETs failed while Redis was stopped: {failed[:5]}")
        check(static_done - stopped < stall_s, "the static GETs outlasted the stall: the latencies are not all "
              f"from it ({static_done - stopped:.1f} s)")
        check(cluster.median(during) < 0.050, f"static p50 during the stall is {ms(cluster.median(during))} (bound 50 ms)")
        check(max(during) < 1.0, f"a static GET took {ms(max(during))} while Redis was stopped (bound 1 s)")

        in_stall = [b for b in beats if stopped <= b.sent < resumed]
        refused = [b for b in in_stall if b.status == 503]
        slowest = max((b.elapsed for b in in_stall), default=0.0)
        print(f"  beats sent during the stall: {len(in_stall)}, 503: {len(refused)}, "
              f"2xx: {sum(b.ok for b in in_stall)}, slowest answer {ms(slowest)}")
        check(in_stall, "no beat was sent during the stall")
        for beat in in_stall:
            check(beat.status is not None, f"a beat during the stall got no answer: {beat}")
            check(beat.elapsed < 4.0, f"a beat during the stall hung for {beat.elapsed:.1f} s (bound ~3 s): {beat}")
            if beat.ok:
                continue
            check(beat.status == 503, f"a beat during the stall answered {beat.status}, want 503 or 2xx: {beat}")
            check(beat.retry_after, f"a 503 during the stall has no Retry-After: {beat}")
            error = (beat.body or {}).get("error")
            check(error in ("store_unavailable", "store_busy"), f"a 503's JSON error is {error!r}: {beat.body}")
        check(refused, "no beat was refused with 503 while Redis was stopped")

        not_ready = {name for t, name, status in probe.samples if stopped <= t < resumed and status == 503}
        other = {status for t, name, status in probe.samples if stopped <= t < resumed and status not in (200, 503)}
        check(not other, f"/readyz answered {other} during the stall (want 200 or 503)")
        check(not_ready == {r.name for r in rs.replicas},
              f"/readyz answered 503 during the stall only on {sorted(not_ready)}")
        check(len(ready_at) == len(rs.replicas), f"/readyz 200 again within 10 s only on {sorted(ready_at)}")
        print("  /readyz 200 again after " + ", ".join(f"{n} {s:.1f} s" for n, s in sorted(ready_at.items())))

        after = [b for b in beats if b.sent >= resumed + max(ready_at.values())]
        for replica in rs.replicas:
            mine = [b for b in after if b.replica == replica.name]
            check(mine and all(b.ok for b in mine), f"beats through {replica.name} after recovery: {mine}")
        for watcher in watchers:
            downs = [e for e in watcher.snapshot_events() if e.kind == "change" and e.state == "down"]
            check(not downs, f"{watcher.name} saw clients reported down though they kept beating: {downs}")
            snapshots_down = [e for e in watcher.snapshot_events() if e.kind == "snapshot" and '"state":"down"' in e.data]
            check(not snapshots_down, f"{watcher.name} got a snapshot with a down client: {snapshots_down}")
            lates = [e for e in watcher.snapshot_events() if e.kind == "change" and e.state == "late"]
            if lates:
                print(f"  note: {watcher.name} saw {len(lates)} change(s) to late: {lates}")
            if len(watcher.connections) > 1:
                print(f"  note: {watcher.name} reconnected {len(watcher.connections) - 1} time(s)")
        for replica in rs.replicas:
            for client_id in steady_ids:
                state = replica.client(client_id)["state"]
                check(state == "up", f"{replica.name} says {client_id} is {state} after the stall")


def retrying(call, timeout=5.0):
    """call() until it answers something other than 503 (a client told Retry-After tries again);
    returns (response, how many 503s it took)."""
    deadline = time.monotonic() + timeout
    refused = 0
    while True:
        response = call()
        if response.status != 503 or time.monotonic() > deadline:
            return response, refused
        refused += 1
        time.sleep(0.1)


def check_redis_restart_with_aof():
    """Redis with AOF (appendfsync always) stopped and started again on the same port and folder:
    every client is still there with its beat count, and the replicas reconnect by themselves."""
    with ReplicaSet(BINARY, redis_args={"appendonly": True}) as rs:
        expected = {}
        turn = 0
        for i in range(50):
            client_id = f"aof-{i:02d}"
            for _ in range(i % 3 + 1):
                replica = rs.replicas[turn % 3]
                turn += 1
                response = replica.beat(client_id, interval=300)
                check(200 <= response.status < 300, f"beat of {client_id} on {replica.name}: {response}")
                expected[client_id] = response.json()["beats"]
        pids = [r.pid for r in rs.replicas]
        status = rs.redis.stop()
        check(status == 0, f"redis-server exited with {status} on SIGTERM")
        down = rs["B"].beat("aof-00", interval=300, timeout=10.0)
        check(down.status == 503, f"a beat with Redis gone answered {down}")
        rs.redis.start()
        restarted = time.monotonic()
        for replica in rs.replicas:
            replica.wait_ready(timeout=15.0)
        print(f"  all three replicas ready {time.monotonic() - restarted:.1f} s after Redis came back")
        check([r.pid for r in rs.replicas] == pids and all(r.alive() and r.starts == 1 for r in rs.replicas),
              "a replica was restarted or died")
        refusals = {}
        for replica in rs.replicas:
            response, refusals[replica.name] = retrying(lambda r=replica: r.get("/heartbeat?limit=1000"))
            check(response.status == 200, f"GET /heartbeat on {replica.name} after the restart: {response}")
            clients = {c["id"]: c for c in response.json()["clients"]}
            missing = sorted(set(expected) - set(clients))
            check(not missing, f"{replica.name} lost {len(missing)} clients across the restart: {missing[:10]}")
            wrong = {i: (clients[i]["beats"], n) for i, n in expected.items() if clients[i]["beats"] != n}
            check(not wrong, f"{replica.name}: beats (listed, acknowledged) differ: {wrong}")
            check(len(clients) == 50, f"{replica.name} lists {len(clients)} clients, want 50")
        for replica in rs.replicas:
            response, refused = retrying(lambda r=replica: r.beat("aof-01", interval=300))
            refusals[replica.name] += refused
            check(response.status == 200, f"a beat on {replica.name} after the restart: {response}")
            expected["aof-01"] += 1
            check(response.json()["beats"] == expected["aof-01"],
                  f"beats of aof-01 after the restart: {response.json()['beats']}, want {expected['aof-01']}")
        print("  50 clients and their beat counts survived; beats work on every replica again"
              + (f" (503s after /readyz said 200: {refusals})" if any(refusals.values()) else ""))


def check_ready_means_ready_after_redis_restart():
    """Once /readyz says 200 again after Redis restarted, heartbeat requests succeed: no 503 from
    connections that still lead to the Redis process that is gone."""
    with ReplicaSet(BINARY, redis_args={"appendonly": True}) as rs:
        for replica in rs.replicas:
            for i in range(5):
                check(replica.beat(f"ready-{i}", interval=300).ok, f"beat on {replica.name}")
                check(replica.get("/heartbeat").status == 200, f"list on {replica.name}")
        rs.redis.stop()
        rs.redis.start()
        for replica in rs.replicas:
            replica.wait_ready(timeout=15.0)
        refused = {}
        for replica in rs.replicas:
            answers = []
            for i in range(10):
                answers.append(replica.get(f"/heartbeat/ready-{i % 5}"))
                answers.append(replica.get("/heartbeat"))
                answers.append(replica.beat(f"ready-{i % 5}", interval=300))
            bad = [a for a in answers if not a.ok]
            if bad:
                refused[replica.name] = f"{len(bad)} of {len(answers)}, first: {bad[0]}"
        check(not refused, f"requests failed after /readyz answered 200: {refused}")


CHECKS = [
    ("beat on A listed on B and C with the same fields", check_beat_listed_everywhere),
    ("a watcher on C sees the join within 2 s", check_join_seen_on_c),
    ("on a fresh Redis the first arrival is a join too", check_first_join_on_fresh_redis),
    ("late and down announced exactly once across all watchers", check_late_and_down_once),
    ("A killed in the grace period: no false down", check_replica_killed_mid_grace),
    ("Last-Event-ID resumes on another replica", check_last_event_id_on_another_replica),
    ("Redis SIGSTOP for 5 s: static fast, beats 503, recovery, no false down", check_redis_stall),
    ("Redis restarted with AOF loses no client", check_redis_restart_with_aof),
    ("after a Redis restart, /readyz 200 means requests succeed", check_ready_means_ready_after_redis_restart),
]


def main(argv):
    global BINARY
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cluster.skip_unless_redis()
    BINARY = os.path.abspath(argv[1])
    selected = argv[2:]
    names = {name for name, _ in CHECKS}
    short = {fn.__name__.removeprefix("check_"): name for name, fn in CHECKS}
    selected = [short.get(s, s) for s in selected]
    unknown = [s for s in selected if s not in names]
    if unknown:
        print(f"unknown checks {unknown}; known: {sorted(short)}", file=sys.stderr)
        return 2
    with cluster.Watchdog(RUN_BOUND_S, "replicas.py"):
        return cluster.run_checks(CHECKS, selected)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
