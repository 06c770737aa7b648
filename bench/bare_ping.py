"""A bare selectors loop that answers +PONG to every line or RESP array it reads (the ceiling for a Python loop).

    python3 bench/bare_ping.py PORT
Used by bench/server.py as the "bare selectors" reference.  It does no real
parsing: it counts newlines-terminated requests crudely, which is the point.
"""

import selectors
import socket
import sys


def main(port: int) -> None:
    sel = selectors.DefaultSelector()
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(4096)
    server.setblocking(False)

    def on_read(conn):
        try:
            data = conn.recv(65536)
        except BlockingIOError:
            return
        if not data:
            sel.unregister(conn)
            conn.close()
            return
        n = data.count(b"*1\r\n") or data.count(b"\n")
        conn.send(b"+PONG\r\n" * n)

    def on_accept(sock):
        conn, _ = sock.accept()
        conn.setblocking(False)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sel.register(conn, selectors.EVENT_READ, on_read)

    sel.register(server, selectors.EVENT_READ, on_accept)
    while True:
        for key, _ in sel.select():
            key.data(key.fileobj)


if __name__ == "__main__":
    main(int(sys.argv[1]))
