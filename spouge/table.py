"""Tables of many values: `spouge table` on a local process pool or a Dask cluster.

Owns: reading the arguments (a range or a file), cutting them into chunks,
running the chunks on a backend (in-process, a local process pool, or Dask
distributed with ``--scheduler tcp://host:8786``), and writing the rows in
order as CSV or JSON lines with a progress bar.

Invariants:
- Rows come out in the order of the arguments, each exactly once, and are
  identical digit for digit whichever backend ran them: a chunk is a pure
  function of (function, precision, rounding, its arguments), so a chunk that
  Dask re-runs after losing a worker gives the same rows, and rows are written
  by chunk index, never as they complete.
- Memory is bounded by a window of chunks in flight (a few per worker), not by
  the length of the table: a million arguments stream through.
- Chunks are large (the arguments of a few seconds' work, at least), so every
  worker process makes (or loads from the disk cache) each coefficient table
  once and reuses it from its in-memory cache for all its chunks.
- A bad argument or a pole is that row's error, not the table's.
- Ctrl-C (or any error of the backend) cancels what is queued, shuts the pool
  down, and leaves no half-written output file (rows go to PATH.partial, renamed
  on success).
"""

from __future__ import annotations

import argparse
import collections
import csv
import io
import itertools
import json
import math
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal, InvalidOperation, localcontext

from . import numerics
from .numerics.cost import ONE_ARGUMENT, TWO_ARGUMENTS

#: function name -> number of arguments (the numerics' own lists); all take digits/bits/rounding.
FUNCTIONS: dict[str, int] = {**dict.fromkeys(ONE_ARGUMENT, 1), **dict.fromkeys(TWO_ARGUMENTS, 2)}
ARG_NAMES = {1: ("x",), 2: ("a", "b")}

#: Arguments per chunk are chosen so a chunk costs about this much predicted work.
CHUNK_SECONDS = 0.5
MAX_CHUNK = 20000
#: Chunks in flight per worker (the window that bounds memory).
WINDOW_PER_WORKER = 4
#: Most arguments a range may produce (a typo like --range 0:1e9:1e-9 is refused, not attempted).
MAX_RANGE_VALUES = 10**8


class TableError(ValueError):
    """A bad table request (its message is in spouge's terms)."""


# --- arguments ----------------------------------------------------------------------------------------------


def _decimal(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text.strip().replace("\u2212", "-"))
    except InvalidOperation:
        raise TableError(f"{what} must be a decimal number, not {text!r}") from None
    if not value.is_finite():
        raise TableError(f"{what} must be finite, not {text!r}")
    return value


def parse_range(spec: str) -> list[str]:
    """'START:STOP:STEP' (or 'START:STOP', step 1) -> exact decimals START, START+STEP, ... to STOP inclusive."""
    parts = spec.split(":")
    if len(parts) not in (2, 3):
        raise TableError(f"--range takes START:STOP[:STEP], not {spec!r}")
    start = _decimal(parts[0], "the range's start")
    stop = _decimal(parts[1], "the range's stop")
    step = _decimal(parts[2], "the range's step") if len(parts) == 3 else Decimal(1)
    if step == 0:
        raise TableError("the range's step must not be 0")
    count = math.floor((stop - start) / step) + 1 if (stop - start) * step >= 0 else 0
    if count > MAX_RANGE_VALUES:
        raise TableError(f"the range has {count} values; at most {MAX_RANGE_VALUES} (split it)")
    digits = max(len(str(v)) for v in (start, stop, step)) + 20
    with localcontext() as ctx:  # exact: start + i*step has at most `digits` significant digits
        ctx.prec = digits + len(str(count))
        return [_plain(start + i * step) for i in range(count)]


def _plain(value: Decimal) -> str:
    """A short exact spelling: 2 not 2.0, 0.25 not 2.5E-1, and 1E+100 for the very large or small."""
    n = value.normalize()
    if n == 0:
        return "0"
    return format(n, "f") if -30 <= n.adjusted() <= 30 else str(n)


def read_arguments(lines: Iterable[str], arity: int) -> Iterator[tuple[int, tuple[str, ...] | str]]:
    """(line number, arguments) for each data line; blank lines and '#' comments are skipped.

    A line with the wrong number of fields yields (line number, error message) instead.
    """
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        fields = text.replace(",", " ").split() if arity > 1 else [text]
        if len(fields) != arity:
            yield number, f"line {number}: expected {arity} argument{'s' if arity > 1 else ''}, got {len(fields)}"
        else:
            yield number, tuple(fields)


# --- one chunk (runs in a worker) -----------------------------------------------------------------------------


def compute_chunk(function: str, digits: int, bits: int | None, rounding: str,
                  items: list[tuple[str, ...] | str]) -> list[tuple[str, str | None, str | None]]:
    """Rows (value, lower/upper or None, error) for each item; pure, so safe to re-run after a worker is lost."""
    fn = getattr(numerics, function)
    keywords: dict = {"digits": digits}
    if bits is not None or rounding != "nearest":
        keywords.update(bits=bits, rounding=rounding)
    rows: list[tuple[str, str | None, str | None]] = []
    for item in items:
        if isinstance(item, str):  # a malformed line, reported where it is
            rows.append(("", None, item))
            continue
        try:
            result = fn(*item, **keywords)
        except (ValueError, TypeError, OverflowError, ZeroDivisionError) as exc:
            rows.append(("", None, str(exc)))
            continue
        if isinstance(result, numerics.Enclosure):
            rows.append((str(result.lower), str(result.upper), None))
        else:
            rows.append((str(result), None, None))
    return rows


def table_counters() -> dict[str, float]:
    """This process's coefficient-table counters (how many tables it made, loaded or reused)."""
    from .numerics import coefficients, corebridge

    info: dict[str, float] = {"python_misses": coefficients.CACHE.misses, "python_hits": coefficients.CACHE.hits}
    if corebridge.available:
        info.update({f"c_{k}": v for k, v in corebridge.cache_info().items() if isinstance(v, (int, float))})
    info["pid"] = os.getpid()
    return info


def chunk_size(function: str, digits: int, sample: tuple[str, ...]) -> int:
    """How many arguments per chunk: about CHUNK_SECONDS of predicted warm work, at least 1.

    Priced as Γ of the first argument (the family's functions cost one to three Γ evaluations).
    """
    try:
        per_value = numerics.estimate("gamma", sample[0], digits=digits).warm_seconds
    except (ValueError, TypeError, ArithmeticError):  # a pole or a bad sample: price it as a mid-size call
        per_value = 1e-4
    per_value = max(per_value, 2e-6) * (3 if FUNCTIONS[function] == 2 else 1)
    return max(1, min(MAX_CHUNK, int(CHUNK_SECONDS / per_value)))


# --- backends -----------------------------------------------------------------------------------------------


class _InProcess:
    """--processes 1: no pool at all."""

    workers = 1

    class _Done:
        def __init__(self, value):
            self._value = value

        def result(self):
            return self._value

        def cancel(self):
            return False

    def submit(self, fn, *args):
        return self._Done(fn(*args))

    def close(self, cancel: bool = False) -> None:
        pass


def _ignore_sigint() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


class _LocalPool:
    def __init__(self, processes: int) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.workers = processes
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
        # Workers ignore SIGINT: Ctrl-C in a terminal reaches the whole process group, and the parent alone
        # decides (it cancels, then stops them) - no traceback from every worker.
        self._pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context(method),
                                         initializer=_ignore_sigint)

    def submit(self, fn, *args):
        return self._pool.submit(fn, *args)

    def close(self, cancel: bool = False) -> None:
        processes = list((getattr(self._pool, "_processes", None) or {}).values())
        if cancel:  # workers still inside a long chunk: stop them, do not wait minutes for them
            for process in processes:
                process.terminate()
        self._pool.shutdown(wait=True, cancel_futures=cancel)


class _Dask:
    def __init__(self, address: str) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise TableError("--scheduler needs Dask: pip install 'spouge[dask]'") from None
        try:
            self.client = Client(address, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise TableError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        self.workers = max(1, len(self.client.scheduler_info().get("workers", {})))

    def submit(self, fn, *args):
        # pure=False: two equal chunks are both run (each is written once, by index); retries on lost workers.
        return self.client.submit(fn, *args, pure=False, retries=3)

    def close(self, cancel: bool = False) -> None:
        self.client.close()


def open_backend(processes: int | None, scheduler: str | None):
    if scheduler:
        return _Dask(scheduler)
    processes = processes or os.cpu_count() or 1
    return _InProcess() if processes == 1 else _LocalPool(processes)


def run_chunks(backend, function: str, digits: int, bits: int | None, rounding: str,
               items: Iterable[tuple[str, ...] | str], size: int,
               on_rows: Callable[[list, list], None]) -> None:
    """Run items in chunks of `size` on the backend; call on_rows(items, rows) for each chunk, in order."""
    window: collections.deque = collections.deque()
    limit = max(2, WINDOW_PER_WORKER * backend.workers)
    it = iter(items)
    try:
        while True:
            while len(window) < limit:
                chunk = list(itertools.islice(it, size))
                if not chunk:
                    break
                window.append((chunk, backend.submit(compute_chunk, function, digits, bits, rounding, chunk)))
            if not window:
                break
            chunk, future = window.popleft()
            on_rows(chunk, future.result())
    except BaseException:
        for _, future in window:
            future.cancel()
        backend.close(cancel=True)
        raise
    backend.close()


# --- output -------------------------------------------------------------------------------------------------


class RowWriter:
    """CSV (a header, then one row per argument) or JSON lines."""

    def __init__(self, out, fmt: str, arity: int, enclosure: bool) -> None:
        self.out, self.fmt, self.names = out, fmt, ARG_NAMES[arity]
        self.columns = [*self.names, *(("lower", "upper") if enclosure else ("value",)), "error"]
        self.errors = 0
        if fmt == "csv":
            self._csv = csv.writer(out, lineterminator="\n")
            self._csv.writerow(self.columns)

    def write(self, items: list, rows: list) -> None:
        buf = io.StringIO() if self.fmt == "csv" else None
        w = csv.writer(buf, lineterminator="\n") if buf is not None else None
        lines = []
        for item, (value, upper, error) in zip(items, rows, strict=True):
            args = item if isinstance(item, tuple) else ("",) * len(self.names)
            self.errors += error is not None
            values = (value, upper) if len(self.columns) - len(self.names) == 3 else (value,)
            if w is not None:
                w.writerow([*args, *values, error or ""])
            else:
                record = dict(zip(self.columns, [*args, *values], strict=False))  # no error column: no error
                if error is not None:
                    record = {**dict(zip(self.names, args, strict=True)), "error": error}
                lines.append(json.dumps(record) + "\n")
        self.out.write(buf.getvalue() if buf is not None else "".join(lines))


# --- the subcommand -----------------------------------------------------------------------------------------


def add_parser(sub) -> None:
    p = sub.add_parser(
        "table",
        help="a table of many values (CSV or JSON lines), on local processes or a Dask cluster",
        description="Compute a function of the Gamma family for many arguments: a --range or a --file "
        "(one argument per line, two for beta/binomial/rising/falling; blank lines and # comments skipped). "
        "Rows come out in order, identical whichever backend runs them; a pole or bad argument is that row's error.",
        epilog="examples: spouge table gamma --range 1:100:0.25 -d 50 -o gamma.csv\n"
        "          spouge table binomial --file pairs.txt --format jsonl --scheduler tcp://127.0.0.1:8786",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p._negative_number_matcher = re.compile(r"^-(\d|\.\d)")  # --range -2:1:0.5 is a value, not an option
    p.add_argument("function", choices=sorted(FUNCTIONS))
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--range", metavar="START:STOP[:STEP]", help="exact decimal range, STOP included when hit")
    source.add_argument("--file", metavar="PATH", help="arguments, one per line ('-' for stdin)")
    p.add_argument("--with", dest="second", metavar="B",
                   help="the second argument, fixed, for a two-argument function with --range")
    p.add_argument("-d", "--digits", type=int, default=16, help="significant digits (default 16)")
    p.add_argument("--bits", type=int, default=None, help="round to this many bits instead")
    p.add_argument("--rounding", choices=(*numerics.MODES, "enclosure"), default="nearest")
    p.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    p.add_argument("-o", "--output", metavar="PATH", help="write here (default stdout); replaced only on success")
    p.add_argument("-p", "--processes", type=int, default=None, help="local worker processes (default: all cores)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run on this Dask distributed scheduler instead")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def _items(args, arity: int) -> tuple[Iterable, int | None, tuple[str, ...]]:
    """(items, count or None if unknown, a sample argument tuple)."""
    if args.range is not None:
        firsts = parse_range(args.range)
        if arity == 2 and args.second is None:
            raise TableError(f"{args.function} takes two arguments: give the second with --with B")
        if arity == 1 and args.second is not None:
            raise TableError(f"{args.function} takes one argument: --with does not apply")
        ranged: list[tuple[str, ...]] = [(x, args.second) if arity == 2 else (x,) for x in firsts]
        return ranged, len(ranged), ranged[0] if ranged else ("1",)
    if args.second is not None:
        raise TableError("--with goes with --range; a --file gives both arguments on each line")
    try:
        handle = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        raise TableError(f"cannot read {args.file}: {exc.strerror}") from None
    if args.file != "-":
        lines = handle.readlines()
        handle.close()
        items: list[tuple[str, ...] | str] = [item for _, item in read_arguments(lines, arity)]
        sample: tuple[str, ...] = next((i for i in items if isinstance(i, tuple)), ("1",) * arity)
        return items, len(items), sample
    return (item for _, item in read_arguments(handle, arity)), None, ("1",) * arity


def run(args) -> int:
    arity = FUNCTIONS[args.function]
    if args.processes is not None and args.processes < 1:
        return _fail("--processes must be at least 1")
    if not 1 <= args.digits <= numerics.MAX_DIGITS:
        return _fail(f"digits must be between 1 and {numerics.MAX_DIGITS}")
    try:
        items, count, sample = _items(args, arity)
        if args.scheduler is None and (args.processes or os.cpu_count() or 1) > 1:
            # One value here first: its coefficient table is then in this process's cache before the pool
            # forks, so every local worker inherits it instead of making its own.
            compute_chunk(args.function, args.digits, args.bits, args.rounding, [sample])
        backend = open_backend(args.processes, args.scheduler)
    except TableError as exc:
        return _fail(str(exc))
    size = chunk_size(args.function, args.digits, sample)
    if count is not None:  # small tables: still spread over every worker
        size = max(1, min(size, math.ceil(count / (2 * backend.workers))))
    partial = f"{args.output}.partial" if args.output else None
    try:
        out = open(partial, "w", encoding="utf-8", newline="") if partial else sys.stdout  # noqa: SIM115
    except OSError as exc:
        backend.close()
        return _fail(f"cannot write {args.output}: {exc.strerror}")
    writer = RowWriter(out, args.format, arity, args.rounding == "enclosure")
    bar = None
    if not args.quiet and sys.stderr.isatty():
        from tqdm import tqdm  # type: ignore[import-untyped]  # (no stubs shipped)

        bar = tqdm(total=count, unit="value", file=sys.stderr, desc=args.function, dynamic_ncols=True)

    def on_rows(chunk: list, rows: list) -> None:
        writer.write(chunk, rows)
        if bar is not None:
            bar.update(len(rows))

    try:
        run_chunks(backend, args.function, args.digits, args.bits, args.rounding, items, size, on_rows)
    except KeyboardInterrupt:
        _abandon(out, partial, bar)
        print("spouge: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the backend failed (a cluster gone): one line, no half-written file
        _abandon(out, partial, bar)
        return _fail(f"the table was not finished: {exc}")
    if bar is not None:
        bar.close()
    if partial:
        out.close()
        os.replace(partial, args.output)
    else:
        out.flush()
    if writer.errors:
        print(f"spouge: {writer.errors} row(s) with an error (see their error field)", file=sys.stderr)
        return 3
    return 0


def _abandon(out, partial: str | None, bar) -> None:
    if bar is not None:
        bar.close()
    if partial:
        out.close()
        try:
            os.unlink(partial)
        except OSError:
            pass


def _fail(message: str) -> int:
    print(f"spouge: error: {message}", file=sys.stderr)
    return 2
