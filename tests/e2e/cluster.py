"""Harness for the multi-process tests of the shared presence store (replicas.py, failover.py, load.py).

Redis, Redis Sentinel and pulsehttpd run as real processes on free ports, each in a temporary folder
of its own. Every wait is bounded, every process is stopped by its PID (a `finally`, `atexit`, and
the kernel's parent-death signal if the test itself is killed), never by name.

Python standard library only.
"""

import atexit
import contextlib
import ctypes
import datetime
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

# CTest's SKIP_RETURN_CODE: Redis is not installed, so the tests cannot run here.
SKIP_EXIT = 77

START_TIMEOUT_S = 15.0       # a process to listen and answer (generous: the machine is shared)
STOP_TIMEOUT_S = 10.0        # SIGTERM to exit, before SIGKILL
HTTP_TIMEOUT_S = 5.0         # one HTTP request, unless a caller says otherwise
REDIS_TIMEOUT_S = 3.0        # one Redis command from the harness
SSE_CONNECT_TIMEOUT_S = 5.0  # an event stream's response head
SENTINEL_SETTLE_TIMEOUT_S = 30.0  # sentinels to find the replica and each other

LISTENING_RE = re.compile(r"^pulsehttpd listening on http://([0-9.]+):([0-9]+)", re.M)


class HarnessError(Exception):
    """The harness could not set something up (a process did not start, a wait ran out)."""


class CheckFailed(AssertionError):
    """A check saw the server do the wrong thing."""


def check(condition, message):
    if not condition:
        raise CheckFailed(message)


def find_redis_tools():
    """The paths of redis-server, redis-sentinel and redis-cli, or None when Redis is not installed."""
    tools = {}
    for name in ("redis-server", "redis-sentinel", "redis-cli"):
        path = shutil.which(name) or (f"/usr/bin/{name}" if os.access(f"/usr/bin/{name}", os.X_OK) else None)
        if path is None:
            return None
        tools[name] = path
    return tools


def skip_unless_redis():
    tools = find_redis_tools()
    if tools is None:
        print("skip: redis-server, redis-sentinel or redis-cli is not installed (scripts/setup.sh)")
        sys.exit(SKIP_EXIT)
    return tools


def wait_until(predicate, timeout, what, interval=0.05):
    """Calls predicate until it returns something truthy, and returns that; raises after timeout."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except (OSError, http.client.HTTPException, RedisError) as e:
            last_error = e
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error})" if last_error else ""
            raise HarnessError(f"timed out after {timeout:.1f} s waiting for {what}{detail}")
        time.sleep(interval)


def free_port():
    """A port that was free a moment ago (the caller retries if another process takes it first)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values, fraction):
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(fraction * (len(ordered) - 1)))))
    return ordered[index]


def median(values):
    return statistics.median(values) if values else float("nan")


# --- processes ----------------------------------------------------------------------------------

_live_processes = set()
_live_lock = threading.Lock()
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_PR_SET_PDEATHSIG = 1
try:
    _libc = ctypes.CDLL(None, use_errno=True)
    _prctl = _libc.prctl
except (OSError, AttributeError):
    _prctl = None


def _die_with_parent():
    # Runs in the child between fork and exec: if the test is killed (a CTest timeout sends SIGKILL,
    # which runs no finally), the kernel kills its servers too, so none is left holding a port.
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


@atexit.register
def _stop_leftovers():
    with _live_lock:
        leftovers = list(_live_processes)
    for process in leftovers:
        process.kill()


class Process:
    """One child process with its output in files; stopped by PID, with a bound on every wait."""

    def __init__(self, name, argv, directory, env=None):
        self.name = name
        self.argv = list(argv)
        self.directory = directory
        self.env = env
        self.stdout_path = os.path.join(directory, f"{name}.out")
        self.stderr_path = os.path.join(directory, f"{name}.err")
        self.popen = None
        self.paused = False

    def start(self):
        # Output goes to files, never to pipes: a pipe nobody reads would block a chatty server.
        with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
            self.popen = subprocess.Popen(self.argv, cwd=self.directory, env=self.env, stdin=subprocess.DEVNULL,
                                          stdout=out, stderr=err, preexec_fn=_die_with_parent)
        self.paused = False
        with _live_lock:
            _live_processes.add(self)

    @property
    def pid(self):
        return self.popen.pid if self.popen else None

    def alive(self):
        return self.popen is not None and self.popen.poll() is None

    def returncode(self):
        return self.popen.poll() if self.popen else None

    def send(self, sig):
        if self.alive():
            os.kill(self.popen.pid, sig)

    def pause(self):
        self.send(signal.SIGSTOP)
        self.paused = True

    def resume(self):
        self.send(signal.SIGCONT)
        self.paused = False

    def stop(self, timeout=STOP_TIMEOUT_S):
        """SIGTERM, then SIGKILL if it has not exited within timeout; returns the exit status."""
        if self.popen is None:
            return None
        if self.alive():
            if self.paused:
                self.resume()  # a stopped process cannot act on SIGTERM
            self.send(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self._reap()

    def kill(self):
        if self.popen is None:
            return None
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.popen.pid, signal.SIGKILL)
        return self._reap()

    def _reap(self):
        try:
            status = self.popen.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            status = None
        with _live_lock:
            _live_processes.discard(self)
        return status

    def cpu_seconds(self):
        """User plus system CPU time of the process so far, from /proc/PID/stat."""
        with open(f"/proc/{self.popen.pid}/stat", "rb") as f:
            stat = f.read().decode()
        # The command name (field 2) may contain spaces: fields are counted after its ')'.
        fields = stat[stat.rindex(")") + 2:].split()
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS

    def output(self, which="err", limit=4000):
        path = self.stderr_path if which == "err" else self.stdout_path
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            return ""
        return data[-limit:].decode(errors="replace")


# --- Redis --------------------------------------------------------------------------------------

class RedisError(Exception):
    """An error reply from Redis (-ERR ...), or a protocol error."""


class RedisClient:
    """A minimal RESP2 client for the harness's own commands (PING, INFO, XRANGE, SENTINEL ...)."""

    def __init__(self, port, host="127.0.0.1", timeout=REDIS_TIMEOUT_S, password=None):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.file = self.sock.makefile("rb")
        if password:
            self.command("AUTH", password)

    def close(self):
        with contextlib.suppress(OSError):
            self.file.close()
            self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def command(self, *args):
        parts = [b"*%d\r\n" % len(args)]
        for arg in args:
            data = arg if isinstance(arg, bytes) else str(arg).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        self.sock.sendall(b"".join(parts))
        return self._read_reply()

    def _read_reply(self):
        line = self.file.readline()
        if not line.endswith(b"\r\n"):
            raise RedisError("connection closed mid-reply")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            data = self.file.read(size + 2)
            return data[:-2].decode(errors="replace")
        if kind == b"*":
            count = int(rest)
            return None if count < 0 else [self._read_reply() for _ in range(count)]
        raise RedisError(f"unexpected reply {line!r}")


def redis_command(port, *args, timeout=REDIS_TIMEOUT_S):
    with RedisClient(port, timeout=timeout) as client:
        return client.command(*args)


def parse_info(text):
    info = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith("#"):
            key, value = line.split(":", 1)
            info[key] = value.strip()
    return info


class RedisServer:
    """redis-server on 127.0.0.1 and a free port, in a temporary folder of its own.

    Without persistence by default (`--save ''`); appendonly=True keeps an AOF fsynced on every
    write, so stop() then restart() on the same port and folder loses nothing acknowledged.
    """

    def __init__(self, name="redis", appendonly=False, replicaof=None, tools=None, extra_args=()):
        self.name = name
        self.tools = tools or skip_unless_redis()
        self.appendonly = appendonly
        self.replicaof = replicaof
        self.extra_args = list(extra_args)
        self._tmp = tempfile.TemporaryDirectory(prefix=f"pulse-{name}-")
        self.directory = self._tmp.name
        self.port = None
        self.process = None

    def argv(self):
        argv = [self.tools["redis-server"], "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.directory,
                "--daemonize", "no", "--save", "", "--logfile", "",
                # A replica that (re)joins syncs at once: the default waits 5 s for more replicas.
                "--repl-diskless-sync-delay", "0"]
        if self.appendonly:
            argv += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            argv += ["--appendonly", "no"]
        if self.replicaof:
            argv += ["--replicaof", "127.0.0.1", str(self.replicaof)]
        return argv + self.extra_args

    def start(self):
        """Starts on a free port (or, after a first start, on the same port) and waits for PING."""
        for _ in range(3):
            first_start = self.port is None
            if first_start:
                self.port = free_port()
            self.process = Process(self.name, self.argv(), self.directory)
            self.process.start()
            try:
                self.wait_ready()
                return self
            except HarnessError:
                output = self.process.output("out")
                self.process.kill()
                if first_start and "Address already in use" in output:
                    self.port = None  # another process took the port meanwhile: pick another
                    continue
                raise HarnessError(f"{self.name} did not start on port {self.port}:\n{output}") from None
        raise HarnessError(f"{self.name}: no free port after 3 attempts")

    def wait_ready(self, timeout=START_TIMEOUT_S):
        def pong():
            if not self.process.alive():
                raise HarnessError(f"{self.name} exited:\n{self.process.output('out')}")
            return self.command("PING", timeout=1.0) == "PONG"  # -LOADING while an AOF loads
        wait_until(pong, timeout, f"{self.name} on port {self.port} to answer PING")

    def command(self, *args, timeout=REDIS_TIMEOUT_S):
        return redis_command(self.port, *args, timeout=timeout)

    def info(self, section=""):
        return parse_info(self.command("INFO", section) if section else self.command("INFO"))

    @property
    def pid(self):
        return self.process.pid

    def pause(self):
        self.process.pause()

    def resume(self):
        self.process.resume()

    def stop(self):
        return self.process.stop() if self.process else None

    def kill(self):
        return self.process.kill() if self.process else None

    def restart(self):
        """Stops it if it runs, and starts it again on the same port and folder (and so the same AOF)."""
        self.stop()
        return self.start()

    def cpu_seconds(self):
        return self.process.cpu_seconds()

    def close(self):
        self.kill()
        self._tmp.cleanup()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


class SentinelCluster:
    """A primary, its replicas (`--replicaof`) and three sentinels watching them, on free ports.

    Each sentinel has its own folder and its own config file (a sentinel rewrites it as it learns).
    """

    def __init__(self, master_name="pulse-primary", replicas=1, sentinels=3, quorum=2, tools=None):
        self.master_name = master_name
        self.tools = tools or skip_unless_redis()
        self.quorum = quorum
        self.primary = RedisServer("primary", tools=self.tools)
        self.replicas = [RedisServer(f"replica{i + 1}", tools=self.tools) for i in range(replicas)]
        self.sentinel_count = sentinels
        self.sentinels = []  # (port, Process, TemporaryDirectory)

    @property
    def nodes(self):
        return [self.primary] + self.replicas

    def start(self):
        self.primary.start()
        for replica in self.replicas:
            replica.replicaof = self.primary.port
            replica.start()
        for replica in self.replicas:
            wait_until(lambda r=replica: r.info("replication").get("master_link_status") == "up", START_TIMEOUT_S,
                       f"{replica.name} to sync with the primary")
        for i in range(self.sentinel_count):
            self._start_sentinel(i)
        self.wait_settled()
        return self

    def _start_sentinel(self, index):
        name = f"sentinel{index + 1}"
        tmp = tempfile.TemporaryDirectory(prefix=f"pulse-{name}-")
        for attempt in range(3):
            port = free_port()
            config = os.path.join(tmp.name, "sentinel.conf")
            with open(config, "w") as f:
                f.write(f"port {port}\nbind 127.0.0.1\ndir {tmp.name}\nlogfile \"\"\n"
                        f"sentinel monitor {self.master_name} 127.0.0.1 {self.primary.port} {self.quorum}\n"
                        f"sentinel down-after-milliseconds {self.master_name} 1000\n"
                        f"sentinel failover-timeout {self.master_name} 5000\n"
                        f"sentinel parallel-syncs {self.master_name} 1\n")
            process = Process(name, [self.tools["redis-sentinel"], config], tmp.name)
            process.start()
            try:
                wait_until(lambda: process.alive() and redis_command(port, "PING", timeout=1.0) == "PONG",
                           START_TIMEOUT_S, f"{name} on port {port}")
                self.sentinels.append((port, process, tmp))
                return
            except HarnessError:
                process.kill()
                if "Address already in use" not in process.output("out"):
                    raise HarnessError(f"{name} did not start:\n{process.output('out')}")
        raise HarnessError(f"{name}: no free port after 3 attempts")

    def wait_settled(self, timeout=SENTINEL_SETTLE_TIMEOUT_S):
        """Until every sentinel knows the replicas and the other sentinels (so a failover can be agreed)."""
        def settled():
            for port, _, _ in self.sentinels:
                fields = redis_command(port, "SENTINEL", "MASTER", self.master_name, timeout=1.0)
                master = dict(zip(fields[::2], fields[1::2]))
                if int(master["num-slaves"]) < len(self.replicas) or \
                        int(master["num-other-sentinels"]) < len(self.sentinels) - 1:
                    return False
            return True
        wait_until(settled, timeout, "the sentinels to find the replicas and each other", interval=0.2)

    @property
    def sentinel_ports(self):
        return [port for port, _, _ in self.sentinels]

    def url(self):
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{self.master_name}"

    def master_port(self):
        """The primary's port as the sentinels report it (the first that answers)."""
        for port in self.sentinel_ports:
            with contextlib.suppress(OSError, RedisError):
                reply = redis_command(port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.master_name, timeout=1.0)
                if reply:
                    return int(reply[1])
        return None

    def node_on(self, port):
        return next((node for node in self.nodes if node.port == port), None)

    def sentinel_logs(self):
        return "\n".join(f"--- {p.name}\n{p.output('out', 2000)}" for _, p, _ in self.sentinels)

    def close(self):
        for _, process, tmp in self.sentinels:
            process.kill()
            tmp.cleanup()
        for node in self.nodes:
            node.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


# --- HTTP ---------------------------------------------------------------------------------------

class Response:
    def __init__(self, status, headers, body, elapsed):
        self.status = status
        self.headers = headers  # lower-case names
        self.body = body
        self.elapsed = elapsed  # seconds, request sent to body read

    @property
    def ok(self):
        return 200 <= self.status < 300

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError as e:
            raise CheckFailed(f"not JSON ({e}): {self.body[:300]!r}") from None

    def text(self):
        return self.body.decode(errors="replace")

    def __repr__(self):
        return f"<{self.status} {self.body[:200]!r}>"


class HttpClient:
    """One keep-alive connection to 127.0.0.1:port (reopened after an error or a close)."""

    def __init__(self, port, timeout=HTTP_TIMEOUT_S):
        self.port = port
        self.timeout = timeout
        self.conn = None

    def request(self, method, path, headers=None, body=None, timeout=None):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout or self.timeout)
        elif timeout is not None:
            self.conn.timeout = timeout
            if self.conn.sock:
                self.conn.sock.settimeout(timeout)
        started = time.monotonic()
        try:
            self.conn.request(method, path, body=body, headers=headers or {})
            response = self.conn.getresponse()
            data = response.read()
        except Exception:
            self.close()
            raise
        result = Response(response.status, {k.lower(): v for k, v in response.getheaders()}, data,
                          time.monotonic() - started)
        if response.will_close:
            self.close()
        return result

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def http_request(port, method, path, headers=None, body=None, timeout=HTTP_TIMEOUT_S):
    """One request on a new connection."""
    client = HttpClient(port, timeout)
    try:
        return client.request(method, path, headers, body)
    finally:
        client.close()


def parse_metrics(text):
    """Prometheus text to {name or name{labels}: value}."""
    metrics = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        with contextlib.suppress(ValueError):
            metrics[key] = float(value)
    return metrics


# --- pulsehttpd -----------------------------------------------------------------------------------

class PulseReplica:
    """pulsehttpd on 127.0.0.1, --port 0, with a presence store; stopped by PID."""

    def __init__(self, binary, name, root, presence=None, extra_args=(), env=None, threads=1):
        self.binary = binary
        self.name = name
        self.root = root
        self.presence = presence
        self.extra_args = list(extra_args)
        self.env = dict(os.environ, **(env or {}))
        self.threads = threads
        self._tmp = tempfile.TemporaryDirectory(prefix=f"pulse-replica-{name}-")
        self.process = None
        self.port = None
        self.starts = 0

    def argv(self):
        argv = [self.binary, "--bind", "127.0.0.1", "--port", "0", "--threads", str(self.threads), "--root", self.root]
        if self.presence:
            argv += ["--presence", self.presence]
        return argv + self.extra_args

    def start(self, wait_ready=True):
        self.process = Process(f"pulse-{self.name}", self.argv(), self._tmp.name, self.env)
        self.process.start()
        self.starts += 1

        def listening():
            if not self.process.alive():
                raise HarnessError(f"replica {self.name} exited at start-up (status {self.process.returncode()}):\n"
                                   f"{self.process.output()}")
            match = LISTENING_RE.search(self.process.output("out"))
            return int(match.group(2)) if match else None
        self.port = wait_until(listening, START_TIMEOUT_S, f"replica {self.name} to print its address")
        wait_until(lambda: self.get("/healthz", timeout=2.0).status == 200, START_TIMEOUT_S,
                   f"replica {self.name} /healthz")
        if wait_ready and self.presence:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=START_TIMEOUT_S):
        wait_until(lambda: self.get("/readyz", timeout=2.0).status == 200, timeout,
                   f"replica {self.name} /readyz to answer 200")

    def request(self, method, path, headers=None, body=None, timeout=HTTP_TIMEOUT_S):
        return http_request(self.port, method, path, headers, body, timeout)

    def get(self, path, timeout=HTTP_TIMEOUT_S):
        return self.request("GET", path, timeout=timeout)

    def beat(self, client_id, timeout=HTTP_TIMEOUT_S, **query):
        query_string = "&".join(f"{k}={v}" for k, v in query.items())
        return self.request("POST", f"/heartbeat/{client_id}" + (f"?{query_string}" if query_string else ""),
                            timeout=timeout)

    def client(self, client_id):
        """GET /heartbeat/{id} as a dict, or None for 404."""
        response = self.get(f"/heartbeat/{client_id}")
        if response.status == 404:
            return None
        check(response.status == 200, f"GET /heartbeat/{client_id} on {self.name}: {response}")
        return response.json()

    def listing(self):
        response = self.get("/heartbeat?limit=100000")
        check(response.status == 200, f"GET /heartbeat on {self.name}: {response}")
        return response.json()

    def metrics(self):
        response = self.get("/metrics")
        check(response.status == 200, f"GET /metrics on {self.name}: {response}")
        return parse_metrics(response.text())

    @property
    def pid(self):
        return self.process.pid

    def alive(self):
        return self.process is not None and self.process.alive()

    def cpu_seconds(self):
        return self.process.cpu_seconds()

    def stop(self):
        return self.process.stop() if self.process else None

    def kill(self):
        return self.process.kill() if self.process else None

    def stderr(self, limit=3000):
        return self.process.output("err", limit) if self.process else ""

    def close(self):
        self.kill()
        self._tmp.cleanup()


# --- server-sent events -----------------------------------------------------------------------------

def event_id_key(event_id):
    """Orders SSE ids: a number, or a Redis stream id 'MS-SEQ'."""
    if event_id is None:
        return (-1, -1)
    head, _, tail = event_id.partition("-")
    try:
        return (int(head), int(tail) if tail else 0)
    except ValueError:
        return (float("inf"), event_id)


class Event:
    __slots__ = ("id", "kind", "data", "received", "_json")

    def __init__(self, event_id, kind, data, received):
        self.id = event_id
        self.kind = kind
        self.data = data
        self.received = received  # time.monotonic()
        self._json = None

    @property
    def json(self):
        if self._json is None:
            try:
                self._json = json.loads(self.data)
            except ValueError:
                self._json = {}
        return self._json

    @property
    def client_id(self):
        """The client a join, change or leave is about."""
        document = self.json
        if self.kind == "leave":
            return document.get("id")
        return (document.get("client") or {}).get("id")

    @property
    def state(self):
        return (self.json.get("client") or {}).get("state")

    @property
    def previous(self):
        return self.json.get("previous")

    def __repr__(self):
        return f"<{self.kind} id={self.id} {self.data[:160]}>"


class SseParser:
    """Server-sent events from a byte stream (the WHATWG event-stream rules), one line at a time."""

    def __init__(self, on_event):
        self.on_event = on_event
        self.buffer = b""
        self.last_id = None
        self._kind = None
        self._data = []
        self._id = None

    def feed(self, data):
        self.buffer += data
        while True:
            end = self.buffer.find(b"\n")
            if end < 0:
                return
            line = self.buffer[:end].rstrip(b"\r").decode(errors="replace")
            self.buffer = self.buffer[end + 1:]
            self._line(line)

    def _line(self, line):
        if line == "":
            if self._data or self._kind:
                if self._id is not None:
                    self.last_id = self._id
                self.on_event(Event(self._id, self._kind or "message", "\n".join(self._data), time.monotonic()))
            self._kind, self._data, self._id = None, [], None
            return
        if line.startswith(":"):
            return  # a comment: the keep-alive
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "event":
            self._kind = value
        elif field == "data":
            self._data.append(value)
        elif field == "id":
            self._id = value


class ChunkedDecoder:
    """Undoes HTTP/1.1 chunked framing incrementally."""

    def __init__(self, sink):
        self.sink = sink
        self.buffer = b""
        self.state = "size"  # size line, then chunk data, then the CRLF after it
        self.remaining = 0
        self.done = False

    def feed(self, data):
        self.buffer += data
        while not self.done:
            if self.state == "size":
                end = self.buffer.find(b"\r\n")
                if end < 0:
                    return
                size = int(self.buffer[:end].split(b";")[0].strip() or b"0", 16)
                self.buffer = self.buffer[end + 2:]
                if size == 0:
                    self.done = True
                    return
                self.remaining, self.state = size, "data"
            elif self.state == "data":
                if not self.buffer:
                    return
                take = self.buffer[:self.remaining]
                self.buffer = self.buffer[len(take):]
                self.remaining -= len(take)
                self.sink(take)
                if self.remaining == 0:
                    self.state = "crlf"
            else:
                if len(self.buffer) < 2:
                    return
                self.buffer = self.buffer[2:]
                self.state = "size"


class EventWatcher:
    """A /heartbeat/events stream read by a thread of its own; its events are kept, in order.

    With reconnect=True it behaves like a browser's EventSource: when the stream ends it reconnects
    (to the same replica) with Last-Event-ID, and every (re)connection is recorded.
    """

    def __init__(self, port, name="watcher", last_event_id=None, reconnect=False, keep_beats=False):
        self.port = port
        self.name = name
        self.reconnect = reconnect
        self.keep_beats = keep_beats  # `beats` digests are many and large; kept only when asked
        self.events = []
        self.connections = []  # (status, last_event_id sent) per connection
        self.error = None
        self.ended = False
        self._last_id = last_event_id
        self._cond = threading.Condition()
        self._closing = False
        self._sock = None
        self._thread = None

    def start(self, timeout=SSE_CONNECT_TIMEOUT_S):
        """Connects and waits for the response head; raises when it is not 200."""
        status = self._connect(timeout)
        if status != 200:
            raise CheckFailed(f"{self.name}: GET /heartbeat/events answered {status}")
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        return self

    def _connect(self, timeout):
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        request = f"GET /heartbeat/events HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nAccept: text/event-stream\r\n"
        if self._last_id is not None:
            request += f"Last-Event-ID: {self._last_id}\r\n"
        sock.sendall((request + "\r\n").encode())
        head = b""
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in head:
            if time.monotonic() > deadline:
                sock.close()
                raise HarnessError(f"{self.name}: no response head within {timeout} s")
            chunk = sock.recv(65536)
            if not chunk:
                sock.close()
                raise HarnessError(f"{self.name}: closed before the response head: {head!r}")
            head += chunk
        head, _, rest = head.partition(b"\r\n\r\n")
        lines = head.decode(errors="replace").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        self.connections.append((status, self._last_id))
        if status != 200:
            sock.close()
            return status
        parser = SseParser(self._on_event)
        self._parser = parser
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        self._decoder = ChunkedDecoder(parser.feed) if chunked else None
        self._feed(rest)
        sock.settimeout(0.25)
        self._sock = sock
        return status

    def _feed(self, data):
        if self._decoder is not None:
            self._decoder.feed(data)
        else:
            self._parser.feed(data)

    def _on_event(self, event):
        if event.kind == "beats" and not self.keep_beats:
            return
        with self._cond:
            if event.id is not None:
                self._last_id = event.id
            self.events.append(event)
            self._cond.notify_all()

    def _run(self):
        while not self._closing:
            try:
                data = self._sock.recv(262144)
            except socket.timeout:
                continue
            except OSError as e:
                data = b""
                if not self._closing:
                    self.error = f"{type(e).__name__}: {e}"
            if data:
                self._feed(data)
                if self._decoder is None or not self._decoder.done:
                    continue
            # The stream ended (the replica closed it, or died).
            with contextlib.suppress(OSError):
                self._sock.close()
            if self._closing or not self.reconnect:
                break
            if not self._reconnect():
                break
        with self._cond:
            self.ended = True
            self._cond.notify_all()

    def _reconnect(self, attempts=60, delay=0.5):
        for _ in range(attempts):
            if self._closing:
                return False
            time.sleep(delay)
            try:
                if self._connect(SSE_CONNECT_TIMEOUT_S) == 200:
                    return True
            except (OSError, HarnessError):
                pass
        self.error = f"could not reconnect after {attempts} attempts"
        return False

    def close(self):
        self._closing = True
        if self._thread is not None:
            self._thread.join(5.0)
        with contextlib.suppress(OSError, AttributeError):
            self._sock.close()

    @property
    def last_id(self):
        with self._cond:
            return self._last_id

    def snapshot_events(self):
        with self._cond:
            return list(self.events)

    def wait_for(self, predicate, timeout, what):
        """The first event (in arrival order) matching predicate; raises CheckFailed after timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for event in self.events:
                    if predicate(event):
                        return event
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.ended and not self.reconnect):
                    seen = ", ".join(repr(e) for e in self.events[-5:])
                    raise CheckFailed(f"{self.name}: no {what} within {timeout:.1f} s"
                                      f"{' (stream ended: ' + str(self.error) + ')' if self.ended else ''};"
                                      f" last events: {seen or 'none'}")
                self._cond.wait(min(remaining, 0.25))

    def wait_first(self, timeout=SSE_CONNECT_TIMEOUT_S):
        """The first event (the snapshot, or the replay after Last-Event-ID): the stream is registered."""
        return self.wait_for(lambda e: True, timeout, "first event")

    def about(self, client_id, kinds=("join", "change", "leave")):
        return [e for e in self.snapshot_events() if e.kind in kinds and e.client_id == client_id]


def watchers_on(replicas, **kwargs):
    watchers = [EventWatcher(r.port, name=f"watcher on {r.name}", **kwargs).start() for r in replicas]
    for watcher in watchers:
        watcher.wait_first()
    return watchers


# --- running checks ------------------------------------------------------------------------------

class Watchdog:
    """Raises HarnessError in the main thread once the whole run exceeds its bound (SIGALRM), so
    every `finally` still stops its processes; a second alarm ends the process outright."""

    def __init__(self, seconds, what):
        self.seconds = seconds
        self.what = what

    def _fire(self, signum, frame):
        signal.signal(signal.SIGALRM, lambda *_: os._exit(3))
        signal.alarm(15)
        raise HarnessError(f"{self.what} ran out of its {self.seconds} s bound")

    def __enter__(self):
        signal.signal(signal.SIGALRM, self._fire)
        signal.alarm(int(self.seconds))
        return self

    def __exit__(self, *exc):
        signal.alarm(0)


def run_checks(checks, selected=None):
    """Runs each check (name, function); prints ok/FAIL lines; returns the process exit status."""
    failures = []
    for name, function in checks:
        if selected and name not in selected:
            continue
        started = time.monotonic()
        try:
            function()
            print(f"ok: {name} ({time.monotonic() - started:.1f} s)", flush=True)
        except (CheckFailed, HarnessError) as e:
            kind = "FAIL" if isinstance(e, CheckFailed) else "FAIL (harness)"
            print(f"{kind}: {name}: {e}", flush=True)
            failures.append(name)
    if failures:
        print(f"{len(failures)} check(s) failed: {', '.join(failures)}", flush=True)
        return 1
    return 0


def make_root(directory):
    """A document root with a small file for static-file latency probes."""
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "small.txt"), "w") as f:
        f.write("pulse static file\n" * 8)
    with open(os.path.join(directory, "index.html"), "w") as f:
        f.write("<!doctype html><title>pulse</title>\n")
    return directory


def parse_iso8601(text):
    """The server's '2024-05-01T12:00:00.123Z' as seconds since the epoch."""
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


class ReplicaSet:
    """Pulse replicas (A, B, C, ...) on one Redis, each in its own folder, all stopped on exit."""

    def __init__(self, binary, names="ABC", redis=None, redis_args=None, extra_args=(), threads=1):
        self.tmp = tempfile.TemporaryDirectory(prefix="pulse-replicas-")
        self.root = make_root(os.path.join(self.tmp.name, "www"))
        self.redis = redis or RedisServer(**(redis_args or {}))
        self.replicas = [PulseReplica(binary, name, self.root, extra_args=extra_args, threads=threads)
                         for name in names]
        self.watchers = []

    def __enter__(self):
        try:
            self.redis.start()
            for replica in self.replicas:
                replica.presence = f"redis://127.0.0.1:{self.redis.port}"
                replica.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and issubclass(exc_type, (CheckFailed, HarnessError)):
            self.print_logs()
        self.close()

    def __getitem__(self, name):
        return next(r for r in self.replicas if r.name == name)

    def watch(self, replicas=None, **kwargs):
        """Event watchers, one per replica (all by default), each past its first event."""
        watchers = watchers_on(replicas or self.replicas, **kwargs)
        self.watchers += watchers
        return watchers

    def print_logs(self):
        for replica in self.replicas:
            text = replica.stderr(2000).strip()
            if text:
                print(f"--- stderr of replica {replica.name} (pid {replica.pid}, last lines)\n{text}", flush=True)

    def close(self):
        for watcher in self.watchers:
            watcher.close()
        for replica in self.replicas:
            replica.close()
        self.redis.close()
        self.tmp.cleanup()


class Beat:
    __slots__ = ("sent", "elapsed", "replica", "client_id", "status", "retry_after", "body", "error")

    def __init__(self, sent, elapsed, replica, client_id, status=None, retry_after=None, body=None, error=None):
        self.sent = sent  # time.monotonic() when sent
        self.elapsed = elapsed
        self.replica = replica
        self.client_id = client_id
        self.status = status  # None: no answer (error says why)
        self.retry_after = retry_after
        self.body = body  # the JSON answer, or None
        self.error = error

    @property
    def ok(self):
        return self.status is not None and 200 <= self.status < 300

    def __repr__(self):
        what = self.status if self.status is not None else self.error
        return f"<beat {self.client_id} via {self.replica}: {what} in {self.elapsed * 1000:.0f} ms>"


class BeatLoop:
    """A thread beating ids round robin across replicas, each id every `period` seconds, over one
    keep-alive connection per replica; every answer (or failure) is recorded."""

    def __init__(self, replicas, ids, query="", period=1.0, timeout=HTTP_TIMEOUT_S):
        self.replicas = replicas
        self.ids = list(ids)
        self.query = query
        self.period = period
        self.timeout = timeout
        self.beats = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._paused = set()
        self._thread = threading.Thread(target=self._run, name="beat-loop", daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stopping.set()
        self._thread.join(self.timeout + 5)

    def stop_ids(self, ids):
        with self._lock:
            self._paused.update(ids)

    def results(self):
        with self._lock:
            return list(self.beats)

    def _run(self):
        clients = {r.name: HttpClient(r.port, self.timeout) for r in self.replicas}
        turn = 0
        next_round = time.monotonic()
        while not self._stopping.is_set():
            for client_id in self.ids:
                if self._stopping.is_set():
                    break
                with self._lock:
                    if client_id in self._paused:
                        continue
                replica = self.replicas[turn % len(self.replicas)]
                turn += 1
                if not replica.alive():
                    continue
                self._record(self._beat(clients[replica.name], replica.name, client_id))
            next_round += self.period
            self._stopping.wait(max(0.0, next_round - time.monotonic()))
            next_round = max(next_round, time.monotonic() - self.period)
        for client in clients.values():
            client.close()

    def _beat(self, client, replica_name, client_id):
        path = f"/heartbeat/{client_id}" + (f"?{self.query}" if self.query else "")
        sent = time.monotonic()
        try:
            response = client.request("POST", path)
        except (OSError, http.client.HTTPException) as e:
            return Beat(sent, time.monotonic() - sent, replica_name, client_id, error=f"{type(e).__name__}: {e}")
        body = None
        with contextlib.suppress(ValueError):
            body = json.loads(response.body)
        return Beat(sent, response.elapsed, replica_name, client_id, response.status,
                    response.headers.get("retry-after"), body)

    def _record(self, beat):
        with self._lock:
            self.beats.append(beat)
