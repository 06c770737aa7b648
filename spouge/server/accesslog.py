"""The opt-in HTTP access log (``--access-log PATH``, ``-`` for stderr) in the Common Log Format.

Owns: formatting one line per answered HTTP request,
``host - - [10/Oct/2000:13:55:36 +0000] "GET /v1/gamma?x=2 HTTP/1.1" 200 512``
(the user is always "-": the bearer password names nobody), and writing it.

Invariants: a line never holds a control byte, a quote or a backslash from the client: they and every
byte outside printable ASCII are written as ``\\xHH`` (nginx's habit), so a request cannot forge a log
line.  The file is opened once, appending and line-buffered: a write is one short ``write(2)`` on the
loop (a log on a stalled disk stalls the server; use stderr and a log collector if that matters).
The time is formatted once per second.
"""

from __future__ import annotations

import re
import sys
import time
from typing import TextIO

_UNSAFE = re.compile(r'[^\x20-\x7e]|["\\]')
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def escape(text: str) -> str:
    """Printable ASCII as it is; anything else (and `"`, `\\`) as \\xHH of its Latin-1/UTF-8 bytes."""
    if not _UNSAFE.search(text):
        return text
    return _UNSAFE.sub(_hex, text)


def _hex(match: re.Match) -> str:
    char = match.group()
    data = bytes([ord(char)]) if ord(char) < 256 else char.encode("utf-8", "replace")  # request text is Latin-1
    return "".join(f"\\x{b:02X}" for b in data)


class AccessLog:
    def __init__(self, stream: TextIO, owned: bool) -> None:
        self.stream = stream
        self.owned = owned
        self._second = -1
        self._stamp = ""

    @classmethod
    def open(cls, path: str) -> AccessLog:
        if path == "-":
            return cls(sys.stderr, owned=False)
        return cls(open(path, "a", buffering=1, encoding="ascii"), owned=True)

    def _time(self) -> str:
        now = time.time()
        second = int(now)
        if second != self._second:
            t = time.localtime(second)
            offset = t.tm_gmtoff or 0
            sign = "+" if offset >= 0 else "-"
            offset = abs(offset) // 60
            self._stamp = (f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year:04d}:{t.tm_hour:02d}:{t.tm_min:02d}:"
                           f"{t.tm_sec:02d} {sign}{offset // 60:02d}{offset % 60:02d}")
            self._second = second
        return self._stamp

    def write(self, host: str, method: str, target: str, version: str, status: int | str, size: int) -> None:
        line = (f'{escape(host)} - - [{self._time()}] "{escape(method)} {escape(target)} HTTP/{escape(version)}" '
                f'{status} {size if size else "-"}\n')
        try:
            self.stream.write(line)
        except (OSError, ValueError):  # a full disk or a closed stderr must not cost the request
            pass

    def close(self) -> None:
        if self.owned:
            self.stream.close()


def response_body_size(data: bytes, head: bool) -> int:
    """Bytes of the body in an encoded response (CLF's last field): 0 for HEAD, 204 and 304."""
    if head:
        return 0
    end = data.find(b"\r\n\r\n")
    return 0 if end < 0 else len(data) - end - 4
