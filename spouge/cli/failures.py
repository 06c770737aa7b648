"""What went wrong, as the `spouge` command says it: a kind, an exit status, one line.

Owns: the exit statuses and the error kinds (one table, documented in the README
and in `spouge --help`), the mapping from the library's exceptions to kinds, and
how a failure is printed.

Invariants:
- A failure is one line: ``spouge: error: MESSAGE`` on stderr, or with --json one
  JSON object ``{"error": MESSAGE, "kind": KIND, "status": STATUS}`` (plus
  ``"line"`` in a batch) on stdout, ending in a newline like every JSON document.
- Never a traceback: anything unforeseen is kind "internal", status 1.
"""

from __future__ import annotations

import json
from typing import TextIO

from .. import numerics

#: kind -> exit status.
STATUS = {
    "usage": 2,        # the command line is malformed (unknown option, missing or extra argument)
    "input": 2,        # a value spouge cannot read or accept: "abc", digits 0, x out of range
    "pole": 3,         # well-formed, but the function is infinite there (Γ at 0, -1, -2, ...)
    "domain": 3,       # well-formed, but outside the function's domain (fgamma of nan or -inf)
    "range": 3,        # the result does not fit the output type (fgamma beyond the largest double)
    "undecided": 1,    # the rounding could not be decided below spouge's precision ceiling
    "io": 1,           # a file could not be written (spouge plot -o)
    "internal": 1,     # anything else (a bug: please report it)
    "interrupted": 130,  # Ctrl-C (SIGINT)
}

#: What the statuses mean, for `spouge --help`.
STATUS_HELP = """\
exit status: 0 success; 2 usage error or unreadable input; 3 mathematical error
(a pole, outside the domain, beyond a double); 1 other failures; 130 interrupted
(Ctrl-C); 141 stdout closed early (as if killed by SIGPIPE).  In a batch
(x = -) the status is that of the first line that failed."""


class Failure(Exception):
    """A failure of one kind (a key of STATUS) with its one-line message."""

    def __init__(self, kind: str, message: str):
        assert kind in STATUS, kind
        message = " ".join(str(message).split("\n"))  # one line, whatever the source said
        super().__init__(message)
        self.kind = kind
        self.message = message

    @property
    def status(self) -> int:
        return STATUS[self.kind]


def classify(exc: BaseException) -> Failure:
    """The library's exception (or anything else) as a Failure."""
    if isinstance(exc, Failure):
        return exc
    if isinstance(exc, KeyboardInterrupt):
        return Failure("interrupted", "interrupted")
    if isinstance(exc, numerics.PoleError):
        return Failure("pole", str(exc))
    if isinstance(exc, numerics.UndecidedError):
        return Failure("undecided", str(exc))
    if isinstance(exc, OverflowError):
        return Failure("range", str(exc))
    if isinstance(exc, (ValueError, TypeError)):
        return Failure("input", str(exc))
    if isinstance(exc, MemoryError):
        return Failure("internal", "out of memory")
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename is not None else ""
        return Failure("io", f"{where}{exc.strerror or exc}")
    return Failure("internal", f"{type(exc).__name__}: {exc}")


def document(failure: Failure, line: int | None = None) -> str:
    """The JSON object of a failure, one line with its newline."""
    body = {"error": failure.message, "kind": failure.kind, "status": failure.status}
    if line is not None:
        body = {"line": line, **body}
    return json.dumps(body) + "\n"


def emit(failure: Failure, as_json: bool, out: TextIO, err: TextIO) -> int:
    """Print a failure (JSON on out, or one line on err) and return its exit status."""
    if as_json:
        out.write(document(failure))
        out.flush()
    elif failure.kind == "interrupted":
        err.write("spouge: interrupted\n")
    else:
        err.write(f"spouge: error: {failure.message}\n")
    err.flush()
    return failure.status
