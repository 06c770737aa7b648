"""Many values: `spouge gamma - < xs.txt`, one input a line in, one result a line out.

Owns: the batch format and its error rules.

Format: each line holds the function's arguments (one x, or two values for
beta/binomial/rising/falling) separated by spaces, tabs or a comma.  Blank lines
and lines whose first non-blank character is ``#`` are skipped and give no
output; every other line gives exactly one output line, in order:
- text: the result, or an empty line if that line failed (the reason goes to
  stderr as ``spouge: line N: MESSAGE``);
- --json: one JSON object a line (JSON lines), the result with ``"line": N``
  added, or ``{"line": N, "error": ..., "kind": ..., "status": ...}``.
A failed line does not stop the batch; the exit status is that of the first
failed line (0 if none).  Input is UTF-8; undecodable bytes make that line fail.

Invariants: the options are checked before the first line is read; the output
is flushed after each line when stdin is a terminal (someone typing), else
written in blocks, so 10000 lines at 16 digits take a fraction of a second.
"""

from __future__ import annotations

from typing import BinaryIO, TextIO

from ..numerics import progress
from .bar import Bar
from .failures import Failure, classify, document
from .values import FUNCTIONS, Request


def _fields(text: str) -> list[str]:
    return text.replace(",", " ").split()


def run(request: Request, source: BinaryIO, out: TextIO, err: TextIO, bar: Bar | None,
        interactive: bool = False) -> int:
    """Compute every line of source; return the exit status."""
    arity = request.arity
    names = " ".join(FUNCTIONS[request.name][3])
    first_failure = 0
    for number, raw in enumerate(source, 1):
        text = raw.decode("utf-8", "replace").strip()
        if not text or text.startswith("#"):
            continue
        fields = _fields(text)
        try:
            if "\ufffd" in text:
                raise Failure("input", "the line is not valid UTF-8")
            if len(fields) != arity:
                raise Failure("input", f"{request.name} takes {arity} value{'s' if arity > 1 else ''} a line "
                                       f"({names}), not {len(fields)}")
            if bar is None:
                line = request.compute(fields, number)
            else:
                with bar.call(f"line {number}"), progress.reporting(bar):
                    line = request.compute(fields, number)
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # one line failed: say which and why, then go on
            failure = classify(exc)
            first_failure = first_failure or failure.status
            if request.as_json:
                line = document(failure, number)
            else:
                line = "\n"
                err.write(f"spouge: line {number}: {failure.message}\n")
                err.flush()
        out.write(line)
        if interactive:
            out.flush()
    out.flush()
    return first_failure
