"""The coefficient tables' disk cache and parallel generation (spouge/tablecache.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import spouge
from spouge import tablecache
from spouge.numerics import coefficients, corebridge

A, F = 1200, 3200  # just past DISK_MIN_A: a real disk table, made in ~0.1 s


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SPOUGE_CACHE_DIR", str(tmp_path))
    return tmp_path


def test_table_goes_to_disk_and_comes_back_identical(cache):
    made = tablecache.provide(A, F)
    files = list(cache.glob("coeffs-*.bin"))
    assert len(files) == 1 and files[0].name == f"coeffs-a{A}-F{F}.bin"
    assert tablecache.load(str(cache), A, F) == made == tuple(coefficients.iter_coefficients(A, F))
    assert not list(cache.glob(".coeffs-*"))  # no temporary file left behind


@pytest.mark.parametrize("damage", ["flip", "truncate", "other_table", "garbage"])
def test_a_damaged_file_is_detected_removed_and_made_again(cache, damage):
    made = tablecache.provide(A, F)
    path = cache / f"coeffs-a{A}-F{F}.bin"
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0x40
    elif damage == "truncate":
        data = data[: len(data) - 100]
    elif damage == "other_table":
        data = bytearray(tablecache.encode(A, F + 1, tuple(coefficients.iter_coefficients(A, F + 1))))
    else:
        data = bytearray(b"\0" * 64)
    path.write_bytes(bytes(data))
    assert tablecache.load(str(cache), A, F) is None
    assert not path.exists()
    assert tablecache.provide(A, F) == made
    assert path.exists()


def test_results_are_right_with_a_poisoned_file(cache):
    """A file whose coefficient was changed (the hash no longer matches) is refused: the digits stay right.
    (The directory is trusted like __pycache__: the hash catches damage, not someone who can write there.)"""
    _forget_tables()
    a, frac = spouge.numerics.engine._plan(spouge.numerics.precision.target_bits(1000))
    good = str(spouge.gamma("0.3", digits=1000))
    path = cache / f"coeffs-a{a}-F{frac}.bin"
    assert path.exists()
    table = list(tablecache.load(str(cache), a, frac))
    table[5] += 10**6  # a real poisoning, far beyond the error bound
    data = bytearray(tablecache.encode(a, frac, table))
    data[len(tablecache.MAGIC)] ^= 1  # ... but the hash no longer matches
    path.write_bytes(bytes(data))
    _forget_tables()
    assert str(spouge.gamma("0.3", digits=1000)) == good
    assert tablecache.load(str(cache), a, frac) is not None  # the file was read, refused and made again


def _forget_tables() -> None:
    """Empty the in-memory tables of both cores, so that the next call asks the disk cache (the C core keeps
    its own LRU: clearing only the Python one left the table there after any earlier test that made it)."""
    coefficients.CACHE._tables.clear()
    coefficients.CACHE._bits.clear()
    if corebridge.available:
        corebridge.cache_clear()


def test_size_bound_evicts_least_recently_used(cache, monkeypatch):
    tablecache.provide(A, F)
    first = cache / f"coeffs-a{A}-F{F}.bin"
    os.utime(first, (1, 1))  # long unused
    size = first.stat().st_size
    monkeypatch.setenv("SPOUGE_CACHE_MAX_BYTES", str(int(size * 1.5)))
    tablecache.provide(A + 1, F)
    assert not first.exists() and (cache / f"coeffs-a{A + 1}-F{F}.bin").exists()


def test_disk_off_and_unwritable_directory_still_give_tables(tmp_path, monkeypatch):
    monkeypatch.setenv("SPOUGE_CACHE_DIR", "off")
    assert tablecache.cache_dir() is None
    assert tablecache.provide(A, F) == tuple(coefficients.iter_coefficients(A, F))
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("x")
    monkeypatch.setenv("SPOUGE_CACHE_DIR", str(blocked / "sub"))
    assert tablecache.provide(A, F) == tuple(coefficients.iter_coefficients(A, F))


def test_parallel_generation_equals_sequential():
    a, frac = 5200, 2000  # past PARALLEL_MIN_A, at a low precision so that it stays quick
    assert tablecache.generate(a, frac, workers=2) == tuple(coefficients.iter_coefficients(a, frac))


def test_concurrent_processes_never_read_half_a_file(cache):
    """Four processes make the same table at once: every one gets the right digits and one sound file remains."""
    code = (
        "import spouge; from spouge.numerics import coefficients as c; "
        f"print(spouge.tablecache.provide({A}, {F}) == tuple(c.iter_coefficients({A}, {F})))"
    )
    env = dict(os.environ, SPOUGE_CACHE_DIR=str(cache))
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env=env, text=True) for _ in range(4)
    ]
    assert [p.communicate(timeout=120)[0].strip() for p in procs] == ["True"] * 4
    assert tablecache.load(str(cache), A, F) is not None
    assert not list(cache.glob(".coeffs-*"))
