"""The `spouge` command: argument parsing, printing, progress, exit statuses; no mathematics.

Subcommands:  factorial X | gamma X | lgamma X | rgamma X | loggamma Z
              beta A B | binomial N K | rising X N | falling X N
                  [DIGITS] [--digits N | --bits N] [--rounding MODE] [--json] [--quiet]
                  (lgamma: [--sign]; X = - reads one input a line from stdin: cli.batch)
              fgamma X            (a double in, the nearest double out)
              plot ...            (pictures of the method: spouge.plot)
              serve [...]         (the network server: spouge.server.cli)

Modules: values (the functions, options and result shapes), batch (x = -),
bar (the progress bar on a terminal's stderr), failures (error kinds, exit
statuses, one-line and JSON errors).

Invariants: every outcome is one line of output per value or one error line
(with --json: one JSON document ending in a newline, errors included, on
stdout); never a traceback, Ctrl-C included (status 130); the statuses are
failures.STATUS.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys

from .. import numerics
from ..numerics import progress
from . import batch
from .bar import Bar, wanted
from .failures import STATUS_HELP, Failure, classify, emit
from .values import DEFAULT_DIGITS, FUNCTIONS, Request

#: Functions whose results are real and so take --rounding and --bits.
REAL_ONLY = {"lgamma", "rgamma", "beta", "binomial", "rising", "falling"}

EPILOG = f"""\
x is exact: "0.1" means 1/10, not the nearest float.  Accepted forms: 100, -2.5,
1e100, 0.1, and for factorial/gamma/loggamma complex values such as 3+4j.
Real results are correctly rounded to --digits significant digits (or --bits
bits) in the --rounding mode: nearest (ties to even, the default), down, up,
zero, away.  Complex results have a relative error below 10^-digits.
Digits may also follow the arguments, as over RESP: spouge gamma 0.5 30.
Many values: spouge gamma - < xs.txt (one x a line; see spouge gamma --help).
On a terminal, a long computation shows its progress on stderr (--quiet: none).

{STATUS_HELP}
"""

BATCH_HELP = """\
x = -: read the inputs from stdin, one a line ({names} separated by spaces, tabs
or a comma); blank lines and lines starting with # are skipped.  One output line
per input line, in order: the result, or an empty line if that line failed (the
reason on stderr as "spouge: line N: ..."); with --json, JSON lines with a
"line" field, errors as {{"line", "error", "kind", "status"}}.  The batch goes on
after a failed line and exits with the status of the first one.
"""

_NEGATIVE = re.compile(r"^-(\d|\.\d)")  # x may be negative ("-1e5", "-2.5+1j"): never read those as options


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse would print and exit 2: raise, so --json can answer in JSON
        raise _UsageError(self, message)


class _UsageError(Exception):
    def __init__(self, parser: argparse.ArgumentParser, message: str):
        super().__init__(message)
        self.parser = parser


#: `serve`'s line in `spouge --help` (spouge.server.cli says the same when it is loaded).
SERVE_HELP = "run the network server (RESP, inline and HTTP on one port)"


def _build_parser(full: bool = True) -> argparse.ArgumentParser:
    """The parser; full=False leaves `serve` as a name only (its options load with spouge.server)."""
    parser = _Parser(
        prog="spouge",
        description="n!, Γ(x) and ln|Γ(x)| to any number of correct digits by Spouge's formula, "
        "and a server that answers them over RESP, inline commands and HTTP.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from ..numerics import corebridge

    parser.add_argument("--version", action="version",
                        version=f"spouge {__import__('spouge').__version__} (core: {corebridge.description})")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (_, what, example, arg_names, kind) in FUNCTIONS.items():
        names = " ".join(a.upper() for a in arg_names)
        p = sub.add_parser(
            name,
            help=f"print {what}",
            usage=f"spouge {name} {names} [DIGITS] [options]\n       spouge {name} - [DIGITS] [options] < FILE",
            description=f"Print {what} for {kind}, correctly rounded to DIGITS significant digits "
                        f"(default {DEFAULT_DIGITS}).",
            epilog=BATCH_HELP.format(names=" and ".join(arg_names)) + f"\nexamples: spouge {name} {example} 30\n"
                   f"          spouge {name} {example} --digits 30 --json\n\n{STATUS_HELP}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p._negative_number_matcher = _NEGATIVE
        p.add_argument("values", nargs="+", metavar=f"{names} [DIGITS]",
                       help=f"{kind}, exact as written, then optionally the digits (as over RESP); "
                            f"'-' instead of {names} reads one input a line from stdin")
        p.add_argument("-d", "--digits", type=int, default=None,
                       help=f"significant digits (1 to {numerics.MAX_DIGITS}; default {DEFAULT_DIGITS})")
        p.add_argument("--bits", type=int, default=None,
                       help="round to this many bits in binary instead (real results)")
        p.add_argument("--rounding", choices=(*numerics.MODES, "enclosure"), default="nearest",
                       help="rounding mode (real results; default nearest); "
                            "enclosure prints the value rounded down and up")
        if name == "lgamma":
            p.add_argument("--sign", action="store_true", help="also print the sign of Γ(x) (+1 or -1)")
        p.add_argument("--json", action="store_true",
                       help="print value, digits, a, error bound and elapsed seconds as JSON (errors too, on stdout)")
        p.add_argument("-q", "--quiet", action="store_true",
                       help="no progress bar on stderr (there is none unless stderr is a terminal)")
        p.set_defaults(parser=p)
    fg = sub.add_parser("fgamma", help="print Γ(x) for a double x, correctly rounded to a double",
                        description="Γ(x) for a double x as math.gamma, but correctly rounded "
                                    "(never a misrounded last bit).",
                        epilog=STATUS_HELP)
    fg._negative_number_matcher = _NEGATIVE
    fg.add_argument("x", help="a double (as Python's float() reads it)")
    fg.add_argument("--json", action="store_true", help="print {\"x\": ..., \"value\": ...} (errors too, on stdout)")
    from .. import plot, table

    if full:
        from ..server import cli as server_cli

        server_cli.add_parser(sub)
    else:  # the server's modules take a third of the start-up: load them only for `serve` (or spouge --help)
        sub.add_parser("serve", help=SERVE_HELP)
    plot.add_parser(sub)
    table.add_parser(sub)
    return parser


def _wants_json(argv: list[str]) -> bool:
    options = argv[: argv.index("--")] if "--" in argv else argv
    return "--json" in options


def main(argv: list[str] | None = None) -> int:
    """Run the command; return its exit status (failures.STATUS; 0 on success)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    as_json = _wants_json(argv)
    out, err = sys.stdout, sys.stderr
    try:
        try:
            return _run(argv, out, err)
        except _UsageError as exc:
            if not as_json:
                exc.parser.print_usage(err)
            return emit(Failure("usage", str(exc)), as_json, out, err)
        except KeyboardInterrupt:
            return emit(Failure("interrupted", "interrupted"), as_json, out, err)
        except BrokenPipeError:
            raise
        except Exception as exc:  # never a traceback: say what failed in one line
            return emit(classify(exc), as_json, out, err)
    except BrokenPipeError:  # stdout closed early (| head): stop quietly, as if killed by SIGPIPE
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, out.fileno())  # so the interpreter's last flush does not complain
        except (OSError, ValueError):
            pass
        return 141


def _digits(request_digits: int | None, positional: str | None) -> int | None:
    if positional is None:
        return request_digits
    if not re.fullmatch(r"\s*[+-]?\d+\s*", positional):
        raise Failure("input", f"digits must be an integer, not {positional[:40]!r}")
    if request_digits is not None:
        raise Failure("usage", "digits given twice (after the arguments and as --digits)")
    return int(positional)


def _run(argv: list[str], out, err) -> int:
    command = argv[0] if argv and not argv[0].startswith("-") else None
    parser = _build_parser(full=command not in FUNCTIONS and command not in ("fgamma", "plot"))
    # parse_known_args: argparse matches a positional list once, so digits after an option
    # ("lgamma -2.5 --sign 20") would be refused; they are taken back here
    args, extras = parser.parse_known_args(argv)
    if args.command in FUNCTIONS:
        args.values += [e for e in extras if not e.startswith("-") or _NEGATIVE.match(e)]
        extras = [e for e in extras if e.startswith("-") and not _NEGATIVE.match(e)]
    if extras:
        parser.error(f"unrecognized arguments: {' '.join(extras)}")
    if args.command is None:
        parser.print_help(err)
        return 2
    if args.command == "fgamma":
        return _fgamma(args, out, err)
    if args.command not in FUNCTIONS:
        return args.run(args)
    arity = len(FUNCTIONS[args.command][3])
    values = args.values
    reading = values[0] == "-"
    taken = 1 if reading else arity
    if len(values) < taken or len(values) > taken + 1:
        names = " ".join(FUNCTIONS[args.command][3])
        raise _UsageError(args.parser,
                          f"{args.command} takes {names} (or -), then optionally the digits; got {len(values)} value"
                          f"{'s' if len(values) > 1 else ''}: {' '.join(v[:20] for v in values)}")
    digits = _digits(args.digits, values[taken] if len(values) > taken else None)
    request = Request.make(args.command, digits, args.bits, args.rounding, getattr(args, "sign", False), args.json)
    bar = Bar(err) if wanted(err, args.quiet) else None
    try:
        if reading:
            return batch.run(request, sys.stdin.buffer, out, err, bar, interactive=_isatty(sys.stdin))
        arguments = values[:arity]
        try:
            if bar is None:
                line = request.compute(arguments)
            else:
                with bar.call(f"{args.command}({', '.join(a[:20] for a in arguments)})"), progress.reporting(bar):
                    line = request.compute(arguments)
        except (ValueError, TypeError, OverflowError) as exc:
            return emit(classify(exc), args.json, out, err)
        out.write(line)
        out.flush()
        return 0
    finally:
        if bar is not None:
            bar.close()


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _fgamma(args, out, err) -> int:
    try:
        x = float(args.x)
    except ValueError:
        return emit(Failure("input", f"x = {args.x[:60]!r} is not a double (as float() reads it)"), args.json, out, err)
    try:
        value = numerics.fgamma(x)
    except ValueError as exc:  # math.gamma's contract: ValueError at the poles and for nan/-inf
        kind = "pole" if math.isfinite(x) and x <= 0 and x == int(x) else "domain"
        return emit(Failure(kind, str(exc)), args.json, out, err)
    except OverflowError as exc:
        return emit(Failure("range", str(exc)), args.json, out, err)
    if args.json:
        import json

        out.write(json.dumps({"function": "fgamma", "x": repr(x), "value": repr(value)}) + "\n")
    else:
        out.write(repr(value) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
