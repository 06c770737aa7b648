"""The computed commands over RESP and inline: GAMMA, FACTORIAL, LGAMMA, RGAMMA, LOGGAMMA, BETA, BINOMIAL, RISING,
FALLING.

Owns: the syntax shared by all of them and how an outcome becomes a reply.

    NAME arg [arg] [digits] [DIGITS n] [BITS n] [ROUNDING mode] [WITHSIGN]

The arguments are positional (one, or two for BETA a b, BINOMIAL n k,
RISING x n, FALLING x n); then an optional bare digits count (the old
``GAMMA x 50``), then options in any order, case-insensitive: DIGITS n,
BITS n (binary, instead of digits), ROUNDING nearest|down|up|zero|away|enclosure,
and for LGAMMA, WITHSIGN.  Replies: the value as a bulk string; ROUNDING
enclosure gives an array [lower, upper]; WITHSIGN appends the sign of Γ(x)
as an integer ([value, sign] or [lower, upper, sign]).  Every bad input is
one error line (compute.prepare's messages) with a code by kind
(``compute.RESP_CODES``): -ERR for bad or out-of-range input, -DOMAIN at a
pole, -TIMEOUT past --compute-timeout, -BUSY when the pool is overloaded.
"""

from __future__ import annotations

from typing import Any

from ...protocol import resp
from ..compute import ARGUMENTS, RESP_CODES, ComputeError
from .table import redis_command, text

#: name -> (summary, whether the arguments may be complex)
FUNCTIONS = {
    "GAMMA": ("Γ(x), correctly rounded (complex x: relative accuracy)", True),
    "FACTORIAL": ("x! = Γ(x+1), correctly rounded (complex x: relative accuracy)", True),
    "LGAMMA": ("ln|Γ(x)| for real x; WITHSIGN adds the sign of Γ(x)", False),
    "RGAMMA": ("1/Γ(x) for real x: exactly 0 at the poles", False),
    "LOGGAMMA": ("log Γ(z) on the principal branch (real or complex z; digits only)", True),
    "BETA": ("B(a, b) = Γ(a)Γ(b)/Γ(a+b) for real a, b", False),
    "BINOMIAL": ("the binomial coefficient C(n, k) for real n, k (exact where n, k are integers)", False),
    "RISING": ("the rising factorial x(x+1)...(x+n-1) = Γ(x+n)/Γ(x)", False),
    "FALLING": ("the falling factorial x(x-1)...(x-n+1) = Γ(x+1)/Γ(x-n+1)", False),
}

OPTIONS = ("DIGITS", "BITS", "ROUNDING", "WITHSIGN")


def _argument_docs(name: str) -> tuple[dict, ...]:
    """COMMAND DOCS' argument entries for one computed command."""
    positional = tuple({"name": arg, "type": "string"} for arg in ARGUMENTS[name.lower()])
    options: list[dict[str, Any]] = [
        {"name": "digits", "type": "integer", "flags": ("optional",)},
        {"name": "digits-option", "type": "block", "flags": ("optional",), "token": "DIGITS",
         "arguments": ({"name": "digits", "type": "integer"},)},
    ]
    if name != "LOGGAMMA":
        options.append({"name": "bits", "type": "integer", "flags": ("optional",), "token": "BITS"})
        options.append({"name": "rounding", "type": "oneof", "flags": ("optional",), "token": "ROUNDING",
                        "arguments": tuple({"name": m, "type": "pure-token", "token": m.upper()}
                                           for m in ("nearest", "down", "up", "zero", "away", "enclosure"))})
    if name == "LGAMMA":
        options.append({"name": "withsign", "type": "pure-token", "flags": ("optional",), "token": "WITHSIGN"})
    return positional + tuple(options)


def parse_options(name: str, rest: list[bytes]) -> tuple[str | None, str | None, str | None, bool]:
    """(digits, rounding, bits, withsign) from what follows the arguments; ComputeError if malformed."""
    rest = list(rest)
    digits = rounding = bits = None
    withsign = False
    if rest and rest[0].upper().decode("latin-1") not in OPTIONS:
        digits = text(rest.pop(0), "digits")
    while rest:
        option = rest.pop(0).decode("latin-1").upper()
        if option == "WITHSIGN" and name == "LGAMMA":
            withsign = True
            continue
        if option not in ("DIGITS", "BITS", "ROUNDING"):
            allowed = "DIGITS, BITS, ROUNDING" + (", WITHSIGN" if name == "LGAMMA" else "")
            raise ComputeError("bad_request",
                               f"syntax error: unknown option '{option[:40]}' for {name} (expected {allowed})")
        if not rest:
            raise ComputeError("bad_request", f"syntax error: {option} needs a value")
        value = text(rest.pop(0), option.lower())
        if option == "DIGITS":
            if digits is not None:
                raise ComputeError("bad_request", "syntax error: digits given twice")
            digits = value
        elif option == "BITS":
            if bits is not None:
                raise ComputeError("bad_request", "syntax error: BITS given twice")
            bits = value
        else:
            if rounding is not None:
                raise ComputeError("bad_request", "syntax error: ROUNDING given twice")
            rounding = value
    return digits, rounding, bits, withsign


def resp_outcome(outcome, withsign: bool = False) -> tuple[bytes, str]:
    """An outcome (or ComputeError) as a RESP reply and its status label."""
    if isinstance(outcome, ComputeError):
        return resp.error(f"{RESP_CODES.get(outcome.kind, 'ERR')} {outcome.message}"), "error"
    if "lower" in outcome:
        items = [resp.bulk(outcome["lower"]), resp.bulk(outcome["upper"])]
    else:
        items = [resp.bulk(outcome["value"])]
    if withsign:
        items.append(resp.integer(outcome["sign"]))
    return (items[0] if len(items) == 1 else resp.array(items)), "ok"


def _compute_command(name: str):
    function = name.lower()
    arity = len(ARGUMENTS[function])

    def handler(server, conn, slot, args) -> None:
        key = (function, args, conn.protocol)
        cached = server.replies.get(key)
        if cached is not None:
            server.fast.remember(conn.protocol, slot.command, args, cached)  # the next time: fastreplies.py
            conn.complete(slot, cached, "ok")
            return
        try:
            values = tuple(text(a, n) for a, n in zip(args[:arity], ARGUMENTS[function], strict=True))  # (min arity)
            digits, rounding, bits, withsign = parse_options(name, args[arity:])
        except ComputeError as exc:
            conn.complete(slot, *resp_outcome(exc))
            return

        def reply(outcome) -> None:
            data, status = resp_outcome(outcome, withsign)
            if status == "ok":
                server.replies.put(key, data)  # asked again, it is remembered by the frame cache too
            conn.complete(slot, data, status)

        server.compute(slot, function, values[0] if arity == 1 else values, digits, reply, rounding=rounding, bits=bits)

    return handler


for _name, (_summary, _complex) in FUNCTIONS.items():
    _arity = len(ARGUMENTS[_name.lower()])
    redis_command(_name, _arity, _arity + 8, summary=_summary, group="spouge", flags=("readonly",),
                  arguments=_argument_docs(_name))(_compute_command(_name))
