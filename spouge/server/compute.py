"""From (function, x, digits) as received to a result or a classified error.

Owns: validating arguments once, the cache key, the cost estimate that decides
inline-or-pool, and the outcome type both dialects format.

An outcome is a dict: {"function", "x", "digits", "value", "a", "error_bound"}
(the library's as_dict()), or a ``ComputeError`` whose ``kind`` picks the
reply: bad_request -> 400, unprocessable -> 422 (poles, digits out of range),
timeout -> 504, overloaded -> 503, internal -> 500; over RESP all are -ERR.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from dataclasses import dataclass
from fractions import Fraction

from .. import numerics

FUNCTIONS = {"factorial": numerics.factorial, "gamma": numerics.gamma, "lgamma": numerics.lgamma}

#: Work above this estimate goes to the pool.  Units: a * limbs, roughly the
#: number of limb operations of the sum; 40000 is ~0.3 ms warm (about 600
#: digits), and a cold coefficient table at that size takes ~10 ms, which is
#: the most one request may hold the loop.
INLINE_COST_LIMIT = 40_000

_DIGITS_RE = re.compile(r"[+-]?[0-9]{1,12}")  # ASCII only: str.isdigit() admits "３" and "²"

HTTP_STATUS = {"bad_request": 400, "unprocessable": 422, "timeout": 504, "overloaded": 503, "internal": 500}


class ComputeError(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message

    def __reduce__(self):  # survive the trip back from a worker process
        return (ComputeError, (self.kind, self.message))

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.kind]


@dataclass(frozen=True, slots=True)
class Job:
    function: str
    x: str
    digits: int
    key: tuple
    cost: float


def prepare(function: str, x: str, digits_text: str | None, max_digits: int) -> Job:
    """Check the arguments (cheaply) and build a Job; raise ComputeError for bad input."""
    if digits_text is None or digits_text == "":
        digits = 16
    else:
        text = digits_text.strip()
        if not _DIGITS_RE.fullmatch(text):
            raise ComputeError("bad_request", f"digits must be an integer, not {digits_text[:40]!r}")
        digits = int(text)
    if digits < 1:
        raise ComputeError("unprocessable", f"digits must be at least 1, not {digits}")
    if digits > max_digits:
        raise ComputeError("unprocessable", f"digits must be at most {max_digits} on this server, not {digits}")
    try:
        value = numerics.parse_real(x) if function == "lgamma" else numerics.parse_number(x)
    except (TypeError, ValueError) as exc:
        kind = "unprocessable" if "out of range" in str(exc) else "bad_request"
        raise ComputeError(kind, str(exc)) from None
    return Job(function, x.strip(), digits, (function, value, digits), estimate_cost(value, digits))


def estimate_cost(value: Fraction | tuple, digits: int) -> float:
    parts = value if isinstance(value, tuple) else (value,)
    magnitude = max(abs(p.numerator).bit_length() - p.denominator.bit_length() for p in parts)
    bits = digits * 3.33 + 40 + max(0, magnitude) + (max(0, magnitude) and math.log2(magnitude + 1) * 4)
    a = bits / 2.65
    cost = a * (bits / 64 + 1)
    return cost * (3 if isinstance(value, tuple) else 1)


def run(job_function: str, x: str, digits: int) -> dict:
    """Compute one job (inline or in a worker); raise ComputeError for domain errors."""
    try:
        return FUNCTIONS[job_function](x, digits=digits).as_dict()
    except numerics.PoleError as exc:
        raise ComputeError("unprocessable", str(exc)) from None
    except (TypeError, ValueError) as exc:
        raise ComputeError("bad_request", str(exc)) from None
    except ArithmeticError as exc:  # pragma: no cover - Ziv gave up: no known input does this
        raise ComputeError("internal", str(exc)) from None


def run_method(function: str, x: str, max_a: int, a: int) -> dict:
    """The pictures' numbers (numerics.method) for function(x)."""
    from ..numerics import method

    try:
        z = method.factorial_argument(function, x)
        return {
            "function": function, "x": x, "z": str(z),
            "curve": method.error_curve(z, max_a),
            "terms": method.terms(z, a),
        }
    except (TypeError, ValueError) as exc:
        raise ComputeError("unprocessable" if "need" in str(exc) or "between" in str(exc) else "bad_request", str(exc)) from None


def execute(args: tuple) -> dict:
    """A pool job: ("method", function, x, max_a, a) or (function, x, digits)."""
    if args[0] == "method":
        return run_method(*args[1:])
    return run(*args)


class LRUCache:
    """A bounded LRU with hit/miss counters.

    Two live in a server: values, keyed by (function, exact x, digits) and by
    the request's own text ("0.1" and "0.10" share one computation); and
    replies, the encoded reply keyed by the request exactly as received
    (dialect included), the fast path for repeated requests: a hit skips
    parsing x, the value cache and encoding.  Only successful computations
    are stored.  The reply cache is given the value cache as ``counters``:
    its hits count as cache hits, and its misses are counted once, by the
    value cache that is asked next.
    """

    def __init__(self, size: int, counters: LRUCache | None = None) -> None:
        self.size = size
        self._data: OrderedDict = OrderedDict()
        self.hits = 0
        self.misses = 0
        self._counters = counters or self
        self._count_misses = counters is None

    def get(self, key):
        entry = self._data.get(key)
        if entry is None:
            if self._count_misses:
                self.misses += 1
            return None
        self._counters.hits += 1
        self._data.move_to_end(key)
        return entry

    def put(self, key, value) -> None:
        if self.size <= 0:
            return
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.size:
            self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)
