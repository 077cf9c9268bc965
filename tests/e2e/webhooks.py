#!/usr/bin/env python3
"""End to end: webhook alerts from pulsehttpd to a real receiver (tests/e2e/webhook_receiver.py) over
HTTP and over HTTPS with a certificate this test makes and trusts. The receiver records every try;
the checks make it fail the first tries with 500, be down (port closed) for a while, refuse with a
4xx, or ask for a pause with 429 and Retry-After, and assert that every alert arrives exactly once
per Idempotency-Key, in order, with nothing lost that fits the queue, and that /metrics counts it.

Each check starts its own receiver and pulsehttpd (short back-off bases through the flags, so the
whole run takes seconds) and stops them by PID.

Usage: webhooks.py PULSEHTTPD [CHECK ...]   (exit 0: all passed, 1: a check failed)
"""

import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster  # noqa: E402
from cluster import PulseReplica, check, wait_until  # noqa: E402
from webhook_receiver import Receiver, free_port, make_certificate  # noqa: E402

ALERT_TIMEOUT_S = 20.0   # an alert to arrive, retries and a slow shared machine included
DOWN_TIMEOUT_S = 15.0    # interval=1&grace=1 to go down, with room for a loaded machine
SETTLE_S = 1.5           # after the last expected alert: time for a duplicate or a retry to show up
SERVER = "pulse-test"
FAST_RETRIES = ["--webhook-retry-base", "50ms", "--webhook-retry-max", "400ms", "--webhook-timeout", "3s"]
FIELDS = ("text", "id", "event", "from", "to", "at", "last_beat", "message", "duration_ms", "exit_code", "server",
          "sequence")

BINARY = None
ROOT = tempfile.mkdtemp(prefix="pulse-webhooks-root-")


def pulse(urls, *extra, name="a", presence=None):
    args = []
    for url in urls:
        args += ["--webhook", url]
    args += ["--server-name", SERVER, *FAST_RETRIES, *extra]
    # libcurl honours http_proxy and https_proxy: the receiver is local, whatever the machine says.
    env = {"no_proxy": "127.0.0.1", "NO_PROXY": "127.0.0.1"}
    return PulseReplica(BINARY, name, ROOT, presence=presence, extra_args=args, env=env).start()


def webhook_metrics(replica):
    metrics = replica.metrics()
    result = {r: metrics.get(f'pulse_webhook_alerts_total{{result="{r}"}}') for r in
              ("sent", "retried", "failed", "dropped")}
    result["queued"] = metrics.get("pulse_webhook_queue_depth")
    return result


def wait_accepted(receiver, count, what):
    return wait_until(lambda: len(receiver.accepted()) >= count and receiver.accepted(), ALERT_TIMEOUT_S, what)


def wait_state(replica, client_id, state):
    wait_until(lambda: (replica.client(client_id) or {}).get("state") == state, DOWN_TIMEOUT_S,
               f"{client_id} to be {state}")


def check_keys_once_in_order(receiver):
    """Every key accepted once; a key's tries are consecutive (one alert at a time per URL) and only
    its last is accepted; the accepted alerts come in the order of their sequence numbers."""
    attempts = receiver.snapshot()
    accepted = [a for a in attempts if 200 <= a.status < 300]
    keys = [a.key for a in accepted]
    check(all(keys), f"an alert came without an Idempotency-Key: {accepted}")
    check(len(keys) == len(set(keys)), f"an alert was accepted twice: {keys}")
    seen_done = set()
    previous = None
    for attempt in attempts:
        check(attempt.key not in seen_done, f"a try of {attempt.key} came after it was accepted: {attempts}")
        if previous is not None and attempt.key != previous.key:
            check(200 <= previous.status < 300 or previous.status in (400, 404),
                  f"{attempt.key} was sent while {previous.key} was still being retried: {attempts}")
        if 200 <= attempt.status < 300:
            seen_done.add(attempt.key)
        previous = attempt
    sequences = [a.body.get("sequence") for a in accepted if a.body.get("sequence") is not None]
    check(sequences == sorted(sequences), f"alerts out of order: sequences {sequences}")
    for attempt in accepted:
        check(attempt.headers.get("content-type") == "application/json", f"Content-Type: {attempt.headers}")
        missing = [f for f in FIELDS if f not in attempt.body]
        check(not missing, f"the document lacks {missing}: {attempt.body}")
        check(attempt.body["server"] == SERVER, f"server: {attempt.body}")
        if attempt.body["sequence"] is not None:
            check(attempt.key == f"{SERVER}-{attempt.body['sequence']}", f"key {attempt.key} for {attempt.body}")
    return accepted


def check_order_and_retries():
    """Fails the first 3 tries with 500: join, down, up, failing, up and the sign-off all arrive, once
    each, in order, with the first alert's key on all four of its tries; 3 retries counted."""
    with Receiver() as receiver:
        receiver.fail_first = 3
        replica = pulse([receiver.url()], "--webhook-joins")
        try:
            check(replica.beat("web-1", interval=1, grace=1).status == 201, "first beat")
            wait_state(replica, "web-1", "down")
            check(replica.beat("web-1", interval=60, grace=60).status == 200, "beat after down")
            check(replica.beat("web-1", status="fail", msg="disk%20full").status == 200, "fail beat")
            check(replica.beat("web-1", status="ok").status == 200, "ok beat")
            check(replica.request("DELETE", "/heartbeat/web-1").status == 204, "sign-off")
            wait_accepted(receiver, 6, "six alerts")
            time.sleep(SETTLE_S)
            accepted = check_keys_once_in_order(receiver)
            got = [(a.body["event"], a.body["from"], a.body["to"]) for a in accepted]
            expected = [("join", None, "up"), ("change", "late", "down"), ("change", "down", "up"),
                        ("change", "up", "failing"), ("change", "failing", "up"), ("leave", "up", None)]
            check(got == expected, f"alerts {got}, expected {expected}")
            texts = [a.body["text"] for a in accepted]
            check(texts[1] == f"web-1 is down (was late) on {SERVER}", f"text: {texts[1]!r}")
            check(texts[3] == f"web-1 is failing (was up) on {SERVER}: disk full", f"text: {texts[3]!r}")
            check(texts[5] == f"web-1 signed off (was up) on {SERVER}", f"text: {texts[5]!r}")
            check(accepted[5].body["reason"] == "signed_off", f"leave: {accepted[5].body}")
            first_key = accepted[0].key
            tries = [a for a in receiver.snapshot() if a.key == first_key]
            check([a.status for a in tries] == [500, 500, 500, 200], f"tries of the first alert: {tries}")
            check(all(a.body == tries[0].body for a in tries), "a retry changed the document")
            stats = webhook_metrics(replica)
            check(stats == {"sent": 6, "retried": 3, "failed": 0, "dropped": 0, "queued": 0}, f"metrics: {stats}")
        finally:
            replica.close()


def check_recovery_through_late_or_paused():
    """An "up" closes an alerted failing or down whatever came between: failing -> late -> up, and
    down -> paused -> up; a late -> up of an id never alerted bad sends nothing."""
    with Receiver() as receiver:
        replica = pulse([receiver.url()])
        try:
            check(replica.beat("job-1", interval=1, grace=60, status="fail").status == 201, "failing first beat")
            wait_state(replica, "job-1", "late")
            check(replica.beat("job-1", interval=60, grace=60).status == 200, "beat after late")
            check(replica.beat("web-1", interval=1, grace=1).status == 201, "web-1 first beat")
            wait_state(replica, "web-1", "down")
            check(replica.request("POST", "/heartbeat/web-1/pause").status == 200, "pause")
            check(replica.beat("web-1", interval=60, grace=60).status == 200, "beat after pause")
            check(replica.beat("ok-1", interval=1, grace=60).status == 201, "ok-1 first beat")
            wait_state(replica, "ok-1", "late")
            check(replica.beat("ok-1", interval=60, grace=60).status == 200, "ok-1 beat after late")
            wait_accepted(receiver, 4, "four alerts")
            time.sleep(SETTLE_S)
            accepted = check_keys_once_in_order(receiver)
            got = [(a.body["id"], a.body["event"], a.body["from"], a.body["to"]) for a in accepted]
            expected = [("job-1", "join", None, "failing"), ("job-1", "change", "late", "up"),
                        ("web-1", "change", "late", "down"), ("web-1", "change", "paused", "up")]
            check(got == expected, f"alerts {got}, expected {expected}")
        finally:
            replica.close()


def check_expiry_alerted():
    """With --webhook-joins, a client forgotten after the retention period is a leave, "expired"."""
    with Receiver() as receiver:
        replica = pulse([receiver.url()], "--webhook-on", "leave", "--heartbeat-retention", "1s")
        try:
            check(replica.beat("old-1", interval=1, grace=1).status == 201, "beat")
            wait_accepted(receiver, 1, "the expiry")
            time.sleep(SETTLE_S)
            accepted = check_keys_once_in_order(receiver)
            check(len(accepted) == 1, f"alerts: {accepted}")
            body = accepted[0].body
            check(body["event"] == "leave" and body["reason"] == "expired" and body["from"] == "down"
                  and body["to"] is None, f"alert: {body}")
            check(body["text"] == f"old-1 was forgotten (down past the retention period) on {SERVER}", f"text: {body}")
        finally:
            replica.close()


def check_https_receiver_down_then_back():
    """HTTPS with the test's own certificate (--webhook-cacert): three clients go down while the
    receiver's port is closed; it comes back on the same port and gets all three, once each."""
    with tempfile.TemporaryDirectory(prefix="pulse-webhooks-tls-") as directory:
        cert, key = make_certificate(directory)
        receiver = Receiver(tls=(cert, key)).start()
        url = receiver.url()
        receiver.stop()
        replica = pulse([url], "--webhook-cacert", cert)
        try:
            for client_id in ("db-1", "db-2", "db-3"):
                check(replica.beat(client_id, interval=1, grace=1).status == 201, f"beat {client_id}")
            wait_until(lambda: webhook_metrics(replica)["retried"] >= 6, ALERT_TIMEOUT_S, "retries while down")
            stats = webhook_metrics(replica)
            check(stats["sent"] == 0 and stats["queued"] == 3, f"while the receiver is down: {stats}")
            receiver.start()
            wait_accepted(receiver, 3, "three alerts after the receiver came back")
            time.sleep(SETTLE_S)
            accepted = check_keys_once_in_order(receiver)
            check(sorted(a.body["id"] for a in accepted) == ["db-1", "db-2", "db-3"], f"alerts: {accepted}")
            check(all(a.body["to"] == "down" for a in accepted), f"alerts: {accepted}")
            stats = webhook_metrics(replica)
            check(stats["sent"] == 3 and stats["failed"] == 0 and stats["queued"] == 0, f"metrics: {stats}")
        finally:
            receiver.stop()
            replica.close()


def check_https_untrusted_certificate():
    """Without --webhook-cacert the test's certificate is not trusted: nothing is delivered, the
    tries are retried, and the log says why."""
    with tempfile.TemporaryDirectory(prefix="pulse-webhooks-tls-") as directory:
        with Receiver(tls=make_certificate(directory)) as receiver:
            replica = pulse([receiver.url()])
            try:
                check(replica.beat("web-9", interval=1, grace=1).status == 201, "beat")
                wait_until(lambda: webhook_metrics(replica)["retried"] >= 2, ALERT_TIMEOUT_S, "retries")
                check(receiver.accepted() == [], f"an untrusted receiver got alerts: {receiver.snapshot()}")
                log = replica.stderr()
                check("certificate" in log.lower() or "ssl" in log.lower(), f"log: {log}")
                check("/hook/" not in log, f"the log shows the webhook's path (its secret): {log}")
            finally:
                replica.close()


def check_4xx_not_retried():
    """A 400 is the receiver's final word: one try, counted as failed, never retried."""
    with Receiver() as receiver:
        receiver.status = 400
        replica = pulse([receiver.url()])
        try:
            check(replica.beat("web-4", interval=1, grace=1).status == 201, "beat")
            wait_until(lambda: receiver.snapshot(), ALERT_TIMEOUT_S, "the alert")
            time.sleep(SETTLE_S)
            check(len(receiver.snapshot()) == 1, f"a 4xx was retried: {receiver.snapshot()}")
            stats = webhook_metrics(replica)
            check(stats == {"sent": 0, "retried": 0, "failed": 1, "dropped": 0, "queued": 0}, f"metrics: {stats}")
        finally:
            replica.close()


def check_retry_after_honoured():
    """429 with Retry-After: 1 waits a second, although the back-off base is 50 ms."""
    with Receiver() as receiver:
        receiver.plan = [429]
        receiver.retry_after = 1
        replica = pulse([receiver.url()])
        try:
            check(replica.beat("web-5", interval=1, grace=1).status == 201, "beat")
            wait_accepted(receiver, 1, "the alert")
            tries = receiver.snapshot()
            check([a.status for a in tries] == [429, 200], f"tries: {tries}")
            gap = tries[1].received - tries[0].received
            check(gap >= 0.9, f"the retry came {gap:.2f} s after a 429 with Retry-After: 1")
            check(webhook_metrics(replica)["retried"] == 1, "retried")
        finally:
            replica.close()


def check_timeout_retried():
    """A receiver that takes the request and does not answer within --webhook-timeout: the try
    ends at the timeout and is retried with the same key; the alert is accepted once."""
    with Receiver() as receiver:
        receiver.stall_first = 1
        receiver.stall_s = 3.0
        replica = pulse([receiver.url()], "--webhook-timeout", "500ms")
        try:
            check(replica.beat("web-6", interval=1, grace=1).status == 201, "beat")
            wait_accepted(receiver, 1, "the alert")
            tries = receiver.snapshot()
            check([a.status for a in tries] == [0, 200], f"tries (0: no answer): {tries}")
            check(tries[0].key == tries[1].key, f"keys: {tries}")
            gap = tries[1].received - tries[0].received
            check(0.4 <= gap < 2.5, f"the retry came {gap:.2f} s after a try that timed out after 0.5 s")
            check(webhook_metrics(replica)["retried"] == 1, "retried")
        finally:
            replica.close()


def check_full_queue_drops_and_shutdown():
    """A receiver that never answers and a queue of 2: of 5 alerts 3 are dropped and counted; at
    SIGTERM the server stops waiting, exits 0 and says how many were not delivered."""
    port = free_port()  # nothing listens there
    replica = pulse([f"http://127.0.0.1:{port}/hook"], "--webhook-queue", "2")
    try:
        for i in range(5):
            check(replica.beat(f"job-{i}", interval=1, grace=1).status == 201, f"beat job-{i}")
        wait_until(lambda: webhook_metrics(replica)["dropped"] == 3, ALERT_TIMEOUT_S, "3 dropped alerts")
        stats = webhook_metrics(replica)
        check(stats["queued"] == 2 and stats["sent"] == 0, f"metrics: {stats}")
        started = time.monotonic()
        status = replica.stop()
        took = time.monotonic() - started
        check(status == 0, f"exit status {status}")
        check(took < 8, f"shutdown took {took:.1f} s")
        log = replica.stderr()
        check("2 webhook alert deliveries were not done" in log, f"log: {log}")
        check("queue full" in log, f"log: {log}")
    finally:
        replica.close()


def check_replicas_alert_once():
    """Two replicas on one Redis, both with the webhook: a client that goes down is alerted once."""
    tools = cluster.find_redis_tools()
    if tools is None:
        print("  (skipped: Redis is not installed)")
        return
    with Receiver() as receiver, cluster.RedisServer(tools=tools) as redis:
        url = f"redis://127.0.0.1:{redis.port}"
        a = pulse([receiver.url()], name="a", presence=url)
        b = pulse([receiver.url()], name="b", presence=url)
        try:
            check(a.beat("shared-1", interval=1, grace=1).status == 201, "beat on A")
            wait_accepted(receiver, 1, "the down alert")
            time.sleep(2 * SETTLE_S)
            accepted = check_keys_once_in_order(receiver)
            check(len(accepted) == 1 and accepted[0].body["to"] == "down", f"alerts: {accepted}")
            sent = webhook_metrics(a)["sent"] + webhook_metrics(b)["sent"]
            check(sent == 1, f"the replicas sent {sent} alerts")
        finally:
            a.close()
            b.close()


def check_replicas_beat_alerts_once():
    """Two replicas on one Redis: a join and a recovery from beats, a down from a sweep, a sign-off,
    each alerted once, by the replica whose call made it (needs the Redis store's BeatResult::event)."""
    tools = cluster.find_redis_tools()
    if tools is None:
        print("  (skipped: Redis is not installed)")
        return
    with Receiver() as receiver, cluster.RedisServer(tools=tools) as redis:
        url = f"redis://127.0.0.1:{redis.port}"
        a = pulse([receiver.url()], "--webhook-joins", name="a", presence=url)
        b = pulse([receiver.url()], "--webhook-joins", name="b", presence=url)
        try:
            check(a.beat("shared-2", interval=1, grace=1).status == 201, "beat on A")
            wait_state(a, "shared-2", "down")
            check(b.beat("shared-2", interval=60, grace=60).status == 200, "beat on B")
            check(b.beat("shared-2", status="fail").status == 200, "fail beat on B")
            check(a.request("DELETE", "/heartbeat/shared-2").status == 204, "sign-off on A")
            wait_accepted(receiver, 5, "five alerts")
            time.sleep(2 * SETTLE_S)
            accepted = check_keys_once_in_order(receiver)
            got = [(x.body["event"], x.body["to"]) for x in accepted]
            # Sent by two replicas, so arrival order is only per replica: compare by sequence.
            check(sorted(got) == sorted([("join", "up"), ("change", "down"), ("change", "up"), ("change", "failing"),
                                         ("leave", None)]), f"alerts: {got}")
            sent = webhook_metrics(a)["sent"] + webhook_metrics(b)["sent"]
            check(sent == 5, f"the replicas sent {sent} alerts")
        finally:
            a.close()
            b.close()


def check_bad_flags():
    """Bad webhook flags: one line naming the flag, exit status 2."""
    for args, expected in ((["--webhook", "ftp://example.com/x"], "--webhook: only http:// and https://"),
                           (["--webhook", "example.com/hook"], "--webhook:"),
                           (["--webhook-on", "down,sideways"], "--webhook-on:"),
                           (["--server-name", "has space"], "--server-name:"),
                           (["--webhook-cacert", "/nonexistent/ca.pem"], "--webhook-cacert:")):
        result = subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=10)
        check(result.returncode == 2, f"{args}: exit status {result.returncode}")
        lines = result.stderr.strip().splitlines()
        check(len(lines) == 1 and expected in lines[0], f"{args}: {result.stderr!r}")


CHECKS = [check_bad_flags, check_order_and_retries, check_recovery_through_late_or_paused, check_expiry_alerted, check_https_receiver_down_then_back,
          check_https_untrusted_certificate, check_4xx_not_retried, check_retry_after_honoured,
          check_timeout_retried, check_full_queue_drops_and_shutdown, check_replicas_alert_once,
          check_replicas_beat_alerts_once]


def main():
    global BINARY
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    BINARY = os.path.abspath(sys.argv[1])
    wanted = set(sys.argv[2:])
    failed = 0
    for check_function in CHECKS:
        if wanted and check_function.__name__ not in wanted:
            continue
        started = time.monotonic()
        try:
            check_function()
            print(f"ok   {check_function.__name__} ({time.monotonic() - started:.1f} s)")
        except (cluster.CheckFailed, cluster.HarnessError) as error:
            failed += 1
            print(f"FAIL {check_function.__name__}: {error}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
