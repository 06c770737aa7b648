"""The `spouge` command: argument parsing and printing; nothing else.

Subcommands:  factorial X | gamma X | lgamma X | rgamma X | loggamma Z
              beta A B | binomial N K | rising X N | falling X N
                  [--digits N | --bits N] [--rounding MODE] [--json]   (lgamma: [--sign])
              fgamma X            (a double in, the nearest double out)
              serve [...]          (the network server)
Bad input (a pole, a malformed x, digits out of range) is reported on stderr
with exit status 2, like argparse's own usage errors.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time

from . import numerics

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

#: Functions whose results are real and so take --rounding and --bits.
REAL_ONLY = {"lgamma", "rgamma", "beta", "binomial", "rising", "falling"}

EPILOG = """\
x is exact: "0.1" means 1/10, not the nearest float.  Accepted forms: 100, -2.5,
1e100, 0.1, and for factorial/gamma/loggamma complex values such as 3+4j.
Real results are correctly rounded to --digits significant digits (or --bits
bits) in the --rounding mode: nearest (ties to even, the default), down, up,
zero, away.  Complex results have a relative error below 10^-digits.
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse exits 2 as well; keep one message style
        self.print_usage(sys.stderr)
        self.exit(2, f"spouge: error: {message}\n")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="spouge",
        description="n!, Γ(x) and ln|Γ(x)| to any number of correct digits by Spouge's formula, "
        "and a server that answers them over RESP, inline commands and HTTP.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from .numerics import corebridge

    parser.add_argument("--version", action="version",
                        version=f"spouge {__import__('spouge').__version__} (core: {corebridge.description})")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (_, what, example, arg_names, kind) in FUNCTIONS.items():
        p = sub.add_parser(
            name,
            help=f"print {what}",
            description=f"Print {what} for {kind}, correctly rounded to --digits significant digits.",
            epilog=f"example: spouge {name} {example} --digits 30",
        )
        # x may be negative ("-1e5", "-2.5+1j"): never read those as options
        p._negative_number_matcher = re.compile(r"^-(\d|\.\d)")
        for arg_name in arg_names:
            p.add_argument(arg_name, help=f"{kind}, exact as written")
        p.add_argument("-d", "--digits", type=int, default=16, help="significant digits (1 to %d; default 16)" % numerics.MAX_DIGITS)
        p.add_argument("--bits", type=int, default=None, help="round to this many bits in binary instead (real results)")
        p.add_argument("--rounding", choices=numerics.MODES + ("enclosure",), default="nearest",
                       help="rounding mode (real results; default nearest); enclosure prints the value rounded down and up")
        if name == "lgamma":
            p.add_argument("--sign", action="store_true", help="also print the sign of Γ(x) (+1 or -1)")
        p.add_argument("--json", action="store_true", help="print value, digits, a, error bound and elapsed seconds as JSON")
    fg = sub.add_parser("fgamma", help="print Γ(x) for a double x, correctly rounded to a double",
                        description="Γ(x) for a double x as math.gamma, but correctly rounded (never a misrounded last bit).")
    fg._negative_number_matcher = re.compile(r"^-(\d|\.\d)")
    fg.add_argument("x", help="a double (as Python's float() reads it)")
    from . import plot, table
    from .server import cli as server_cli

    server_cli.add_parser(sub)
    plot.add_parser(sub)
    table.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    if args.command == "fgamma":
        try:
            print(repr(numerics.fgamma(float(args.x))))
        except (ValueError, OverflowError) as exc:
            print(f"spouge: error: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.command not in FUNCTIONS:
        return args.run(args)
    function, _, _, arg_names, _ = FUNCTIONS[args.command]
    started = time.perf_counter()
    keywords = {"digits": args.digits}
    if args.rounding != "nearest" or args.bits is not None:
        keywords.update(rounding=args.rounding, bits=args.bits)
    sign = None
    try:
        if args.command == "loggamma" and (args.rounding != "nearest" or args.bits is not None):
            raise ValueError("loggamma takes --digits only (its complex results have a relative accuracy)")
        result = function(*(getattr(args, a) for a in arg_names), **keywords)
        if args.command == "lgamma" and args.sign:
            sign = numerics.gamma_sign(args.x)
    except (ValueError, TypeError) as exc:
        print(f"spouge: error: {exc}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - started
    extra = {"sign": sign} if sign is not None else {}
    if isinstance(result, numerics.Enclosure):
        if args.json:
            print(json.dumps({"lower": result.lower.as_dict(), "upper": result.upper.as_dict(), **extra,
                              "elapsed_seconds": round(elapsed, 6)}))
        else:
            print(f"{result.lower} {result.upper}" + (f" {sign:+d}" if sign is not None else ""))
    elif args.json:
        print(json.dumps({**result.as_dict(), **extra, "elapsed_seconds": round(elapsed, 6)}))
    else:
        print(result if sign is None else f"{result} {sign:+d}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
