"""Thread-per-connection peer for bench/server.py: socketserver.ThreadingTCPServer speaking HTTP/1.1 keep-alive.

    python3 bench/threaded_server.py PORT
Serves GET /v1/factorial?x=..&digits=.. from an lru_cache, like the uvicorn peer.
"""

import json
import socketserver
import sys
from functools import lru_cache
from urllib.parse import parse_qs, urlsplit

import spouge


@lru_cache(maxsize=10000)
def answer(x: str, digits: int) -> bytes:
    body = json.dumps(spouge.factorial(x, digits=digits).as_dict()).encode()
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        while True:
            line = self.rfile.readline(65537)
            if not line:
                return
            while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                pass
            target = line.split(b" ")[1].decode()
            query = parse_qs(urlsplit(target).query)
            self.wfile.write(answer(query.get("x", ["20"])[0], int(query.get("digits", ["16"])[0])))


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 8192


if __name__ == "__main__":
    Server(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
