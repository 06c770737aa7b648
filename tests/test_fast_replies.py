"""The frame cache on the pipelined path (issue 15): same replies, same order, same rules as the full path."""

from __future__ import annotations

import time

import redis

import spouge
from server_harness import read_reply, resp_command, spouge_server

F20 = resp_command("FACTORIAL", 20)
F20_REPLY = b"$21\r\n2.432902008176640e+18\r\n"


def _warm(server) -> None:
    for _ in range(2):  # the second answer comes from the reply cache and teaches the frame cache
        assert server.request(F20) == F20_REPLY


def test_pipelined_known_frames_mixed_with_others_keep_their_order():
    with spouge_server("--jobs", "1") as server:
        _warm(server)
        slow = resp_command("GAMMA", "0.123456789", 3000)  # pooled: later replies must wait for it
        batch = F20 * 5 + resp_command("PING") + F20 * 3 + slow + F20 * 4 + resp_command("ECHO", "x") + F20
        s = server.connect()
        s.sendall(batch)
        expected_gamma = str(spouge.gamma("0.123456789", digits=3000)).encode()
        gamma_reply = b"$%d\r\n%s\r\n" % (len(expected_gamma), expected_gamma)
        want = F20_REPLY * 5 + b"+PONG\r\n" + F20_REPLY * 3 + gamma_reply + F20_REPLY * 4 + b"$1\r\nx\r\n" + F20_REPLY
        assert read_reply(s, 60, expect=len(want)) == want
        s.close()


def test_a_split_frame_and_a_lowercase_spelling_take_the_full_path_with_the_same_answer():
    with spouge_server("--jobs", "0") as server:
        _warm(server)
        s = server.connect()
        s.sendall(F20 * 3 + F20[:7])
        time.sleep(0.1)
        s.sendall(F20[7:] + resp_command("factorial", 20) + F20)
        assert read_reply(s, 10, expect=6 * len(F20_REPLY)) == F20_REPLY * 6
        s.close()


def test_an_unauthenticated_client_gets_noauth_for_a_known_frame():
    with spouge_server("--jobs", "0", "--requirepass", "pw") as server:
        r = redis.Redis(port=server.port, password="pw", socket_timeout=10)
        for _ in range(3):
            assert r.execute_command("FACTORIAL", 20) == b"2.432902008176640e+18"
        s = server.connect()
        s.sendall(F20 * 3)
        reply = read_reply(s, 10)
        assert reply.count(b"-NOAUTH") == 3 and b"2.43" not in reply
        s.sendall(resp_command("AUTH", "pw") + F20 * 2)
        assert read_reply(s, 10, expect=5 + 2 * len(F20_REPLY)) == b"+OK\r\n" + F20_REPLY * 2
        s.close()


def test_resp3_connections_use_their_own_table_and_metrics_count_every_request():
    with spouge_server("--jobs", "0") as server:
        _warm(server)
        r3 = redis.Redis(port=server.port, protocol=3, socket_timeout=10)
        for _ in range(3):
            assert r3.execute_command("FACTORIAL", 20) == b"2.432902008176640e+18"
        before = redis.Redis(port=server.port, socket_timeout=10).info()["total_commands_processed"]
        s = server.connect()
        s.sendall(F20 * 500)
        assert read_reply(s, 10, expect=500 * len(F20_REPLY)) == F20_REPLY * 500
        info = redis.Redis(port=server.port, socket_timeout=10).info()
        assert info["total_commands_processed"] - before >= 500 + 1
        assert info["frame_cache_hits"] >= 490  # they took the fast path (but a frame split across reads)
        s.close()


def test_a_never_reading_pipeline_of_known_frames_is_still_bounded():
    with spouge_server("--jobs", "0", "--output-limit", "200000:200000:1") as server:
        _warm(server)
        s = server.connect()
        s.setblocking(False)
        sent = 0
        end = time.monotonic() + 3
        while time.monotonic() < end:
            try:
                sent += s.send(F20 * 2000)
            except BlockingIOError:
                time.sleep(0.01)
            except ConnectionError:
                break
        others = server.connect()
        others.sendall(resp_command("PING"))
        assert read_reply(others, 5) == b"+PONG\r\n"
        info = redis.Redis(port=server.port, socket_timeout=10).info()
        assert info["connected_clients"] <= 2  # the flooder was cut at its output limit (or held back)
        s.close()


def test_multi_and_hello_earlier_in_the_same_read_change_what_a_known_frame_gets():
    with spouge_server("--jobs", "0") as server:
        _warm(server)
        s = server.connect()
        s.sendall(F20 + resp_command("MULTI") + F20 * 2 + resp_command("EXEC") + F20)
        want = (F20_REPLY + b"+OK\r\n" + b"+QUEUED\r\n" * 2 + b"*2\r\n" + F20_REPLY * 2 + F20_REPLY)
        assert read_reply(s, 10, expect=len(want)) == want
        s.close()
        r3 = redis.Redis(port=server.port, protocol=3, socket_timeout=10)
        r3.execute_command("LGAMMA", "0.5", "WITHSIGN")
        r3.execute_command("LGAMMA", "0.5", "WITHSIGN")  # known in the RESP3 table now
        frame = resp_command("LGAMMA", "0.5", "WITHSIGN")
        s = server.connect()
        s.sendall(frame + resp_command("HELLO", "3") + frame)
        reply = read_reply(s, 10)
        first, rest = reply.split(b"\r\n", 1)
        assert first == b"*2"  # RESP2 array for the first
        assert rest.rstrip().endswith(b":1") and b"%" in rest  # then HELLO's map and RESP3 replies
        s.close()
