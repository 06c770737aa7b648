"""One value on the command line: call the library function and print its result.

Owns: FUNCTIONS (the subcommands that compute), ``Request`` (what the options
ask, the same for every value of a batch) and the shapes of a result: the text
line and the JSON object.

Invariants: a result is one line ending in a newline (text, or one JSON
document); the options are checked once (``Request.make``) before any value is
computed, so a batch never fails the same way on every line.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from .. import numerics
from .failures import Failure

#: name -> (function, what it prints, example arguments, argument names, what the arguments are)
FUNCTIONS = {
    "factorial": (numerics.factorial, "x! = Γ(x+1)", "100", ("x",), "a real or complex x"),
    "gamma": (numerics.gamma, "Γ(x)", "0.5", ("x",), "a real or complex x"),
    "lgamma": (numerics.lgamma, "ln|Γ(x)|", "1e100", ("x",), "a real x"),
    "rgamma": (numerics.rgamma, "1/Γ(x) (0 at the poles)", "-3", ("x",), "a real x"),
    "loggamma": (numerics.loggamma, "log Γ(z), principal branch", "3+4j", ("z",), "a real or complex z"),
    "beta": (numerics.beta, "B(a, b) = Γ(a)Γ(b)/Γ(a+b)", "0.5 0.5", ("a", "b"), "real a and b"),
    "binomial": (numerics.binomial, "the binomial coefficient C(n, k)", "1e100 3", ("n", "k"), "real n and k"),
    "rising": (numerics.rising, "the rising factorial x(x+1)...(x+n-1)", "0.5 10", ("x", "n"), "real x and n"),
    "falling": (numerics.falling, "the falling factorial x(x-1)...(x-n+1)", "10 3", ("x", "n"), "real x and n"),
}

DEFAULT_DIGITS = 16


@dataclass(frozen=True)
class Request:
    """A function and its options, checked: call ``compute(arguments)`` for each value."""

    name: str
    keywords: dict[str, Any] = field(default_factory=dict)
    sign: bool = False
    as_json: bool = False

    @property
    def arity(self) -> int:
        return len(FUNCTIONS[self.name][3])

    @classmethod
    def make(cls, name: str, digits: int | None, bits: int | None, rounding: str,
             sign: bool = False, as_json: bool = False) -> Request:
        """Check the options once; raise Failure("input"/"usage") for a bad one."""
        if digits is not None and bits is not None:
            raise Failure("usage", "give digits or --bits, not both")
        try:
            checked = numerics.check_digits(DEFAULT_DIGITS if digits is None else digits)
        except (TypeError, ValueError) as exc:
            raise Failure("input", str(exc)) from None
        if bits is not None and not 1 <= bits <= numerics.MAX_BITS:
            raise Failure("input", f"bits must be 1..{numerics.MAX_BITS}, not {bits}")
        if name == "loggamma" and (rounding != "nearest" or bits is not None):
            raise Failure("usage", "loggamma takes digits only (its complex results have a relative accuracy)")
        keywords: dict[str, Any] = {"digits": checked}
        if rounding != "nearest" or bits is not None:
            keywords.update(rounding=rounding, bits=bits)
        return cls(name, keywords, sign, as_json)

    def compute(self, arguments: list[str] | tuple[str, ...], line: int | None = None) -> str:
        """The result line (with its newline) for one value; the library's exceptions pass through.

        line: the input line's number in a batch (JSON: a "line" field first).
        """
        started = time.perf_counter()
        result = FUNCTIONS[self.name][0](*arguments, **self.keywords)
        sign = numerics.gamma_sign(arguments[0]) if self.sign else None
        elapsed = time.perf_counter() - started
        extra = {"sign": sign} if sign is not None else {}
        head = {"line": line} if line is not None else {}
        if isinstance(result, numerics.Enclosure):
            if self.as_json:
                return json.dumps({**head, "lower": result.lower.as_dict(), "upper": result.upper.as_dict(), **extra,
                                   "elapsed_seconds": round(elapsed, 6)}) + "\n"
            return f"{result.lower} {result.upper}" + (f" {sign:+d}" if sign is not None else "") + "\n"
        assert not isinstance(result, tuple), "the CLI never asks lgamma for with_sign: it calls gamma_sign"
        if self.as_json:
            return json.dumps({**head, **result.as_dict(), **extra, "elapsed_seconds": round(elapsed, 6)}) + "\n"
        return (str(result) if sign is None else f"{result} {sign:+d}") + "\n"
