#!/usr/bin/env python3
"""End to end: Redis Sentinel failover under two pulsehttpd replicas, with nothing acknowledged lost.

A primary, two replicas and three sentinels (quorum 2, down-after 1 s); two Pulse replicas find the
primary through the sentinels and acknowledge a beat only once a Redis replica has it
(--presence-wait-replicas 1). A loop beats 20 ids through both Pulse replicas and records every
2xx and the beat count it returned. The primary is killed (SIGKILL): beats fail for a while, then
resume on the promoted replica within FAILOVER_BOUND_SECONDS (default 15); afterwards, for every
id, the listed beat count is at least the highest count ever acknowledged for it.

Why two Redis replicas: with one, the promoted replica has no replica of its own, so a store that
keeps its promise (--presence-wait-replicas 1) can acknowledge nothing until another one joins;
the second replica follows the new primary as part of the failover.

Usage: failover.py PULSEHTTPD   (exit 0: passed, 1: failed, 77: no Redis)
"""

import collections
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster  # noqa: E402
from cluster import CheckFailed, HarnessError, check  # noqa: E402

RUN_BOUND_S = 110
FAILOVER_BOUND_S = float(os.environ.get("FAILOVER_BOUND_SECONDS", "15"))
CLIENTS = 20
# Each id beats every 300 ms through each of the two replicas: under the per-id rate limit (10 a
# second), and often enough to time the failover to a third of a second.
BEAT_PERIOD_S = 0.3
WARM_UP_S = 3.0
AFTER_RESUME_S = 3.0


def acknowledged_counts(beats):
    """{id: [beat counts of its 2xx answers, in the order they were sent]}."""
    counts = collections.defaultdict(list)
    for beat in beats:
        if beat.ok:
            counts[beat.client_id].append((beat.body or {}).get("beats"))
    return counts


def run(binary):
    with tempfile.TemporaryDirectory(prefix="pulse-failover-") as tmp:
        root = cluster.make_root(os.path.join(tmp, "www"))
        sentinels = cluster.SentinelCluster(replicas=2)
        replicas = []
        loops = []
        try:
            sentinels.start()
            for name in "AB":
                replica = cluster.PulseReplica(binary, name, root, presence=sentinels.url(),
                                               extra_args=["--presence-wait-replicas", "1"])
                replicas.append(replica)
                replica.start()
            ids = [f"fo-{i:02d}" for i in range(CLIENTS)]
            # One loop per replica, each beating every id: a beat that hangs on one does not delay the other.
            loops = [cluster.BeatLoop([r], ids, "interval=120", period=BEAT_PERIOD_S, timeout=5.0).start()
                     for r in replicas]
            time.sleep(WARM_UP_S)
            warm = [b for loop in loops for b in loop.results()]
            check(warm and all(b.ok for b in warm), f"beats before the failover: {[b for b in warm if not b.ok][:5]}")

            old_port = sentinels.master_port()
            check(old_port == sentinels.primary.port, f"the sentinels name port {old_port} as primary")
            killed = time.monotonic()
            sentinels.primary.kill()
            new_port = cluster.wait_until(lambda: (p := sentinels.master_port()) not in (None, old_port) and p,
                                          30.0, "the sentinels to promote a replica", interval=0.1)
            promoted = time.monotonic() - killed

            def resumed_on_both():
                after = [b for loop in loops for b in loop.results() if b.sent > killed and b.ok]
                return len({b.replica for b in after}) == len(replicas) and after
            try:
                cluster.wait_until(resumed_on_both, 2 * FAILOVER_BOUND_S + 10, "beats to be acknowledged again "
                                   "through both replicas", interval=0.1)
            except HarnessError as e:
                raise CheckFailed(str(e)) from None
            time.sleep(AFTER_RESUME_S)
            for loop in loops:
                loop.stop()
            beats = sorted((b for loop in loops for b in loop.results()), key=lambda b: b.sent)

            after_kill = [b for b in beats if b.sent > killed]
            first_ok = min((b for b in after_kill if b.ok), key=lambda b: b.sent)
            resume = first_ok.sent + first_ok.elapsed - killed
            per_replica = {r.name: min(b.sent + b.elapsed for b in after_kill if b.ok and b.replica == r.name) - killed
                           for r in replicas}
            failed = [b for b in after_kill if not b.ok]
            outcomes = collections.Counter(str(b.status) if b.status is not None else b.error.split(":")[0]
                                           for b in failed)
            acknowledged = acknowledged_counts(beats)
            # Each loop waits for one answer before the next beat: its counts per id must rise.
            regressions = {}
            for loop in loops:
                for client_id, counts in acknowledged_counts(loop.results()).items():
                    if any(b is None or a is None or b <= a for a, b in zip(counts, counts[1:])):
                        regressions[f"{client_id} via {loop.replicas[0].name}"] = counts
            print(f"primary killed; sentinels promoted port {new_port} after {promoted:.1f} s")
            print(f"first acknowledged beat {resume:.1f} s after the kill (bound {FAILOVER_BOUND_S:.0f} s); "
                  f"per replica: " + ", ".join(f"{n} {t:.1f} s" for n, t in sorted(per_replica.items())))
            print(f"beats: {len(beats)} sent, {sum(b.ok for b in beats)} acknowledged, "
                  f"{len(failed)} not acknowledged after the kill ({dict(outcomes)})")

            check(not regressions, "acknowledged beat counts went backwards (an acknowledged beat was lost): " +
                  "; ".join(f"{i}: {c}" for i, c in list(regressions.items())[:3]))
            for replica in replicas:
                replica.wait_ready(timeout=10.0)
                listed = {c["id"]: c["beats"] for c in replica.listing()["clients"]}
                lost = {i: (listed.get(i), max(c)) for i, c in acknowledged.items()
                        if listed.get(i) is None or listed[i] < max(c)}
                check(not lost, f"{replica.name} lists fewer beats than were acknowledged (listed, acknowledged): "
                      f"{lost}")
            print(f"nothing lost: every id lists at least its highest acknowledged count "
                  f"({sum(len(c) for c in acknowledged.values())} acknowledged beats over {len(acknowledged)} ids)")
            check(resume <= FAILOVER_BOUND_S, f"beats resumed {resume:.1f} s after the kill (bound "
                  f"{FAILOVER_BOUND_S:.0f} s)")
            check(max(per_replica.values()) <= FAILOVER_BOUND_S,
                  f"a replica resumed only after {max(per_replica.values()):.1f} s (bound {FAILOVER_BOUND_S:.0f} s)")
        except (CheckFailed, HarnessError):
            for replica in replicas:
                print(f"--- stderr of replica {replica.name} (pid {replica.pid})\n{replica.stderr(2000)}")
            print(sentinels.sentinel_logs())
            raise
        finally:
            for loop in loops:
                loop.stop()
            for replica in replicas:
                replica.close()
            sentinels.close()


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    cluster.skip_unless_redis()
    try:
        with cluster.Watchdog(RUN_BOUND_S, "failover.py"):
            run(os.path.abspath(argv[1]))
    except CheckFailed as e:
        print(f"FAIL: {e}")
        return 1
    except HarnessError as e:
        print(f"FAIL (harness): {e}")
        return 1
    print("ok: failover")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
