"""Replicas behind HAProxy (issue 14): throughput with 1, 2 and 3 spouge servers, and the SIGTERM/SIGKILL drill.

    python3 bench/replicas.py [--quick] [--only throughput,digits,drill]

Needs Debian's haproxy, redis-benchmark (redis-tools) and wrk.  Runs the shipped
deploy/haproxy.cfg unmodified (its addresses come from the environment) in
front of spouge servers on loopback, and prints Markdown for BENCHMARKS.md.

Also the library of tests/test_haproxy.py: ``Replicas`` (haproxy + N servers,
the runtime API) and ``Load`` (redis-py and urllib3 clients in threads that
record every failed request with the backend its connection was on).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from server_harness import free_port, read_reply, resp_command  # noqa: E402

CFG = os.path.join(ROOT, "deploy", "haproxy.cfg")
SERVERS = ("s1", "s2", "s3")  # the server lines of deploy/haproxy.cfg


def haproxy_binary() -> str | None:
    return shutil.which("haproxy") or (os.path.exists("/usr/sbin/haproxy") and "/usr/sbin/haproxy") or None


class Backend:
    """One `spouge serve` on a fixed loopback port (restartable on the same port)."""

    def __init__(self, name: str, port: int, args: tuple[str, ...], workdir: str) -> None:
        self.name, self.port, self.args, self.workdir = name, port, args, workdir
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        cmd = [sys.executable, "-m", "spouge", "serve", "--port", str(self.port), "--log-level", "warning", *self.args]
        env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
        with open(os.path.join(self.workdir, f"{self.name}.{self.starts}.log"), "wb") as log:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log, env=env)
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} did not start: {self.log()}") from None
                time.sleep(0.05)

    def log(self) -> str:
        with open(os.path.join(self.workdir, f"{self.name}.{self.starts}.log"), "rb") as f:
            return f.read().decode(errors="replace")

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 30.0) -> int:
        return self.proc.wait(timeout)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def request(self, data: bytes, timeout: float = 10.0) -> bytes:
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(data)
            return read_reply(s, timeout)

    def metrics(self) -> dict[str, float]:
        """This server's /metrics, asked directly (not through haproxy): {'name{labels}': value}."""
        raw = self.request(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        out = {}
        for line in raw.split(b"\r\n\r\n", 1)[1].decode().splitlines():
            if line and not line.startswith("#"):
                key, value = line.rsplit(" ", 1)
                out[key] = float(value)
        return out

    def computed(self) -> float:
        """Factorial requests this server answered (RESP and HTTP), from its own metrics."""
        return sum(v for k, v in self.metrics().items() if k.startswith("spouge_requests_total") and "actorial" in k)

    def stop(self) -> None:
        if self.alive():
            self.proc.kill()
            self.proc.wait()


class Replicas:
    """haproxy (deploy/haproxy.cfg as shipped) in front of len(SERVERS) backends; `active` of them started."""

    def __init__(self, workdir: str, active: int = 3, server_args: tuple[str, ...] = ("--jobs", "1"),
                 check: str = "http") -> None:
        import tempfile

        workdir = tempfile.mkdtemp(prefix="replicas-", dir=workdir)  # this instance's socket and logs
        self.workdir = workdir
        self.port = free_port()
        self.sock = os.path.join(workdir, "haproxy.sock")
        self.backends = {name: Backend(name, free_port(), server_args, workdir) for name in SERVERS}
        self.active = active
        self.check = check
        self.haproxy: subprocess.Popen | None = None

    def env(self) -> dict:
        env = {**os.environ, "SPOUGE_BIND": f"127.0.0.1:{self.port}", "SPOUGE_ADMIN_SOCK": self.sock}
        env.pop("SPOUGE_CHECK_PING", None)
        if self.check == "ping":
            env["SPOUGE_CHECK_PING"] = "1"
        for i, backend in enumerate(self.backends.values(), 1):
            env[f"SPOUGE_S{i}"] = f"127.0.0.1:{backend.port}"
        return env

    def __enter__(self) -> Replicas:
        try:
            for name in SERVERS[: self.active]:
                self.backends[name].start()
            binary = haproxy_binary()
            check = subprocess.run([binary, "-c", "-q", "-f", CFG], env=self.env(), capture_output=True, text=True,
                                   check=False)
            if check.returncode:
                raise RuntimeError(f"haproxy -c rejected {CFG}: {check.stdout}{check.stderr}")
            self.haproxy_log = open(os.path.join(self.workdir, "haproxy.log"), "wb")
            self.haproxy = subprocess.Popen([binary, "-W", "-db", "-f", CFG], env=self.env(), stdout=self.haproxy_log,
                                            stderr=subprocess.STDOUT)
            deadline = time.monotonic() + 20
            while not os.path.exists(self.sock):
                if self.haproxy.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"haproxy did not start: {self.haproxy_text()}")
                time.sleep(0.05)
            for name in SERVERS[self.active:]:  # not started: in maintenance, so no connection tries them
                self.admin(f"set server spouge/{name} state maint")
            for name in SERVERS[: self.active]:
                self.wait_status(name, "UP")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self.haproxy is not None and self.haproxy.poll() is None:
            self.haproxy.terminate()
            try:
                self.haproxy.wait(10)
            except subprocess.TimeoutExpired:
                self.haproxy.kill()
                self.haproxy.wait()
        for backend in self.backends.values():
            backend.stop()

    def haproxy_text(self) -> str:
        with open(os.path.join(self.workdir, "haproxy.log"), "rb") as f:
            return f.read().decode(errors="replace")

    # --- the runtime API ---------------------------------------------------------
    def admin(self, command: str) -> str:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(10)
            s.connect(self.sock)
            s.sendall(command.encode() + b"\n")
            out = b""
            while chunk := s.recv(65536):
                out += chunk
        return out.decode()

    def stats(self) -> dict[str, dict[str, str]]:
        """`show stat` per server: {'s1': {'status': 'UP', 'scur': '3', ...}}."""
        lines = self.admin("show stat").splitlines()
        header = lines[0].lstrip("# ").split(",")
        rows = {}
        for line in lines[1:]:
            fields = dict(zip(header, line.split(","), strict=False))  # a short or odd line: its fields only
            if fields.get("pxname") == "spouge" and fields.get("svname") in SERVERS:
                rows[fields["svname"]] = fields
        return rows

    def status(self, name: str) -> str:
        return self.stats()[name]["status"]

    def wait_status(self, name: str, want: str, timeout: float = 15.0) -> float:
        """Wait until haproxy reports server `name` as `want` (UP/DOWN, ignoring transitions): seconds waited."""
        start = time.monotonic()
        while True:
            status = self.status(name)
            if status == want:
                return time.monotonic() - start
            if time.monotonic() - start > timeout:
                raise AssertionError(f"haproxy still has {name} {status!r}, not {want!r}, after {timeout} s")
            time.sleep(0.05)

    def logged_sessions(self) -> dict[int, str]:
        """Every client connection haproxy has finished, from its log: {client's local port: server name}.

        (Ports are reused, so the last session on a port wins: drills are short.)"""
        out = {}
        for m in re.finditer(r"127\.0\.0\.1:(\d+) \[[^]]+\] spouge spouge/(\S+) ", self.haproxy_text()):
            out[int(m.group(1))] = m.group(2)
        return out

    def sessions(self) -> dict[int, str]:
        """Client connections haproxy holds: {client's local port: server name}."""
        out = {}
        for m in re.finditer(r"src=127\.0\.0\.1:(\d+) fe=spouge be=spouge srv=(\w+)", self.admin("show sess")):
            out[int(m.group(1))] = m.group(2)
        return out


# --- load: real clients in threads ------------------------------------------------
def _redis_tracked_connection(owner):
    import redis

    class TrackedConnection(redis.Connection):
        """redis-py's connection, telling its owner the local port of each new socket (its haproxy session)."""

        def _connect(self):
            sock = super()._connect()
            owner.port = sock.getsockname()[1]
            return sock

    return TrackedConnection


def _urllib3_tracked_connection(owner):
    import urllib3

    class TrackedConnection(urllib3.connection.HTTPConnection):
        def connect(self):
            super().connect()
            owner.port = self.sock.getsockname()[1]

    return TrackedConnection


class Client(threading.Thread):
    """One client with one connection at a time (its library's pool of one), asking FACTORIAL x for x in a cycle.

    Libraries as an application would use them: redis-py (its pool checks a connection
    for EOF before reusing it) and urllib3 (likewise).  `retries`: how many times the
    library itself retries a request whose connection broke (redis-py's Retry on
    ConnectionError, urllib3's Retry on a read/connect error of a GET: both libraries
    retry by default); 0 counts every broken connection as a failed request.
    `retried` counts the broken attempts either way.  After a failure the next
    request opens a new connection.  Answers are checked against `expected`."""

    def __init__(self, kind: str, port: int, index: int, expected: dict[int, str], retries: int = 0) -> None:
        super().__init__(daemon=True, name=f"{kind}-{index}")
        self.kind, self.index, self.expected = kind, index, expected
        self.xs = sorted(expected)
        self.ok = 0
        self.failures: list[dict] = []
        self.after_failure: list[bool] = []  # for each failure: did the client's next request succeed?
        self.wrong: list[str] = []
        self.stop_event = threading.Event()
        self.paused = threading.Event()
        self.port: int | None = None
        self.retried = 0
        self.retries_allowed = retries
        if kind == "resp":
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry

            owner = self

            class CountingRetry(Retry):
                def call_with_retry(self, do, fail, *args, **kwargs):
                    def counted(*error):
                        owner.retried += 1
                        return fail(*error)

                    return super().call_with_retry(do, counted, *args, **kwargs)

            pool = redis.ConnectionPool(host="127.0.0.1", port=port, max_connections=1, socket_timeout=30,
                                        connection_class=_redis_tracked_connection(self),
                                        retry=CountingRetry(NoBackoff(), retries))
            self.client = redis.Redis(connection_pool=pool)
            self.pool = pool
        else:
            import urllib3

            policy = (urllib3.Retry(total=retries, connect=retries, read=retries, status=0, redirect=0, other=0)
                      if retries else False)
            self.pool = urllib3.HTTPConnectionPool("127.0.0.1", port, maxsize=1, block=True, retries=policy, timeout=30)
            self.pool.ConnectionCls = _urllib3_tracked_connection(self)

    def local_port(self) -> int | None:
        """The local port of this client's newest connection (its pool holds one)."""
        return self.port

    def one(self, x: int) -> str:
        if self.kind == "resp":
            return self.client.execute_command("FACTORIAL", x).decode()
        try:
            response = self.pool.request("GET", f"/v1/factorial?x={x}")
        except Exception:
            self.retried += 1 + self.retries_allowed
            raise
        if response.retries is not None:
            self.retried += len(response.retries.history)
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {response.data[:200]!r}")
        return json.loads(response.data)["value"]

    def run(self) -> None:
        i = self.index
        failed = False
        while not self.stop_event.is_set():
            if self.paused.is_set():
                time.sleep(0.01)
                continue
            x = self.xs[i % len(self.xs)]
            i += 1
            try:
                value = self.one(x)
            except Exception as exc:  # every failure is recorded
                if failed:
                    self.after_failure[-1] = False
                # the port of the connection that broke (a reconnect inside the attempt set it)
                self.failures.append({"t": time.monotonic(), "port": self.local_port(),
                                      "error": f"{type(exc).__name__}: {exc}"[:200]})
                self.after_failure.append(None)
                failed = True
                continue
            if failed:
                self.after_failure[-1] = True
                failed = False
            if value != self.expected[x]:
                self.wrong.append(f"{x}: {value!r}")
            self.ok += 1


class Load:
    """`resp` redis-py clients and `http` urllib3 clients through haproxy, in threads."""

    def __init__(self, replicas: Replicas, resp: int = 6, http: int = 6, retries: int = 0) -> None:
        self.replicas = replicas
        backend = next(b for b in replicas.backends.values() if b.alive())
        self.expected = expected_values(backend.port, range(20, 60))
        self.clients = [Client("resp", replicas.port, i, self.expected, retries) for i in range(resp)]
        self.clients += [Client("http", replicas.port, i, self.expected, retries) for i in range(http)]

    def __enter__(self) -> Load:
        for c in self.clients:
            c.start()
        return self

    def __exit__(self, *exc) -> None:
        for c in self.clients:
            c.stop_event.set()
        for c in self.clients:
            c.join(60)

    def ok(self) -> int:
        return sum(c.ok for c in self.clients)

    def retried(self) -> int:
        return sum(c.retried for c in self.clients)

    def failures(self) -> list[dict]:
        return [dict(f, client=c.name) for c in self.clients for f in c.failures]

    def wait_requests(self, n: int, timeout: float = 60.0) -> None:
        target = self.ok() + n
        deadline = time.monotonic() + timeout
        while self.ok() < target:
            if time.monotonic() > deadline:
                raise AssertionError(f"load stalled: {self.ok()} of {target} requests answered")
            time.sleep(0.02)

    def placement(self) -> dict[str, str]:
        """{client name: server name} from haproxy's sessions (clients with a connection open)."""
        sessions = self.replicas.sessions()
        return {c.name: sessions.get(c.local_port(), "?") for c in self.clients}


def expected_values(port: int, xs) -> dict[int, str]:
    """The answers, asked of one server directly over RESP (every replica must give the same)."""
    out = {}
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        for x in xs:
            s.sendall(resp_command("FACTORIAL", x))
            reply = b""
            while not reply.endswith(b"\r\n") or reply.count(b"\r\n") < 2:
                reply += s.recv(4096)
            out[x] = reply.split(b"\r\n")[1].decode()
    return out


def drill(replicas: Replicas, victim: str, sig: int, settle: int = 2000, retries: int = 0) -> dict:
    """Under load: send `sig` to `victim`, keep the load on, restart it, open new clients; the counts."""
    backend = replicas.backends[victim]
    with Load(replicas, retries=retries) as load:
        load.wait_requests(settle)
        placement = load.placement()
        on_victim = sorted(name for name, srv in placement.items() if srv == victim)
        before = load.ok()
        t_signal = time.monotonic()
        backend.signal(sig)
        code = backend.wait(30)
        t_exit = time.monotonic()
        marked_down = replicas.wait_status(victim, "DOWN")
        load.wait_requests(settle)
        during = load.ok() - before
        failures = load.failures()
        backend.start()
        marked_up = replicas.wait_status(victim, "UP")
        served_before = backend.computed()
        # New clients (leastconn sends them to the server with the fewest connections: the restarted one).
        fresh = Load(replicas, resp=3, http=3)
        with fresh:
            fresh.wait_requests(settle // 2)
            fresh_placement = fresh.placement()
        served_after = backend.computed()
        logged = replicas.logged_sessions()
        return {
            "signal": signal.Signals(sig).name, "exit_code": code, "exit_seconds": round(t_exit - t_signal, 3),
            "down_after_exit_seconds": round(marked_down, 3), "up_after_restart_seconds": round(marked_up, 3),
            "retries": retries, "broken_attempts": load.retried(),
            "retried_clients": sorted(c.name for c in load.clients if c.retried),
            "clients": len(load.clients), "clients_on_victim": on_victim, "placement": placement,
            "requests_while_down": during, "ok_total": load.ok(), "failures": failures,
            "failed_clients": sorted({f["client"] for f in failures}),
            "failure_servers": sorted({logged.get(f["port"], "?") for f in failures}),
            "failure_window_seconds": round(max((f["t"] for f in failures), default=t_signal) - t_signal, 3),
            "recovered": [x for c in load.clients for x in c.after_failure],
            "recovered_in_the_end": all(c.after_failure[-1] for c in load.clients if c.after_failure),
            "wrong": [w for c in load.clients + fresh.clients for w in c.wrong],
            "fresh_placement": fresh_placement, "victim_served_after_restart": served_after - served_before,
            "fresh_ok": fresh.ok(), "fresh_failures": fresh.failures(),
        }


# --- throughput ---------------------------------------------------------------------
def redis_benchmark(port: int, seconds_hint: int, clients: int = 50, x: int = 20) -> float:
    n = seconds_hint
    out = subprocess.run(["redis-benchmark", "-p", str(port), "-c", str(clients), "-n", str(n), "-q", "FACTORIAL",
                          str(x)],
                         capture_output=True, text=True, check=False, timeout=600).stdout
    m = re.search(r"([\d.]+) requests per second", out.replace("\r", "\n").splitlines()[-1] if out else "")
    if not m:
        m = re.findall(r"([\d.]+) requests per second", out)
        return float(m[-1]) if m else float("nan")
    return float(m.group(1))


def wrk(port: int, path: str, seconds: int, connections: int = 50) -> tuple[float, int]:
    """(requests/s, requests) of wrk -t2 on one path."""
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", f"http://127.0.0.1:{port}{path}"],
                         capture_output=True, text=True, check=False, timeout=seconds + 60).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", out)
    if errors:
        raise RuntimeError(f"wrk saw errors: {errors.group(0)}")
    return (float(m.group(1)) if m else float("nan")), (int(total.group(1)) if total else 0)


def throughput(workdir: str, quick: bool) -> list[tuple]:
    """1, 2, 3 servers behind haproxy, and 1 server direct (haproxy's cost), alternating, medians of repeats.

    Also the CPU each request cost the servers (loop + compute worker) and haproxy, from /proc:
    on a shared 2-core machine the rates move with the neighbours' load, the CPU per request much less."""
    repeats = 1 if quick else 3
    n = 20000 if quick else 100000
    seconds = 3 if quick else 8
    rows = {k: {"resp": [], "http": [], "server_us": [], "haproxy_us": []} for k in ("direct", 1, 2, 3)}

    def run(row, port, server_pids, haproxy_pids):
        cpu_s, cpu_h = cpu_seconds(server_pids), cpu_seconds(haproxy_pids)
        row["resp"].append(redis_benchmark(port, n))
        rate, done = wrk(port, "/v1/factorial?x=20", seconds)
        row["http"].append(rate)
        requests = n + done
        row["server_us"].append((cpu_seconds(server_pids) - cpu_s) / requests * 1e6)
        if haproxy_pids:
            row["haproxy_us"].append((cpu_seconds(haproxy_pids) - cpu_h) / requests * 1e6)

    for _ in range(repeats):
        for active in (1, 2, 3):
            with Replicas(workdir, active=active) as reps:
                servers = [p for b in reps.backends.values() if b.alive() for p in process_tree(b.proc.pid)]
                haproxy = process_tree(reps.haproxy.pid)
                run(rows[active], reps.port, servers, haproxy)
                if active == 1:
                    run(rows["direct"], reps.backends["s1"].port, servers, [])
    med = lambda v: statistics.median(v) if v else float("nan")  # noqa: E731
    return [(k, med(v["resp"]), med(v["http"]), v["resp"], v["http"], med(v["server_us"]), med(v["haproxy_us"]))
            for k, v in rows.items()]


DIGITS = (16, 100, 1000, 10000)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used so far."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / tick


def process_tree(pid: int) -> list[int]:
    out = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            out += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return out


def per_digits(workdir: str, quick: bool) -> list[tuple]:
    """One server behind haproxy (--jobs 1, cache off), GAMMA at a new x every request, at each digits.

    wrk walks x = 1.5 + k/1000 (a Lua script), so no answer is ever reused.  Returns
    (digits, requests/s, CPU seconds the server used per second (loop + compute worker),
    requests per CPU-second of the server = requests/s per core, errors)."""
    rows = []
    script = os.path.join(workdir, "walk.lua")
    for digits in DIGITS:
        seconds = (3 if quick else 10) if digits < 10000 else (10 if quick else 30)
        with open(script, "w") as f:
            f.write("local thread_id = 0\n"
                    "function setup(t) t:set('id', thread_id); thread_id = thread_id + 1 end\n"
                    "function init(args) counter = tonumber(wrk.thread:get('id')) * 10000000 end\n"
                    "function request() counter = counter + 1\n"
                    f"  return wrk.format('GET', '/v1/gamma?x=' .. (1.5 + counter / 1000) .. '&digits={digits}') end\n")
        with Replicas(workdir, active=1, server_args=("--jobs", "1", "--cache-size", "0")) as reps:
            pids = process_tree(reps.backends["s1"].proc.pid)
            cpu0 = cpu_seconds(pids)
            out = subprocess.run(["wrk", "-t2", "-c8", f"-d{seconds}s", "--timeout", "60s", "-s", script,
                                  f"http://127.0.0.1:{reps.port}/"], capture_output=True, text=True, check=False,
                                  timeout=seconds + 300).stdout
            cpu = cpu_seconds(pids) - cpu0
            m = re.search(r"Requests/sec:\s+([\d.]+)", out)
            total = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
            errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            socket_errors = re.search(r"Socket errors: (.*)", out)
            n = int(total.group(1)) if total else 0
            rate = float(m.group(1)) if m else float("nan")
            rows.append((digits, rate, cpu / seconds, n / cpu if cpu else float("nan"),
                         (errors.group(1) if errors else "0")
                         + (f"; {socket_errors.group(1)}" if socket_errors else "")))
    return rows


def main() -> None:
    import tempfile

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="throughput,digits,drill")
    args = ap.parse_args()
    only = set(args.only.split(","))
    if not haproxy_binary():
        sys.exit("replicas: haproxy is not installed (apt-get install -y haproxy)")
    version = subprocess.run([haproxy_binary(), "-v"], capture_output=True, text=True,
                             check=False).stdout.splitlines()[0]
    print(f"{platform.node()}: {os.cpu_count()} cores, {version}; load average at start {os.getloadavg()[0]:.1f}\n")
    with tempfile.TemporaryDirectory(prefix="spouge-replicas-") as workdir:
        if "throughput" in only:
            print("| servers behind haproxy | redis-benchmark -c 50 FACTORIAL 20 (req/s) "
                  "| wrk -c 50 /v1/factorial?x=20 (req/s) "
                  "| servers' CPU per request | haproxy's CPU per request |")
            print("|---|---|---|---|---|")
            for k, resp_rate, http_rate, r_all, h_all, server_us, haproxy_us in throughput(workdir, args.quick):
                label = "1, direct (no haproxy)" if k == "direct" else str(k)
                print(f"| {label} | {resp_rate:,.0f} ({', '.join(f'{v:,.0f}' for v in r_all)}) | {http_rate:,.0f} "
                      f"({', '.join(f'{v:,.0f}' for v in h_all)}) | {server_us:.1f} µs | "
                      + ("-" if math.isnan(haproxy_us) else f"{haproxy_us:.1f} µs") + " |")
            print()
        if "digits" in only:
            print("| digits | req/s, one server (--jobs 1) | server CPU used (cores) "
                  "| req/s per core (per CPU-second) | errors |")
            print("|---|---|---|---|---|")
            for digits, rate, cores, per_core, errors in per_digits(workdir, args.quick):
                print(f"| {digits} | {rate:,.1f} | {cores:.2f} | {per_core:,.1f} | {errors} |")
            print()
        if "drill" in only:
            runs = 1 if args.quick else 5
            print(f"Drill: 12 clients through haproxy (6 redis-py, 6 urllib3, one connection each, FACTORIAL x / "
                  f"GET /v1/factorial?x= for x in 20..59), signal to s2 after 2000 answers, {runs} runs each:\n")
            print("| signal | client retries | clients on s2 | failed requests per run | broken connections per run | "
                  "failures on other servers | next request after a failure ok | wrong answers | "
                  "s2 DOWN after exit (s) | "
                  "restarted s2: UP after (s), share of 6 new clients |")
            print("|---|---|---|---|---|---|---|---|---|---|")
            for sig, retries in ((signal.SIGTERM, 0), (signal.SIGTERM, 1), (signal.SIGKILL, 0), (signal.SIGKILL, 1)):
                results = []
                for _ in range(runs):
                    with Replicas(workdir) as reps:
                        results.append(drill(reps, "s2", sig, retries=retries))
                joined = lambda key: ", ".join(str(v) for v in key)  # noqa: E731
                def placed(r: dict) -> str:
                    fresh = sum(1 for v in r["fresh_placement"].values() if v == "s2")
                    return f"{r['up_after_restart_seconds']} {fresh}/6"
                print(f"| {results[0]['signal']} | {retries} | "
                      f"{joined(len(r['clients_on_victim']) for r in results)} | "
                      f"{joined(len(r['failures']) for r in results)} | "
                      f"{joined(r['broken_attempts'] for r in results)} | "
                      f"{sum(1 for r in results for s in r['failure_servers'] if s != 's2')} | "
                      f"{sum(1 for r in results for x in r['recovered'] if x)}/"
                      f"{sum(len(r['recovered']) for r in results)} | "
                      f"{sum(len(r['wrong']) for r in results)} | "
                      f"{joined(r['down_after_exit_seconds'] for r in results)} | "
                      f"{joined(placed(r) for r in results)} |")
                for r in results:
                    for f in r["failures"][:3]:
                        print(f"<!-- {r['signal']} retries={retries}: {f['client']}: {f['error']} -->")
        print(f"\nload average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
