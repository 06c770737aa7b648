"""Server benchmarks for issue 3, all peers measured in the same run on loopback.

    python3 bench/server.py [--quick] [--only NAME,...]

Needs Debian's redis-server, redis-tools (redis-benchmark) and wrk, and
`pip install -e '.[bench]'` (uvicorn, uvloop).  Prints Markdown for BENCHMARKS.md.
Sections: resp (redis-benchmark), http (wrk vs uvicorn), threads (thread per
connection at 50/1000/5000 connections), idle (10000 idle connections:
memory and an active client's p99), heavy (cheap p99 while 4 x 10000-digit
computations run).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    def __init__(self, cmd: list[str], port: int, env: dict | None = None) -> None:
        self.port = port
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     env={**os.environ, **(env or {})})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                time.sleep(0.3)
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{cmd} did not start")

    def rss_kb(self) -> int:
        return int(open(f"/proc/{self.proc.pid}/status").read().split("VmRSS:")[1].split()[0])

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def spouge(*args: str, env: dict | None = None) -> Proc:
    port = free_port()
    return Proc([PY, "-m", "spouge", "serve", "--port", str(port), "--log-level", "warning", *args], port, env=env)


def redis_server() -> Proc:
    port = free_port()
    return Proc(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"], port)


def redis_benchmark(port: int, pipeline: int, *command: str, requests: int = 300000) -> float:
    out = subprocess.run(["redis-benchmark", "-p", str(port), "-c", "50", "-n", str(requests), "-P", str(pipeline),
                          "-q", *command],
                         capture_output=True, text=True, timeout=600).stdout
    return float(re.findall(r"([\d.]+) requests per second", out)[-1])


def wrk(port: int, path: str, connections: int, seconds: int, threads: int = 1) -> tuple[float, str]:
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
                          f"http://127.0.0.1:{port}{path}"],
                         capture_output=True, text=True, timeout=seconds + 60,
                         preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+(\S+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return rps, (p99.group(1) if p99 else "?") + (f" (socket errors: {errors.group(1)})" if errors else "")


def resp_roundtrip(sock: socket.socket, payload: bytes) -> float:
    start = time.perf_counter()
    sock.sendall(payload)
    data = b""
    while not data.endswith(b"\r\n") or (data.startswith(b"$") and data.count(b"\r\n") < 2):
        data += sock.recv(65536)
    return time.perf_counter() - start


def cmd(*parts: str) -> bytes:
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p.encode()), p.encode()) for p in parts)


def p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98]


# --- sections ---------------------------------------------------------------
def section_resp(quick: bool) -> None:
    n = 100000 if quick else 300000
    r, s = redis_server(), spouge()
    bare_port = free_port()
    bare = Proc([PY, "bench/bare_ping.py", str(bare_port)], bare_port)
    print(f"### RESP: `redis-benchmark -c 50 -n {n} -P {{1,16}}`\n")
    print("| pipeline | Redis PING | bare selectors PING | spouge FACTORIAL 20 | spouge / Redis | target |")
    print("|---|---|---|---|---|---|")
    for pipeline, target in ((1, 0.9), (16, 0.5)):
        redis_rps = redis_benchmark(r.port, pipeline, "PING", requests=n)
        bare_rps = redis_benchmark(bare.port, pipeline, "PING", requests=n)
        spouge_rps = redis_benchmark(s.port, pipeline, "FACTORIAL", "20", requests=n)
        print(f"| {pipeline} | {redis_rps:,.0f}/s | {bare_rps:,.0f}/s | {spouge_rps:,.0f}/s "
              f"| {spouge_rps / redis_rps:.2f}× | ≥ {target}× |", flush=True)
    for p in (r, s, bare):
        p.stop()
    print()


def section_http(quick: bool) -> None:
    seconds = 5 if quick else 10
    path = "/v1/factorial?x=20"
    s = spouge()
    port = free_port()
    u = Proc([PY, "-m", "uvicorn", "bench.asgi_app:app", "--loop", "uvloop", "--http", "httptools", "--port", str(port),
              "--log-level", "warning", "--no-access-log"], port)
    print(f"### HTTP: `wrk -t1 -c50 -d{seconds}s --latency http://127.0.0.1:PORT{path}`\n")
    print("| server | requests/s | p99 latency |")
    print("|---|---|---|")
    results = {}
    for name, proc in (("spouge", s), ("uvicorn + uvloop + httptools (lru_cache ASGI app)", u)):
        rps, lat = wrk(proc.port, path, 50, seconds)
        results[name] = rps
        print(f"| {name} | {rps:,.0f} | {lat} |", flush=True)
    ratio = results["spouge"] / results["uvicorn + uvloop + httptools (lru_cache ASGI app)"]
    print(f"\nspouge / uvicorn = **{ratio:.2f}×** (target ≥ 2.5×)\n")
    s.stop()
    u.stop()


def section_threads(quick: bool) -> None:
    seconds = 5 if quick else 10
    path = "/v1/factorial?x=20"
    s = spouge()
    port = free_port()
    t = Proc([PY, "bench/threaded_server.py", str(port)], port)
    print(f"### Thread per connection vs one loop: `wrk -t2 -cN -d{seconds}s` on {path}\n")
    print("| connections | spouge req/s | spouge p99 | ThreadingTCPServer req/s | ThreadingTCPServer p99 |")
    print("|---|---|---|---|---|")
    for connections in (50, 1000, 5000):
        a = wrk(s.port, path, connections, seconds, threads=2)
        b = wrk(t.port, path, connections, seconds, threads=2)
        print(f"| {connections} | {a[0]:,.0f} | {a[1]} | {b[0]:,.0f} | {b[1]} |", flush=True)
    s.stop()
    t.stop()
    print()


def section_idle(quick: bool) -> None:
    count = 10000
    resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
    s = spouge("--max-clients", "12000")
    with socket.create_connection(("127.0.0.1", s.port)) as probe:  # warm the path
        for _ in range(200):
            resp_roundtrip(probe, cmd("FACTORIAL", "20"))
    time.sleep(0.3)
    before = s.rss_kb()
    idle = [socket.create_connection(("127.0.0.1", s.port)) for _ in range(count)]
    time.sleep(1.0)
    with socket.create_connection(("127.0.0.1", s.port)) as active:
        resp_roundtrip(active, cmd("INFO"))
        samples = [resp_roundtrip(active, cmd("FACTORIAL", str(i % 100), "16")) for i in range(3000)]
    after = s.rss_kb()
    per_1000 = (after - before) / count * 1000 / 1024
    print(f"### {count} idle connections held by one process\n")
    print("| RSS before | RSS with connections | per 1000 connections | target "
          "| active client p99 (3000 × FACTORIAL) | median |")
    print("|---|---|---|---|---|---|")
    print(f"| {before / 1024:.1f} MB | {after / 1024:.1f} MB | {per_1000:.2f} MB | ≤ 4 MB "
          f"| {p99(samples) * 1e3:.2f} ms | {statistics.median(samples) * 1e3:.3f} ms |\n", flush=True)
    for sock in idle:
        sock.close()
    s.stop()


def section_heavy(quick: bool) -> None:
    s = spouge("--jobs", "4", "--max-digits", "10000")
    heavy = []
    for i in range(4):
        sock = socket.create_connection(("127.0.0.1", s.port))
        sock.sendall(cmd("GAMMA", f"{i}.{random.randint(1, 10**9)}", "10000"))
        heavy.append(sock)
    for sock in heavy:
        sock.setblocking(False)
    samples = []
    pending = set(heavy)
    with socket.create_connection(("127.0.0.1", s.port)) as active:
        start = time.monotonic()
        while pending and time.monotonic() - start < 120:
            x = f"{random.randint(1, 10**6)}.{random.randint(1, 10**6)}"  # a new x each time: computed, not cached
            samples.append(resp_roundtrip(active, cmd("GAMMA", x, "16")))
            for sock in list(pending):
                try:
                    if sock.recv(65536):
                        pending.discard(sock)
                except BlockingIOError:
                    pass
        busy = time.monotonic() - start
    print("### Cheap requests while 4 computations at 10000 digits run (`--jobs 4`)\n")
    print("| cheap requests | during | p99 | median | target |")
    print("|---|---|---|---|---|")
    print(f"| {len(samples)} × GAMMA (new x, 16 digits) | {busy:.1f} s | {p99(samples) * 1e3:.2f} ms "
          f"| {statistics.median(samples) * 1e3:.3f} ms | p99 ≤ 10 ms |\n", flush=True)
    for sock in heavy:
        sock.close()
    s.stop()


def section_core(quick: bool) -> None:
    """The C core against the pure-Python one (SPOUGE_PURE=1), as a server: a cached request and new ones."""
    n = 50000 if quick else 200000
    print(f"### The core as a server sees it: `redis-benchmark -c 50 -n {n} -P 1 -r 1000000` (issue 11)\n")
    print("`GAMMA 0.__rand_int__ 100` asks for a new x almost every time (computed, not cached); "
          "`FACTORIAL 20` is answered from the reply cache after the first time.\n")
    print("| core | FACTORIAL 20 | GAMMA 0.__rand_int__ 100 | GAMMA 0.__rand_int__ 16 |")
    print("|---|---|---|---|")
    for label, env in (("C (spouge._core)", {}), ("pure Python (SPOUGE_PURE=1)", {"SPOUGE_PURE": "1"})):
        s = spouge(env=env)
        fact = redis_benchmark(s.port, 1, "FACTORIAL", "20", requests=n)
        g100 = redis_benchmark(s.port, 1, "-r", "1000000", "GAMMA", "0.__rand_int__", "100", requests=n // 4)
        g16 = redis_benchmark(s.port, 1, "-r", "1000000", "GAMMA", "0.__rand_int__", "16", requests=n // 2)
        print(f"| {label} | {fact:,.0f}/s | {g100:,.0f}/s | {g16:,.0f}/s |", flush=True)
        s.stop()
    print()


MIXED_LUA = """
local n = 0
setup = function(thread) n = n + 1; thread:set("id", n) end
init = function(args) math.randomseed(os.time() * 1000 + id) end
request = function()
  if math.random() < 0.1 then  -- a new 100-digit value: a computation
    local x = "0." .. math.random(1, 2147483647) .. math.random(1, 2147483647)
    return wrk.format(nil, "/v1/gamma?x=" .. x .. "&digits=100")
  end
  return wrk.format(nil, "/v1/factorial?x=20")  -- cached
end
"""


#: Every request a new 100-digit value (computed inline, ~100 us): the load where the server, not the client, is the
#: limit, so it shows what a second worker adds on 2 cores.
COMPUTE_LUA = """
local n = 0
setup = function(thread) n = n + 1; thread:set("id", n) end
init = function(args) math.randomseed(os.time() * 1000 + id) end
request = function()
  local x = "0." .. math.random(1, 2147483647) .. math.random(1, 2147483647)
  return wrk.format(nil, "/v1/gamma?x=" .. x .. "&digits=100")
end
"""


def wrk_script(port: int, script: str, connections: int, seconds: int) -> tuple[float, str]:
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", f.name,
                              f"http://127.0.0.1:{port}/"], capture_output=True, text=True, timeout=seconds + 60).stdout
    finally:
        os.unlink(f.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+(\S+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, (p99.group(1) if p99 else "?") + (f" ({non2xx.group(1)} non-2xx)" if non2xx else "")


def section_mixed(quick: bool) -> None:
    """90% cached requests, 10% new 100-digit values (issue 15): req/s and p99, with --workers 1 and 2."""
    seconds = 5 if quick else 10
    print(f"### Mixed load: 90% `/v1/factorial?x=20` (cached), 10% `/v1/gamma?x=0.<random>&digits=100` (new), "
          f"`wrk -t1 -c50 -d{seconds}s` with a Lua script\n")
    print("| server | requests/s | p99 latency |")
    print("|---|---|---|")
    for workers in ("1", "2"):
        s = spouge("--workers", workers)
        rps, lat = wrk_script(s.port, MIXED_LUA, 50, seconds)
        print(f"| spouge --workers {workers} | {rps:,.0f} | {lat} |", flush=True)
        s.stop()
    print()


def section_workers(quick: bool) -> None:
    """--workers 2 against --workers 1 on the same machine (issue 15: >= 1.7x), alternating, three runs each."""
    n = 100000 if quick else 300000
    seconds = 5 if quick else 10
    rows: dict[str, list] = {"RESP P=1": [], "RESP P=16": [], "HTTP": [],
                             "HTTP, every request a new 100-digit value": [],
                             "HTTP mixed: 90% cached, 10% new 100-digit": []}
    for _ in range(3):
        for workers in ("1", "2"):
            s = spouge("--workers", workers)
            rows["RESP P=1"].append((workers, redis_benchmark(s.port, 1, "FACTORIAL", "20", requests=n)))
            rows["RESP P=16"].append((workers, redis_benchmark(s.port, 16, "FACTORIAL", "20", requests=n)))
            rows["HTTP"].append((workers, wrk(s.port, "/v1/factorial?x=20", 50, seconds)[0]))
            rows["HTTP, every request a new 100-digit value"].append(
                (workers, wrk_script(s.port, COMPUTE_LUA, 50, seconds)[0]))
            rows["HTTP mixed: 90% cached, 10% new 100-digit"].append(
                (workers, wrk_script(s.port, MIXED_LUA, 50, seconds)[0]))
            s.stop()
    print("### `--workers 2` against `--workers 1` "
          "(medians of 3 alternating runs; redis-benchmark -c 50, wrk -t1 -c50)\n")
    print("| load | 1 worker | 2 workers | ratio | target |")
    print("|---|---|---|---|---|")
    for name, samples in rows.items():
        one = statistics.median(v for w, v in samples if w == "1")
        two = statistics.median(v for w, v in samples if w == "2")
        print(f"| {name} | {one:,.0f}/s | {two:,.0f}/s | {two / one:.2f}× | ≥ 1.7× |", flush=True)
    print()


SECTIONS = {"resp": section_resp, "http": section_http, "threads": section_threads, "idle": section_idle,
            "heavy": section_heavy, "core": section_core, "mixed": section_mixed, "workers": section_workers}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default=",".join(SECTIONS))
    args = parser.parse_args()
    for tool in ("redis-server", "redis-benchmark", "wrk"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: apt-get install redis-server redis-tools wrk")
    print(f"_{platform.node()} · {os.cpu_count()} cores · {platform.machine()} · Python {platform.python_version()} "
          f"· {time.strftime('%Y-%m-%d %H:%M')}_\n")
    for name in args.only.split(","):
        SECTIONS[name](args.quick)


if __name__ == "__main__":
    main()
