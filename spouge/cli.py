"""The `spouge` command: argument parsing and printing; nothing else.

Subcommands:  factorial X | gamma X | lgamma X   [--digits N] [--json]
              serve [...]                          (the network server)
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

FUNCTIONS = {
    "factorial": (numerics.factorial, "x! = Γ(x+1)", "100", "a real or complex x"),
    "gamma": (numerics.gamma, "Γ(x)", "0.5", "a real or complex x"),
    "lgamma": (numerics.lgamma, "ln|Γ(x)|", "1e100", "a real x"),
}

EPILOG = """\
x is exact: "0.1" means 1/10, not the nearest float.  Accepted forms: 100, -2.5,
1e100, 0.1, and for factorial/gamma complex values such as 3+4j.
Results are correctly rounded to --digits significant digits (round half to even).
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
    parser.add_argument("--version", action="version", version=f"spouge {__import__('spouge').__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (_, what, example, kind) in FUNCTIONS.items():
        p = sub.add_parser(
            name,
            help=f"print {what}",
            description=f"Print {what} for {kind}, correctly rounded to --digits significant digits.",
            epilog=f"example: spouge {name} {example} --digits 30",
        )
        # x may be negative ("-1e5", "-2.5+1j"): never read those as options
        p._negative_number_matcher = re.compile(r"^-(\d|\.\d)")
        p.add_argument("x", help=f"{kind}, exact as written (e.g. {example})")
        p.add_argument("-d", "--digits", type=int, default=16, help="significant digits (1 to %d; default 16)" % numerics.MAX_DIGITS)
        p.add_argument("--json", action="store_true", help="print value, digits, a, error bound and elapsed seconds as JSON")
    from . import plot
    from .server import cli as server_cli

    server_cli.add_parser(sub)
    plot.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    if args.command not in FUNCTIONS:
        return args.run(args)
    function = FUNCTIONS[args.command][0]
    started = time.perf_counter()
    try:
        result = function(args.x, digits=args.digits)
    except (ValueError, TypeError) as exc:
        print(f"spouge: error: {exc}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - started
    if args.json:
        print(json.dumps({**result.as_dict(), "elapsed_seconds": round(elapsed, 6)}))
    else:
        print(result)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
