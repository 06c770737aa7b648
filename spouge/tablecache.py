"""Coefficient tables that outlive the process: a disk cache and parallel generation.

Owns: serving ``numerics.coefficients.CACHE`` misses for tables that are slow
to make (a >= ``DISK_MIN_A``, about 800 digits and up): first from files in
the cache directory, else generated (on the C core's threads, or without it
in chunks on a process pool) and written there.  Progress of a generation
goes to ``numerics.progress`` ("coefficients", k, a).  Installed by ``import spouge``
(``install()``); the numerics layer itself stays free of I/O.

Where: ``$SPOUGE_CACHE_DIR``, else ``$XDG_CACHE_HOME/spouge``, else
``~/.cache/spouge``; ``SPOUGE_CACHE_DIR=off`` disables the disk.  Size bound:
``$SPOUGE_CACHE_MAX_BYTES`` (default 2 GiB); past it the least recently used
files are removed.

Invariants:
- A file is ``MAGIC | sha256(payload) | payload``, payload = a, F, count and
  each C_k as (length, gmpy2 binary).  A file is used only if its hash, its
  (a, F) and its count match; anything else (a truncated write, a flipped bit,
  a file from another version) is deleted and the table made again.
- Files are written to a temporary name in the same directory and renamed:
  concurrent processes never read half a file, and the last writer wins with
  identical contents.
- Any I/O error (read-only disk, full disk, no home) only costs the disk: the
  table is still made and returned.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import logging
import multiprocessing
import os
import struct
import tempfile
import threading

import gmpy2

from .numerics import coefficients, corebridge, progress

log = logging.getLogger("spouge.tablecache")

MAGIC = b"SPOUGE-COEFFS-1\n"

#: Tables this large or larger go to disk (smaller ones are quicker to make than to read).
DISK_MIN_A = 1000

#: Tables this large or larger are made on a process pool (below, the pool's start-up costs more than it saves).
PARALLEL_MIN_A = 5000

DEFAULT_MAX_BYTES = 2 * 2**30


def cache_dir() -> str | None:
    """The directory to use, or None if the disk cache is off."""
    configured = os.environ.get("SPOUGE_CACHE_DIR")
    if configured is not None:
        return None if configured.strip().lower() in ("", "off", "0", "none") else configured
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "spouge")


def max_bytes() -> int:
    try:
        return int(os.environ.get("SPOUGE_CACHE_MAX_BYTES", DEFAULT_MAX_BYTES))
    except ValueError:
        return DEFAULT_MAX_BYTES


def _path(directory: str, a: int, frac_bits: int) -> str:
    return os.path.join(directory, f"coeffs-a{a}-F{frac_bits}.bin")


def encode(a: int, frac_bits: int, table) -> bytes:
    parts = [struct.pack("<QQQ", a, frac_bits, len(table))]
    for c in table:
        raw = gmpy2.to_binary(gmpy2.mpz(c))
        parts.append(struct.pack("<I", len(raw)))
        parts.append(raw)
    payload = b"".join(parts)
    return MAGIC + hashlib.sha256(payload).digest() + payload


def decode(data: bytes, a: int, frac_bits: int) -> tuple | None:
    """The table in a file's bytes, or None if they are not a sound file for (a, F)."""
    head = len(MAGIC) + 32
    if len(data) < head + 24 or not data.startswith(MAGIC):
        return None
    payload = memoryview(data)[head:]
    if hashlib.sha256(payload).digest() != data[len(MAGIC):head]:
        return None
    got_a, got_f, count = struct.unpack_from("<QQQ", payload, 0)
    if (got_a, got_f, count) != (a, frac_bits, a):
        return None
    table, offset = [], 24
    for _ in range(count):
        (length,) = struct.unpack_from("<I", payload, offset)
        offset += 4
        table.append(gmpy2.from_binary(bytes(payload[offset:offset + length])))
        offset += length
    return tuple(table) if offset == len(payload) else None


def load(directory: str, a: int, frac_bits: int) -> tuple | None:
    path = _path(directory, a, frac_bits)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    try:
        table = decode(data, a, frac_bits)
    except (struct.error, ValueError, TypeError):
        table = None
    if table is None:
        log.warning("coefficient file %s is corrupt or stale: removed, the table is made again", path)
        try:
            os.unlink(path)
        except OSError:
            pass
        return None
    try:
        os.utime(path)  # least recently used goes first
    except OSError:
        pass
    return table


def store(directory: str, a: int, frac_bits: int, table) -> None:
    data = encode(a, frac_bits, table)
    try:
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".coeffs-", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, _path(directory, a, frac_bits))
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        _evict(directory, max_bytes())
    except OSError as exc:
        log.warning("cannot keep a coefficient table in %s: %s", directory, exc)


def _evict(directory: str, limit: int) -> None:
    """Remove the least recently used table files until the directory holds at most `limit` bytes."""
    entries = []
    for name in os.listdir(directory):
        if name.startswith("coeffs-") and name.endswith(".bin"):
            try:
                st = os.stat(os.path.join(directory, name))
            except OSError:
                continue
            entries.append((st.st_mtime, st.st_size, name))
    total = sum(size for _, size, _ in entries)
    for _, size, name in sorted(entries):
        if total <= limit:
            break
        try:
            os.unlink(os.path.join(directory, name))
            total -= size
        except OSError:
            pass


def _chunk(args: tuple[int, int, int, int]) -> list:
    a, frac_bits, start, stop = args
    return list(coefficients.iter_coefficients(a, frac_bits, start, stop))


def generate(a: int, frac_bits: int, workers: int | None = None) -> tuple:
    """The table for (a, F): on the C core's threads when it is live, else in chunks on a process pool
    when it is large enough to pay off."""
    if corebridge.available:
        # ~20% less CPU than the Python chunks and no fork; SPOUGE_CORE_THREADS threads; reports progress itself
        return tuple(map(gmpy2.mpz, corebridge.coefficients(a, frac_bits)))
    workers = workers or os.cpu_count() or 1
    if a < PARALLEL_MIN_A or workers < 2:
        return tuple(coefficients.iter_coefficients(a, frac_bits))
    # Later coefficients are cheaper (|c_k| shrinks past the peak), so more, smaller chunks balance the load.
    pieces = workers * 4
    bounds = [a * i // pieces for i in range(pieces + 1)]
    jobs = [(a, frac_bits, bounds[i], bounds[i + 1]) for i in range(pieces) if bounds[i] < bounds[i + 1]]
    # fork, not spawn: spawn re-imports the caller's __main__ in every child (a user's script without a
    # __main__ guard would run again), and forks start in ~1 ms.  Forking a process with other threads
    # is unsafe, so then the table is made here, sequentially.
    if threading.active_count() > 1 or "fork" not in multiprocessing.get_all_start_methods():
        return tuple(coefficients.iter_coefficients(a, frac_bits))
    context = multiprocessing.get_context("fork")
    try:
        pool = concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context)
    except (OSError, RuntimeError) as exc:
        log.warning("no process pool for the coefficients (%s): making the table in this process", exc)
        return tuple(coefficients.iter_coefficients(a, frac_bits))
    reporter = progress.current()
    failed: BaseException | None = None
    done = 0
    try:
        futures = [pool.submit(_chunk, job) for job in jobs]
        for finished in concurrent.futures.as_completed(futures):
            try:
                done += len(finished.result())
            except (OSError, RuntimeError, concurrent.futures.process.BrokenProcessPool) as exc:
                failed = exc
                break
            if reporter is not None:  # as the chunks come in (the children never report)
                reporter("coefficients", done, a)
    except BaseException:
        # interrupted (^C, a server's watchdog, a reporter that raised): return at once; chunks already
        # running finish in their children (a fraction of the table each) and the rest are cancelled
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    if failed is not None:
        pool.shutdown(wait=True)
        log.warning("parallel coefficient generation failed (%s): making the table in this process", failed)
        return tuple(coefficients.iter_coefficients(a, frac_bits))
    chunks = [f.result() for f in futures]
    pool.shutdown(wait=True)
    return tuple(c for chunk in chunks for c in chunk)


def provide(a: int, frac_bits: int) -> tuple | None:
    """CACHE.provider: a table from disk or made in parallel, or None to let the caller make it."""
    if a < DISK_MIN_A:
        return None
    directory = cache_dir()
    if directory is not None:
        table = load(directory, a, frac_bits)
        if table is not None:
            return table
    table = generate(a, frac_bits)
    if directory is not None:
        store(directory, a, frac_bits, table)
    return table


def install() -> None:
    """Serve the coefficient cache's misses from here.

    Idempotent; ``SPOUGE_CACHE_DIR=off`` keeps only the parallel part."""
    coefficients.CACHE.provider = provide
