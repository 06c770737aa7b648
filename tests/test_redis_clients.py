"""Issue 13, "Redis clients": COMMAND, INFO, CONFIG GET, MULTI/EXEC, error codes, with the real clients.

redis-py under RESP2 and RESP3, redis-cli (help, --stat), and the Node clients
ioredis and node-redis (tests/node: `npm --prefix tests/node ci` installs them;
the test is skipped with the reason when node or the packages are missing).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time

import pytest
import redis

import spouge
from compute_latency_probe import LatencyProbe
from server_harness import read_reply, resp_command, spouge_server

NODE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node")


@pytest.fixture(scope="module")
def server():
    with spouge_server("--jobs", "1", "--max-digits", "5000") as s:
        yield s


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def client(server, request):
    c = redis.Redis(port=server.port, protocol=request.param, socket_timeout=30)
    yield c
    c.close()


def ask(s: socket.socket, *parts) -> bytes:
    s.sendall(b"".join(resp_command(*p) if isinstance(p, tuple) else resp_command(p) for p in parts))
    return read_reply(s, 15)


# --- COMMAND ---------------------------------------------------------------------------------------------
def test_command_has_redis7_entries(client):
    commands = client.command()
    for name in ("gamma", "factorial", "lgamma", "rgamma", "loggamma", "beta", "binomial", "rising", "falling",
                 "ping", "info", "config", "multi", "exec", "discard", "watch", "command"):
        assert name in commands, name
    beta = commands["beta"]
    assert beta["arity"] == -3 and "readonly" in beta["flags"] and beta["first_key_pos"] == 0
    assert beta["tips"] == [] and beta["subcommands"] == [] and len(beta["acl_categories"]) == 2
    assert commands["echo"]["arity"] == 2 and commands["gamma"]["arity"] == -2 and commands["quit"]["arity"] == 1
    assert client.command_count() == len(commands)
    assert {c.decode() if isinstance(c, bytes) else c for c in client.command_list()} == set(commands)


def test_command_info_docs_help_shapes(server):
    with server.connect() as s:
        info = ask(s, ("COMMAND", "INFO", "GAMMA", "NOSUCH"))
        assert info.startswith(b"*2\r\n*10\r\n$5\r\ngamma\r\n:-2\r\n") and info.endswith(b"$-1\r\n")
        docs = ask(s, ("COMMAND", "DOCS", "BETA"))
        assert docs.startswith(b"*2\r\n$4\r\nbeta\r\n*") and b"summary" in docs and b"ROUNDING" in docs
        assert ask(s, ("HELLO", "3")).startswith(b"%")
        docs3 = ask(s, ("COMMAND", "DOCS", "LGAMMA"))
        assert docs3.startswith(b"%1\r\n$6\r\nlgamma\r\n%") and b"WITHSIGN" in docs3 and b"~1\r\n+optional" in docs3
        assert ask(s, ("COMMAND", "INFO", "PING")).startswith(b"*1\r\n*10\r\n$4\r\nping\r\n:-1\r\n~1\r\n+fast")
        help_text = ask(s, ("COMMAND", "HELP"))
        assert help_text.startswith(b"*") and b"DOCS [<command-name> ...]" in help_text
        assert ask(s, ("COMMAND", "GETKEYS", "GAMMA", "1")).startswith(b"-ERR The command has no key arguments")
        assert ask(s, ("COMMAND", "FLY")).startswith(b"-ERR unknown subcommand 'FLY'. Try COMMAND HELP.")


def test_redis_cli_help_and_hints(server):
    out = subprocess.run(["redis-cli", "-p", str(server.port), "help", "BINOMIAL"], capture_output=True, text=True,
                         timeout=30, check=True).stdout
    assert "BINOMIAL" in out and "n k [digits]" in out and "ROUNDING" in out
    assert "summary:" in out and "binomial coefficient" in out
    out = subprocess.run(["redis-cli", "-p", str(server.port), "help", "@spouge"], capture_output=True, text=True,
                         timeout=30, check=True).stdout
    assert all(name in out for name in ("GAMMA", "LOGGAMMA", "FALLING"))


# --- INFO ------------------------------------------------------------------------------------------------
def test_info_sections_and_fields(client):
    everything = client.info()
    for field in ("redis_version", "process_id", "tcp_port", "connected_clients", "blocked_clients", "maxclients",
                  "used_memory", "used_memory_human", "used_memory_peak", "total_commands_processed",
                  "instantaneous_ops_per_sec", "total_connections_received", "loading", "cache_hits", "pool_workers"):
        assert field in everything, field
    assert everything["used_memory"] > 1_000_000 and everything["loading"] == 0 and everything["connected_clients"] >= 1
    memory = client.info("memory")
    assert "used_memory" in memory and "total_commands_processed" not in memory
    both = client.execute_command("INFO", "stats", "CLIENTS")
    assert "total_commands_processed" in both and "connected_clients" in both and "used_memory" not in both
    assert client.info("nosuchsection") == {}
    before = client.info("stats")["total_commands_processed"]
    for _ in range(200):
        client.ping()
    time.sleep(0.1)
    stats = client.info("stats")
    assert stats["total_commands_processed"] >= before + 200 and stats["instantaneous_ops_per_sec"] > 0


def test_redis_cli_stat(server):
    proc = subprocess.Popen(["stdbuf", "-oL", "redis-cli", "-p", str(server.port), "--stat", "-i", "0.3"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    proc.terminate()
    out, _ = proc.communicate(timeout=10)
    lines = [line.split() for line in out.splitlines()]
    assert lines[1][:5] == ["keys", "mem", "clients", "blocked", "requests"], out
    rows = [row for row in lines[2:] if row and row[0].isdigit()]
    assert len(rows) >= 2, out
    for row in rows:  # keys 0, memory like "43.74M", clients >= 1, blocked 0, a request count
        assert row[0] == "0" and row[1][-1] in "KMG" and int(row[2]) >= 1 and row[3].isdigit() and row[4].isdigit()


# --- CONFIG ----------------------------------------------------------------------------------------------
def test_config_get(client, server):
    assert client.config_get("maxclients") == {"maxclients": "10000"}
    assert client.config_get("port") == {"port": str(server.port)}
    everything = client.config_get("*")
    assert {"maxclients", "timeout", "port", "bind", "databases", "maxmemory", "spouge-max-digits"} <= set(everything)
    assert everything["spouge-max-digits"] == "5000" and "requirepass" not in everything
    assert set(client.config_get("max*")) == {"maxclients", "maxmemory", "maxmemory-policy"}
    got = client.execute_command("CONFIG", "GET", "port", "TIME?UT")
    keys = set(got) if isinstance(got, dict) else set(got[0::2])
    assert {k.decode() if isinstance(k, bytes) else k for k in keys} == {"port", "timeout"}
    assert client.config_get("nosuch") == {}
    with pytest.raises(redis.ResponseError, match="CONFIG SET is not supported"):
        client.config_set("maxclients", "5")
    with pytest.raises(redis.ResponseError, match="wrong number of arguments"):
        client.execute_command("CONFIG", "GET")


# --- MULTI / EXEC ----------------------------------------------------------------------------------------
def test_default_pipeline_is_a_transaction(client):
    pipe = client.pipeline()  # transaction=True
    pipe.execute_command("GAMMA", "0.5", 30)
    pipe.execute_command("BETA", "0.5", "0.5", "ROUNDING", "enclosure")
    pipe.execute_command("GAMMA", "0.3", 3000)  # pooled: EXEC waits for it
    pipe.execute_command("LGAMMA", "-2.5", "WITHSIGN")
    pipe.ping()
    got = pipe.execute()
    enclosure = spouge.beta("0.5", "0.5", rounding="enclosure")
    assert got[0] == str(spouge.gamma("0.5", digits=30)).encode()
    assert got[1] == [str(enclosure.lower).encode(), str(enclosure.upper).encode()]
    assert got[2] == str(spouge.gamma("0.3", digits=3000)).encode()
    assert got[3] == [str(spouge.lgamma("-2.5")).encode(), -1] and got[4] is True


def test_errors_inside_exec_are_elements(client):
    pipe = client.pipeline()
    pipe.execute_command("GAMMA", "2")
    pipe.execute_command("GAMMA", "-2")
    pipe.execute_command("BETA", "1", "2", "ROUNDING", "sideways")
    got = pipe.execute(raise_on_error=False)
    assert got[0] == b"1.000000000000000e+0"
    assert isinstance(got[1], redis.ResponseError) and str(got[1]).startswith("DOMAIN gamma(-2)")
    assert isinstance(got[2], redis.ResponseError) and "rounding must be one of" in str(got[2])


def test_queue_time_errors_abort_exec(server):
    with server.connect() as s:
        reply = ask(s, "MULTI", ("GAMMA", "0.5"), ("NOSUCH", "x"), ("BETA", "1"), ("GAMMA", "1"), "EXEC", "PING")
        assert reply == (b"+OK\r\n+QUEUED\r\n-ERR unknown command 'NOSUCH', with args beginning with: 'x'\r\n"
                         b"-ERR wrong number of arguments for 'beta' command\r\n+QUEUED\r\n"
                         b"-EXECABORT Transaction discarded because of previous errors.\r\n+PONG\r\n")
    c = redis.Redis(port=server.port)
    pipe = c.pipeline()
    pipe.execute_command("GAMMA", "1")
    pipe.execute_command("NOSUCH")
    with pytest.raises(redis.ResponseError):  # redis-py reports the command that failed to queue
        pipe.execute()
    assert c.ping()


def test_transaction_edges(server):
    with server.connect() as s:
        assert ask(s, "EXEC") == b"-ERR EXEC without MULTI\r\n"
        assert ask(s, "DISCARD") == b"-ERR DISCARD without MULTI\r\n"
        assert ask(s, ("WATCH", "k")).startswith(b"-ERR WATCH is not supported: spouge has no keys")
        assert ask(s, "UNWATCH") == b"+OK\r\n"
        assert ask(s, "MULTI", "MULTI", ("WATCH", "k"), ("GAMMA", "3"), "DISCARD", "EXEC") == (
            b"+OK\r\n-ERR MULTI calls can not be nested\r\n-ERR WATCH inside MULTI is not allowed\r\n+QUEUED\r\n+OK\r\n"
            b"-ERR EXEC without MULTI\r\n")
        assert ask(s, "MULTI", "EXEC") == b"+OK\r\n*0\r\n"
        # inline dialect too
        s.sendall(b"multi\r\nfactorial 5 3\r\nrgamma -1\r\nexec\r\n")
        zero = str(spouge.rgamma(-1)).encode()
        assert read_reply(s, 10) == (b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n$7\r\n1.20e+2\r\n$%d\r\n%s\r\n"
                                     % (len(zero), zero))


def test_exec_with_pooled_work_does_not_block_the_loop():
    with spouge_server("--jobs", "1", "--max-digits", "20000") as server:
        with LatencyProbe(server.port) as probe:
            with server.connect() as s:
                reply = ask(s, "MULTI", ("GAMMA", "0.3", "8000"), ("BINOMIAL", "1" + "0" * 600, "2000", "30"),
                            ("PING",), "EXEC")
                deadline = time.monotonic() + 60
                while not reply.endswith(b"+PONG\r\n") and time.monotonic() < deadline:
                    reply += read_reply(s, 5)
            time.sleep(0.2)
            stats = probe.stop()
        assert reply.startswith(b"+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n$") and reply.endswith(b"+PONG\r\n")
        assert str(spouge.gamma("0.3", digits=8000)).encode() in reply
        assert stats["count"] > 50 and stats["max"] < 1.0, stats
        # a client that leaves during EXEC: its pooled work is dropped, the server carries on
        with server.connect() as s:
            s.sendall(resp_command("MULTI") + resp_command("GAMMA", "0.7", "15000") + resp_command("EXEC"))
            time.sleep(0.3)
        c = redis.Redis(port=server.port, socket_timeout=30)
        assert c.execute_command("GAMMA", "0.5", 20) == str(spouge.gamma("0.5", digits=20)).encode()


# --- error codes -----------------------------------------------------------------------------------------
def test_distinct_error_codes():
    with spouge_server("--jobs", "1", "--compute-timeout", "0.3", "--max-digits", "60000", "--requirepass",
                       "pw") as server:
        with server.connect() as s:
            assert ask(s, ("GAMMA", "1")).startswith(b"-NOAUTH ")
            assert ask(s, ("AUTH", "nope")).startswith(b"-WRONGPASS ")
            assert ask(s, ("AUTH", "pw")) == b"+OK\r\n"
            assert ask(s, ("GAMMA", "-3")).startswith(b"-DOMAIN gamma(-3): ")
            assert ask(s, ("BETA", "0", "2")).startswith(b"-DOMAIN beta(0, 2): ")
            assert ask(s, ("GAMMA", "abc")).startswith(b"-ERR x = 'abc'")
            assert ask(s, ("GAMMA", "1", "0")).startswith(b"-ERR digits must be at least 1")
            reply = read_reply_after(s, resp_command("GAMMA", "0.3", "50000"), 15)
            assert reply.startswith(b"-TIMEOUT computation took longer than 0.3 s")
        c = redis.Redis(port=server.port, password="pw")
        with pytest.raises(redis.ResponseError, match=r"^DOMAIN "):
            c.execute_command("BETA", "-2", "0.5")
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=server.port, password="wrong").ping()


def read_reply_after(s: socket.socket, data: bytes, timeout: float) -> bytes:
    s.sendall(data)
    return read_reply(s, timeout, expect=1) + read_reply(s, 1)


# --- Node clients ----------------------------------------------------------------------------------------
def test_node_clients(server):
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    modules = os.path.join(NODE_DIR, "node_modules")
    if not os.path.isdir(os.path.join(modules, "ioredis")) or not os.path.isdir(os.path.join(modules, "redis")):
        pytest.skip("Node clients not installed: run `npm --prefix tests/node ci`")
    proc = subprocess.run(["node", os.path.join(NODE_DIR, "clients.mjs"), str(server.port)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert "failure" not in got, got["failure"]
    gamma30 = str(spouge.gamma("0.5", digits=30))
    enclosure = spouge.beta("0.5", "0.5", rounding="enclosure")
    io = got["ioredis"]
    assert io["gamma"] == gamma30 and io["beta_enclosure"] == [str(enclosure.lower), str(enclosure.upper)]
    assert io["multi"][:2] == [gamma30, "1.200000000000000e+2"] and io["multi"][3] == "PONG"
    assert io["multi"][2]["error"].startswith("DOMAIN gamma(-1)") and io["pole"].startswith("DOMAIN gamma(-1)")
    assert io["execabort"].startswith("EXECABORT")
    assert io["pipeline"] == [str(spouge.factorial(10, digits=5)), str(spouge.rgamma(-3))]
    assert io["info_has_commands"] and io["config"] == ["maxclients", "10000"]
    for resp_version in ("redis_resp2", "redis_resp3"):
        nr = got[resp_version]
        assert nr["gamma"] == gamma30 and nr["lgamma_sign"] == [str(spouge.lgamma("-2.5")), -1]
        assert nr["multi"] == [gamma30, str(spouge.falling(10, 3)), "PONG"]
        assert nr["pole"].startswith("DOMAIN gamma(-1)") and nr["command_count"] >= 23 and nr["info_has_memory"]
