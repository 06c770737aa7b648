"""From (function, x, digits) as received to a result or a classified error, inline or pooled.

Owns: validating arguments once, the cache keys, the cost prediction, and
``Computer``, the one road from a request to a number (Server.compute and
Server.compute_method call it): cache -> shared in-flight job -> inline on
the loop (watched) or the process pool -> reply.

A call is (function, arguments, digits or bits, rounding): every function of
the library (``FUNCTIONS``; beta, binomial, rising and falling take two
arguments, the others one, ``ARGUMENTS`` names them), ``digits`` decimal
digits or ``bits`` binary ones (not both), and a rounding mode of
``numerics.MODES`` or "enclosure".  Every cache key holds all of them.

An outcome is a dict (``outcome``): the function, its arguments by name as
the request spelled them, "digits" or "bits", "rounding", "value" (or
"lower" and "upper" for an enclosure), "exact", "error" (what the value's
own error is: half a unit in the last place in "nearest", less than one in
a directed mode, none when exact; "ulp" and "max_error" as numbers), lgamma's
"sign" of Γ(x), and "method": {"a", "truncation_bound"} (Spouge's parameter
and its truncation bound: details of the method, not the value's error).
For compatibility "a" and "truncation_bound" are also top-level (beta's "a"
is its argument), and "error_bound" is the truncation bound's deprecated old
name.  Or a ``ComputeError`` whose ``kind`` picks the
reply: bad_request -> 400 / -ERR, unprocessable -> 422 / -ERR (digits or x
out of range), domain -> 422 / -DOMAIN (a pole: the value is infinite),
timeout -> 504 / -TIMEOUT, overloaded -> 503 / -BUSY, internal -> 500 / -ERR.

Bounded inline time (issue 10):
- Only work predicted (``numerics.estimate``, with this process's
  coefficient tables as they are) to take at most ``--inline-budget``, and at
  most the watchdog's period even if the rounding loop escalates all the way
  to its ceiling, runs on the loop (``Job.fits_inline``; why not the budget
  for both: see ``Computer._may_inline``).  Anything uncertain -
  the model raises or returns nonsense - goes to the pool.
- Inline work runs under a watchdog: ITIMER_REAL/SIGALRM in the main thread,
  armed for ``max(WATCHDOG_MIN, WATCHDOG_FACTOR * budget)`` (20 ms at the
  default budget).  The handler raises ``_Overrun`` (a BaseException, so no
  ``except Exception`` in the numerics swallows it) at the next bytecode; the
  partial work is dropped and the job is re-submitted to the pool.  The key is
  remembered (``OVERRUN_MEMORY`` keys) so the same input goes straight to the
  pool next time, and inline work pauses for ``OVERRUN_COOLDOWN`` seconds: a
  model that mispredicted once is not trusted again at once.  So a
  misprediction costs the loop one watchdog period, never a stall.
- ``--jobs 0`` (no pool): there is nowhere else to go.  Work predicted to
  take longer than --compute-timeout is refused at once (504); everything
  else runs inline under the watchdog set to --compute-timeout, and an overrun
  is answered 504.  Every other client waits meanwhile: --jobs 0 is for
  tests and embedding, not for serving untrusted clients.
- Pooled work is bounded by --compute-timeout from submission (pool.py).
"""

from __future__ import annotations

import logging
import math
import re
import signal
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from .. import numerics
from ..numerics.result import int_text
from .cache import LRUCache  # noqa: F401 - app.py imports it from here
from .pool import Overloaded

log = logging.getLogger("spouge.compute")

FUNCTIONS = {
    "factorial": numerics.factorial, "gamma": numerics.gamma, "lgamma": numerics.lgamma, "rgamma": numerics.rgamma,
    "loggamma": numerics.loggamma, "beta": numerics.beta, "binomial": numerics.binomial, "rising": numerics.rising,
    "falling": numerics.falling,
}

#: Each function's arguments, by name (the HTTP parameters, the JSON keys).
ARGUMENTS = {
    "factorial": ("x",), "gamma": ("x",), "lgamma": ("x",), "rgamma": ("x",), "loggamma": ("x",),
    "beta": ("a", "b"), "binomial": ("n", "k"), "rising": ("x", "n"), "falling": ("x", "n"),
}

#: Functions that take a complex argument (their complex results have a relative accuracy, so nearest decimal only).
COMPLEX = frozenset({"factorial", "gamma", "loggamma"})

#: Functions whose results are complex or real on one road: no rounding modes or bits= at all.
DIGITS_ONLY = frozenset({"loggamma"})

ROUNDINGS = (*numerics.MODES, "enclosure")
MAX_BITS = getattr(numerics, "MAX_BITS", 332_193)
_UNDECIDED = (getattr(numerics, "UndecidedError", ArithmeticError), ArithmeticError)  # older numerics: ArithmeticError

#: The default inline budget in seconds (Config.inline_budget); kept under its
#: old name for callers that compare ``job.cost`` with it.
INLINE_COST_LIMIT = 0.001

#: The watchdog fires at this multiple of the inline budget, and never sooner
#: than WATCHDOG_MIN: the budget is a prediction, the watchdog the guarantee.
#: 20 ms is the most one mispredicted request may hold the loop (issue 10's
#: probe target is 50 ms).
WATCHDOG_FACTOR = 20
WATCHDOG_MIN = 0.02

#: After an overrun, inline work pauses this long (everything not cached goes
#: to the pool), and the overrunning key is remembered (this many of them).
OVERRUN_COOLDOWN = 1.0
OVERRUN_MEMORY = 4096

#: Coefficient tables are per process, and only inline work builds this
#: process's: work that fits the budget once its table is built, but not
#: before, may run inline to build it if that is predicted to take at most
#: COLD_INLINE_MAX, and at most once per WARM_UP_INTERVAL (so at most 0.5%
#: of the loop's time, whatever a client asks).  Tables up to ~400 digits.
COLD_INLINE_MAX = 0.005
WARM_UP_INTERVAL = 1.0

#: Without numerics.estimate (older numerics), the old a*limbs cost model
#: converted to seconds: 40000 units were ~0.3 ms warm.
_FALLBACK_SECONDS_PER_UNIT = 7.5e-9

_DIGITS_RE = re.compile(r"[+-]?[0-9]{1,12}")  # ASCII only: str.isdigit() admits "\uff13" (fullwidth 3) and "²"

HTTP_STATUS = {"bad_request": 400, "unprocessable": 422, "domain": 422, "timeout": 504, "overloaded": 503,
               "internal": 500}

#: The RESP error code of each kind (Redis's habit: an upper-case word, then the message).  redis-py
#: raises ResponseError for all of them; clients tell them apart by the code.
RESP_CODES = {"bad_request": "ERR", "unprocessable": "ERR", "domain": "DOMAIN", "timeout": "TIMEOUT",
              "overloaded": "BUSY", "internal": "ERR"}


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
    x: str | tuple  # the argument as spelled (stripped); a tuple of them for two-argument functions
    digits: int  # decimal digits, or the bits when ``bits`` is set
    key: tuple
    seconds: float  # predicted wall time of the call now, first pass (inf: unknown)
    worst_seconds: float  # ... now, if the rounding loop escalates all the way (inf: unknown)
    warm_seconds: float = math.inf  # ... with the coefficient table already built here
    warm_worst_seconds: float = math.inf
    rounding: str = "nearest"
    bits: int | None = None

    @property
    def pool_args(self) -> tuple:
        """What ``execute`` takes in a worker (the short form for the default options)."""
        if self.rounding == "nearest" and self.bits is None:
            return (self.function, self.x, self.digits)
        return (self.function, self.x, self.digits, self.rounding, self.bits)

    @property
    def cost(self) -> float:
        """The expected time in seconds (kept under the old name)."""
        return self.seconds

    def fits_inline(self, budget: float, worst_limit: float) -> bool:
        """May this run on the loop as things are?  (see Computer._may_inline)"""
        return self.seconds <= budget and self.worst_seconds <= worst_limit

    def fits_inline_warm(self, budget: float, worst_limit: float) -> bool:
        """Would it, once this process holds its coefficient table?"""
        return self.warm_seconds <= budget and self.warm_worst_seconds <= worst_limit


def _count(text: str, what: str) -> int:
    text = text.strip()
    if not _DIGITS_RE.fullmatch(text):
        raise ComputeError("bad_request", f"{what} must be an integer, not {text[:40]!r}")
    return int(text)


def parse_rounding(text: str | None) -> str:
    """A rounding mode's name (case-insensitive) or ComputeError; None or "" is "nearest"."""
    if text is None or text == "":
        return "nearest"
    mode = text.strip().lower()
    if mode not in ROUNDINGS:
        raise ComputeError("bad_request", f"rounding must be one of {', '.join(ROUNDINGS)}, not {text[:40]!r}")
    return mode


def prepare(function: str, x, digits_text: str | None, max_digits: int, rounding: str | None = None,
            bits_text: str | None = None) -> Job:
    """Check the arguments (cheaply) and build a Job; raise ComputeError for bad input.

    x: the argument's text, or a tuple of them for a two-argument function.
    digits_text and bits_text: at most one of them (None or "" when absent).
    """
    names = ARGUMENTS.get(function)
    if names is None:
        raise ComputeError("bad_request", f"unknown function {function[:40]!r}")
    args = (x,) if isinstance(x, str) else tuple(x)
    if len(args) != len(names):
        raise ComputeError("bad_request",
                           f"{function} takes {len(names)} argument{'s' * (len(names) > 1)} ({', '.join(names)})")
    mode = parse_rounding(rounding)
    if digits_text and bits_text:  # (None or "" when absent)
        raise ComputeError("bad_request", "give digits or bits, not both")
    bits = None
    if bits_text:
        bits = _count(bits_text, "bits")
        top = min(MAX_BITS, math.floor(max_digits * math.log2(10)))
        if not 1 <= bits <= top:
            raise ComputeError("unprocessable", f"bits must be between 1 and {top} on this server, not {bits}")
        digits = bits
    else:
        digits = _count(digits_text, "digits") if digits_text else 16
        if digits < 1:
            raise ComputeError("unprocessable", f"digits must be at least 1, not {digits}")
        if digits > max_digits:
            raise ComputeError("unprocessable", f"digits must be at most {max_digits} on this server, not {digits}")
    if function in DIGITS_ONLY and (mode != "nearest" or bits is not None):
        raise ComputeError("bad_request",
                           f"{function} takes digits only (no rounding modes or bits: "
                           "its complex results have a relative accuracy)")
    values = []
    for name, text in zip(names, args, strict=True):  # (the counts were checked above)
        try:
            parsed = numerics.parse_number(text) if function in COMPLEX else numerics.parse_real(text, name)
        except (TypeError, ValueError) as exc:
            kind = "unprocessable" if "out of range" in str(exc) else "bad_request"
            message = str(exc) if len(names) == 1 or name in str(exc)[:12] else f"{name}: {exc}"
            raise ComputeError(kind, message) from None
        if isinstance(parsed, tuple) and (mode != "nearest" or bits is not None):
            raise ComputeError("bad_request",
                               "rounding modes and bits are for real arguments "
                               "(complex results have a relative accuracy)")
        values.append(parsed)
    args = tuple(a.strip() for a in args)
    spelled = args[0] if len(args) == 1 else args
    value = values[0] if len(values) == 1 else tuple(values)
    if mode == "nearest" and bits is None:  # (the defaults: predict is called without them)
        key: tuple = (function, value, digits)
        times = predict(function, spelled, value, digits)
    else:
        key = (function, value, digits, mode, bits)
        times = predict(function, spelled, value, digits, rounding=mode, bits=bits)
    return Job(function, spelled, digits, key, *times, rounding=mode, bits=bits)


def predict(function: str, x, value, digits: int, rounding: str = "nearest",
            bits: int | None = None) -> tuple[float, float, float, float]:
    """Seconds of function(x, digits) in this process: (now, worst now, warm, worst warm); inf when unknown.

    From ``numerics.estimate``: "now" is ``seconds`` (the first pass, with the
    coefficient table as it is now); "worst now" is ``worst_seconds`` with the
    first pass's table priced as it is now rather than cold (worst -
    cold_seconds + seconds): a table this process holds is not rebuilt; the
    warm pair assumes the table is held.  The parsed value is passed for a
    real x (already parsed here); a complex x is passed as its text; the
    two-argument functions' pair is passed as text (the model parses it).
    Anything the model cannot price - it raises, or returns NaN - is unknown,
    and unknown goes to the pool.
    """
    unknown = (math.inf,) * 4
    estimate = getattr(numerics, "estimate", None)
    if estimate is None:  # older numerics: the old cost model, a*limbs
        if (function in ARGUMENTS and len(ARGUMENTS[function]) > 1) or function not in ("gamma", "factorial", "lgamma"):
            return unknown
        cost = _fallback_cost(value, digits) * _FALLBACK_SECONDS_PER_UNIT
        return cost, cost, cost, cost
    options = {} if rounding == "nearest" and bits is None else {"rounding": rounding, "bits": bits}
    try:
        e = estimate(function, value if isinstance(value, Fraction) else x, digits, **options)
        seconds, warm = float(e.seconds), float(e.warm_seconds)
        cold, worst = float(e.cold_seconds), float(e.worst_seconds)
    except numerics.PoleError as exc:
        raise ComputeError("domain", str(exc)) from None
    except (TypeError, ValueError, ArithmeticError, AttributeError):
        return unknown  # uncertain: the pool's run() gives the definitive answer
    except Exception:  # a bug in the model must not cost the request; the pool is always safe
        log.exception("numerics.estimate(%r, %.40r, %d) failed", function, x, digits)
        return unknown
    if not all(t >= 0 for t in (seconds, warm, cold, worst)):  # NaN or negative: not a prediction
        return unknown
    return seconds, max(worst - cold + seconds, seconds), warm, max(worst - cold + warm, warm)


def _fallback_cost(value: Fraction | tuple, digits: int) -> float:
    parts = value if isinstance(value, tuple) else (value,)
    magnitude = max(abs(p.numerator).bit_length() - p.denominator.bit_length() for p in parts)
    bits = digits * 3.33 + 40 + max(0, magnitude) + (max(0, magnitude) and math.log2(magnitude + 1) * 4)
    a = bits / 2.65
    cost = a * (bits / 64 + 1)
    return cost * (3 if isinstance(value, tuple) else 1)


def run(job_function: str, x, digits: int, rounding: str = "nearest", bits: int | None = None) -> dict:
    """Compute one job (inline or in a worker): its outcome; raise ComputeError for domain errors."""
    args = (x,) if isinstance(x, str) else tuple(x)
    keywords: dict[str, Any] = {"digits": digits}
    if rounding != "nearest" or bits is not None:
        keywords.update(rounding=rounding, bits=bits)
    try:
        result = FUNCTIONS[job_function](*args, **keywords)
        sign = numerics.gamma_sign(args[0]) if job_function == "lgamma" else None
    except numerics.PoleError as exc:
        raise ComputeError("domain", str(exc)) from None
    except _UNDECIDED as exc:  # the rounding loop reached its ceiling: ours to fix, not the client's
        raise ComputeError("internal", str(exc)) from None
    except (TypeError, ValueError) as exc:
        raise ComputeError("bad_request", str(exc)) from None
    return outcome(job_function, args, result, rounding, sign)


_ERRORS = {
    "nearest": "at most half a unit in the last place (rounded to nearest, ties to even)",
    "down": "less than one unit in the last place, below the true value (rounded down, toward -inf)",
    "up": "less than one unit in the last place, above the true value (rounded up, toward +inf)",
    "zero": "less than one unit in the last place, toward zero (truncated)",
    "away": "less than one unit in the last place, away from zero",
}


def _power_text(radix: int, exponent: int, lead: int = 1) -> str:
    """lead * radix^exponent as text: "5e-17" or "0x1p-53" (as the values print)."""
    sign = "-" if exponent < 0 else "+"
    digits = int_text(abs(exponent))  # exponents of huge values have more digits than str() allows
    if radix == 10:
        return f"{lead}e{sign}{digits}"
    return f"0x{lead:x}p{sign}{digits}"


def _error_fields(result, rounding: str) -> dict:
    """What the value's own error is: "error" in words, "ulp" and "max_error" (absolute) as text."""
    if isinstance(result, numerics.ComplexSpougeResult):
        return {"error": f"relative error below 10^-{result.digits} of |value| "
                         "(complex results are not rounded part by part)",
                "max_relative_error": f"1e-{result.digits}"}
    if result.exact:
        return {"error": "none: the value is exact", "max_error": "0"}
    ulp_exponent = result.exponent - result.digits + 1
    fields = {"error": _ERRORS[rounding], "ulp": _power_text(result.radix, ulp_exponent)}
    if rounding == "nearest":
        fields["max_error"] = (_power_text(10, ulp_exponent - 1, 5) if result.radix == 10
                               else _power_text(2, ulp_exponent - 1))
    else:
        fields["max_error"] = fields["ulp"]
    return fields


def outcome(function: str, args: tuple, result, rounding: str = "nearest", sign: int | None = None) -> dict:
    """The JSON-ready outcome of a call (the module's docstring lists its keys)."""
    out: dict[str, Any] = {"function": function}
    out.update(zip(ARGUMENTS[function], args, strict=True))  # (the call took exactly these)
    if isinstance(result, tuple) and hasattr(result, "lower"):  # an Enclosure
        lower, upper = result
        first = lower
        out["bits" if lower.radix == 2 else "digits"] = lower.digits
        out.update(rounding="enclosure", lower=str(lower), upper=str(upper), exact=bool(lower.exact and upper.exact),
                   error="the true value lies between lower (rounded down) and upper (rounded up)")
    else:
        first = result
        radix = getattr(result, "radix", 10)
        out["bits" if radix == 2 else "digits"] = result.digits
        out.update(rounding=rounding, value=str(result), exact=bool(getattr(result, "exact", False)))
        out.update(_error_fields(result, rounding))
    if sign is not None:
        out["sign"] = sign
    bound = getattr(first, "truncation_bound", None) or first.error_bound
    out["method"] = {"a": first.a, "truncation_bound": bound}
    if "a" not in out:  # beta's first argument is named a: Spouge's a is then in "method" only
        out["a"] = first.a
    out.update(truncation_bound=bound, error_bound=bound)
    return out


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
        raise ComputeError("unprocessable" if "need" in str(exc) or "between" in str(exc) else "bad_request",
                           str(exc)) from None


def execute(args: tuple) -> dict:
    """A pool job: ("method", function, x, max_a, a) or Job.pool_args: (function, x, digits[, rounding, bits])."""
    if args[0] == "method":
        return run_method(*args[1:])
    return run(*args)


# --- the inline watchdog --------------------------------------------------------
class _Overrun(BaseException):
    """Raised by SIGALRM inside an inline computation that outran its watchdog."""


_MAIN_THREAD = threading.main_thread().ident


class _Watch:
    armed = False
    late = False  # our timer fired but its handler has not run yet: swallow the next alarm
    previous: Any = None  # the SIGALRM handler ours replaced; alarms not ours are passed to it


def _on_alarm(signum, frame) -> None:
    if _Watch.armed:
        _Watch.armed = False
        raise _Overrun
    if _Watch.late:
        _Watch.late = False
        return
    previous = _Watch.previous
    if callable(previous):
        previous(signum, frame)


def watched(fn, args: tuple, limit: float):
    """fn(*args), or raise _Overrun once `limit` seconds of wall time pass (main thread only).

    Off the main thread signals cannot reach us: fn runs unwatched.  Our
    SIGALRM handler stays installed once set (re-installing costs 3.5 µs a
    call; setitimer 1 µs); it passes alarms that are not ours to the handler
    it replaced, and a timer someone else had running is re-armed afterwards.
    """
    if threading.get_ident() != _MAIN_THREAD or not limit > 0 or math.isinf(limit):
        return fn(*args)
    if signal.getsignal(signal.SIGALRM) is not _on_alarm:
        _Watch.previous = signal.signal(signal.SIGALRM, _on_alarm)
    other, _ = signal.setitimer(signal.ITIMER_REAL, limit)
    started = time.monotonic() if other else 0.0
    _Watch.armed = True
    try:
        return fn(*args)
    finally:
        # An alarm landing here raises _Overrun out of this block: still right,
        # the caller then treats the call as overrun (its timer has fired).
        remaining = signal.setitimer(signal.ITIMER_REAL, 0)[0]
        _Watch.late = _Watch.armed and remaining == 0  # fired, handler still to run: it must not reach `previous`
        _Watch.armed = False
        if other:
            signal.setitimer(signal.ITIMER_REAL, max(1e-6, other - (time.monotonic() - started)))


class _RecentKeys:
    """A bounded set of key hashes (oldest forgotten first): inputs known to outrun the budget."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._hashes: dict[int, None] = {}

    def add(self, key) -> None:
        h = hash(key)
        self._hashes.pop(h, None)
        self._hashes[h] = None
        if len(self._hashes) > self.size:
            del self._hashes[next(iter(self._hashes))]

    def __contains__(self, key) -> bool:
        return hash(key) in self._hashes


def _with_x(outcome: dict, x) -> dict:
    """The outcome as this request spelled its arguments ("0.10" shares 0.1's computation)."""
    names = ARGUMENTS.get(outcome.get("function", ""), ("x",))
    spelled = dict(zip(names, (x,) if isinstance(x, str) else x, strict=False))  # an unknown function: x only
    if all(outcome.get(name) == text for name, text in spelled.items()):
        return outcome
    return {**outcome, **spelled}


# --- the road from a request to a number ------------------------------------------
class Computer:
    """Dispatch for one server: caches, shared jobs, inline (watched) or pooled work."""

    def __init__(self, server) -> None:
        config = server.config
        self.server = server
        self.cache = server.cache
        self.pool = server.pool
        self.max_digits = config.max_digits
        self.budget = config.inline_budget
        self.timeout = config.compute_timeout
        self.watchdog = max(WATCHDOG_MIN, WATCHDOG_FACTOR * self.budget) if self.pool is not None else self.timeout
        self.cooldown_until = 0.0
        self.next_warm_up = 0.0
        self.overran = _RecentKeys(OVERRUN_MEMORY)
        self.stats = {"inline": 0, "pooled": 0, "shared": 0, "overruns": 0, "warm_ups": 0, "shared_hits": 0}
        self.shared = server.shared  # the Redis cache of --cache-redis, or None
        self.shared_min_seconds = config.cache_redis_min_seconds

    # --- values --------------------------------------------------------------
    def compute(self, slot, function: str, x, digits: str | None, reply, rounding: str | None = None,
                bits: str | None = None) -> None:
        """reply(outcome | ComputeError) exactly once, now or later; slot.job is set while pooled.

        x: the argument's text, or a tuple of them (two-argument functions);
        digits, rounding, bits: the texts as received (None when absent).
        """
        cache = self.cache
        # The request exactly as received is a cache key of its own: a repeated
        # request is answered without parsing.  The exact value is the second
        # key, so "0.1" and "0.10" still share one computation.
        raw_key = (function, x, digits) if rounding is None and bits is None else (function, x, digits, rounding, bits)
        cached = cache.get(raw_key)
        if cached is not None:
            reply(cached)
            return
        try:
            job = prepare(function, x, digits, self.max_digits, rounding, bits)
        except ComputeError as exc:
            reply(exc)
            return
        cached = cache.get(job.key)
        if cached is not None:
            outcome = _with_x(cached, job.x)
            cache.put(raw_key, outcome)
            reply(outcome)
            return
        shared = self.shared
        share = shared is not None and job.seconds >= self.shared_min_seconds

        def done(outcome) -> None:
            if not isinstance(outcome, ComputeError):
                if share:
                    shared.set(repr(job.key), outcome)
                outcome = _with_x(outcome, job.x)
                cache.put(job.key, outcome)
                cache.put(raw_key, outcome)
            reply(outcome)

        if share and shared.ready:
            # Another replica may have paid for it: ask Redis first (a miss within its timeout, whatever happens).
            def on_shared(value) -> None:
                if value is not None and value.get("function") == job.function and "value" in value:
                    self.stats["shared_hits"] += 1
                    outcome = _with_x(value, job.x)
                    cache.put(job.key, outcome)
                    cache.put(raw_key, outcome)
                    reply(outcome)
                    return
                self._run_job(slot, job, done)

            shared.get(repr(job.key), on_shared)
            return
        self._run_job(slot, job, done)

    def _run_job(self, slot, job: Job, done) -> None:
        """Compute a job that no cache had: inline (watched) when cheap, else in the pool."""
        pool = self.pool
        if pool is None:
            self._compute_without_pool(job, done)
            return
        if job.key not in pool.inflight and self._may_inline(job):
            try:
                outcome = watched(run, job.pool_args, self.watchdog)
            except ComputeError as exc:
                outcome = exc
            except _Overrun:
                outcome = None
                self._overran(job)
            if outcome is not None:
                self.stats["inline"] += 1
                done(outcome)
                return
        self._submit(slot, job.pool_args, done, job.key)

    def _may_inline(self, job: Job) -> bool:
        """Run this on the loop?

        Inline work must be expected to take at most the budget (its first
        pass) and, should the rounding loop escalate all the way to its
        ceiling (odds ~2^-16 a pass; the numerics plan a known boundary
        case's climb into the first estimate), at most the watchdog's period,
        so that even then it ends before the watchdog cuts it.  The literal
        "worst case under the budget" would send even gamma(0.5, 100) to the
        pool (worst ~7 ms warm: every escalation pass is priced with a cold
        table).  What the worst-case test catches is the hostile class:
        inputs of many bits (long x, x near 10^-10000) whose ceilings are
        seconds to minutes away.  Then: not in the cool-down after an
        overrun, and not a key that overran before.
        """
        if self.cooldown_until and time.monotonic() < self.cooldown_until:
            return False
        if job.fits_inline(self.budget, self.watchdog):
            return job.key not in self.overran
        if (job.seconds <= COLD_INLINE_MAX and job.fits_inline_warm(self.budget, self.watchdog)
                and time.monotonic() >= self.next_warm_up):
            # Cheap once its coefficient table is built here, which only an inline run does:
            # build it now, at most one such run per WARM_UP_INTERVAL.
            if job.key in self.overran:
                return False
            self.next_warm_up = time.monotonic() + WARM_UP_INTERVAL
            self.stats["warm_ups"] += 1
            return True
        return False

    def _overran(self, job: Job) -> None:
        self.stats["overruns"] += 1
        self.overran.add(job.key)
        self.cooldown_until = time.monotonic() + OVERRUN_COOLDOWN
        log.info("inline %s(%.40s, %d) outran the %.0f ms watchdog (predicted %.3g ms, worst %.3g ms); "
                 "sent to the pool",
                 job.function, job.x, job.digits, self.watchdog * 1e3, job.seconds * 1e3, job.worst_seconds * 1e3)

    def _compute_without_pool(self, job: Job, done) -> None:
        if math.isfinite(job.seconds) and job.seconds > self.timeout:
            done(ComputeError("timeout",
                              f"computation would take longer than {self.timeout:g} s (predicted {job.seconds:.3g} s)"))
            return
        try:
            outcome = watched(run, job.pool_args, self.timeout)
        except ComputeError as exc:
            outcome = exc
        except _Overrun:
            self.stats["overruns"] += 1
            outcome = ComputeError("timeout", f"computation took longer than {self.timeout:g} s")
        self.stats["inline"] += 1
        done(outcome)

    def _submit(self, slot, args: tuple, done, key) -> None:
        pool = self.pool
        shared = key in pool.inflight
        try:
            slot.job = pool.submit(args, done, key=key)
        except Overloaded as exc:
            done(ComputeError("overloaded", f"server overloaded: {exc}"))
            return
        self.stats["shared" if shared else "pooled"] += 1

    # --- the method pictures --------------------------------------------------------
    def compute_method(self, slot, function: str, x: str, max_a: int, a: int, reply) -> None:
        """The method pictures' data: in the pool (up to ~0.3 s of work), or inline (watched) without one."""
        args = ("method", function, x, max_a, a)
        if self.pool is None:
            try:
                outcome = watched(execute, (args,), self.timeout)
            except ComputeError as exc:
                outcome = exc
            except _Overrun:
                outcome = ComputeError("timeout", f"computation took longer than {self.timeout:g} s")
            reply(outcome)
            return
        self._submit(slot, args, reply, args)
