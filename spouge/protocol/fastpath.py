"""Replies to requests whose exact bytes were answered before: the pipelined fast path (issue 15).

Owns: ``scan(buf, pos, table, limit) -> (new_pos, values)``, which walks the
complete, small, well-formed RESP multibulk frames at ``buf[pos:]`` and
returns the table's values for those frames, stopping (without consuming it)
at the first frame not in the table, incomplete, malformed or over the caps,
or after ``limit`` frames.  The server keeps ``table`` (exact frame bytes ->
encoded reply) for deterministic commands only.  ``scan_http`` does the same
for HTTP request heads: a frame is the bytes up to the first blank line (at
most ``FAST_MAX_HEAD``), and keys are only heads ``http.replays_as`` proved
to be whole body-less requests.

Invariants:
- Nothing is consumed that the full parser (redis.py) did not accept before:
  a consumed frame is byte for byte a key of the table, and keys are only
  frames the full parser returned as requests.  Everything else is left to it.
- C (``_fastresp``, built by setup.py beside the engine's core) and the Python
  fallback below agree frame for frame (tests/test_fastpath.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

FAST_MAX_ARGS = 8
FAST_MAX_ARG = 256
FAST_MAX_FRAME = 1024


def _read_len(buf: bytes, p: int, cap: int) -> tuple[int, int]:
    """(value, position after CRLF) of the decimal at p, or (-1, -1)."""
    end = p
    n = len(buf)
    while end < n and 48 <= buf[end] <= 57:
        end += 1
        if end - p > 5:
            return -1, -1
    if end == p or buf[end:end + 2] != b"\r\n":
        return -1, -1
    value = int(buf[p:end])
    return (value, end + 2) if value <= cap else (-1, -1)


def _frame_length(buf: bytes, start: int) -> int:
    if buf[start:start + 1] != b"*":
        return 0
    n, p = _read_len(buf, start + 1, FAST_MAX_ARGS)
    if n < 1:
        return 0
    for _ in range(n):
        if buf[p:p + 1] != b"$":
            return 0
        size, p = _read_len(buf, p + 1, FAST_MAX_ARG)
        if size < 0 or len(buf) - p < size + 2:
            return 0
        p += size
        if buf[p:p + 2] != b"\r\n":
            return 0
        p += 2
        if p - start > FAST_MAX_FRAME:
            return 0
    return p - start


def scan_python(buf: bytes, pos: int, table: dict[bytes, Any], limit: int) -> tuple[int, list[Any]]:
    if not 0 <= pos <= len(buf):
        raise ValueError("_fastresp.scan: pos out of range")
    out: list[Any] = []
    while len(out) < limit:
        n = _frame_length(buf, pos)
        if not n:
            break
        value = table.get(buf[pos:pos + n])
        if value is None:
            break
        out.append(value)
        pos += n
    return pos, out


FAST_MAX_HEAD = 4096


def scan_http_python(buf: bytes, pos: int, table: dict[bytes, Any], limit: int) -> tuple[int, list[Any]]:
    if not 0 <= pos <= len(buf):
        raise ValueError("_fastresp.scan_http: pos out of range")
    out: list[Any] = []
    n = len(buf)
    while len(out) < limit and pos < n:
        blank = buf.find(b"\r\n\r\n", pos, pos + FAST_MAX_HEAD)
        if blank < 0:
            break
        value = table.get(buf[pos:blank + 4])
        if value is None:
            break
        out.append(value)
        pos = blank + 4
    return pos, out


Scan = Callable[[bytes, int, dict[bytes, Any], int], tuple[int, list[Any]]]
scan: Scan
scan_http: Scan
try:
    from ._fastresp import scan, scan_http  # type: ignore[import-not-found,no-redef]

    compiled = True
except ImportError:  # not built: the same semantics, slower
    scan, scan_http = scan_python, scan_http_python
    compiled = False

__all__ = ["compiled", "scan", "scan_http", "scan_http_python", "scan_python"]
