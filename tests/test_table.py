"""`spouge table`: many values on a local pool or a Dask cluster (issue 14, part 3).

Real processes throughout: the CLI in a subprocess, a local process pool, and a
Dask LocalCluster of worker processes (one of which is killed mid-run).
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from spouge import table as batch

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def spouge(*args: str, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "spouge", *args], input=stdin, capture_output=True, text=True,
                          env=ENV, timeout=timeout, cwd=ROOT)


def test_ranges_are_exact_decimals_with_the_stop_included():
    assert batch.parse_range("0:0.2:0.1") == ["0", "0.1", "0.2"]
    assert batch.parse_range("0.1:0.5:0.1") == ["0.1", "0.2", "0.3", "0.4", "0.5"]  # no 0.30000000000000004
    assert batch.parse_range("3:1:-1") == ["3", "2", "1"]
    assert batch.parse_range("1:2") == ["1", "2"]
    assert batch.parse_range("1:0:1") == []
    assert batch.parse_range("\u22122:\u22121:0.5") == ["-2", "-1.5", "-1"]  # the Unicode minus too
    assert batch.parse_range("1e100:1e100") == ["1E+100"]
    many = batch.parse_range("0:1:0.000001")
    assert len(many) == 1000001 and many[-1] == "1" and many[1] == "0.000001"


@pytest.mark.parametrize("spec, message", [
    ("1:2:0", "must not be 0"), ("1", "START:STOP"), ("a:2", "decimal number"), ("1:nan", "finite"),
    ("0:1e9:1e-9", "at most"), ("1:2:3:4", "START:STOP"),
])
def test_bad_ranges_are_refused_in_spouges_terms(spec, message):
    with pytest.raises(batch.TableError, match=message):
        batch.parse_range(spec)


def test_file_lines_skip_blanks_and_comments_and_report_bad_lines_by_number():
    lines = ["10 3\n", "\n", "# a comment\n", "5, 2\n", "7\n", "1 2 3\n"]
    assert list(batch.read_arguments(lines, 2)) == [
        (1, ("10", "3")), (4, ("5", "2")), (5, "line 5: expected 2 arguments, got 1"),
        (6, "line 6: expected 2 arguments, got 3"),
    ]


def _csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_the_cli_writes_csv_in_order_with_poles_as_row_errors_and_a_distinct_exit_status(tmp_path):
    out = tmp_path / "g.csv"
    done = spouge("table", "gamma", "--range", "-2:2:0.5", "-d", "20", "-o", str(out), "-p", "2")
    assert done.returncode == 3, done.stderr  # some rows are poles
    assert "row(s) with an error" in done.stderr and "Traceback" not in done.stderr
    rows = _csv_rows(out.read_text())
    assert rows[0] == ["x", "value", "error"]
    assert [r[0] for r in rows[1:]] == batch.parse_range("-2:2:0.5")
    by_x = {r[0]: r for r in rows[1:]}
    assert "pole" in by_x["-1"][2] and by_x["-1"][1] == ""
    assert by_x["0.5"][1] == "1.7724538509055160273e+0" and by_x["0.5"][2] == ""
    assert not (tmp_path / "g.csv.partial").exists()


def test_json_lines_two_argument_functions_from_stdin_and_the_enclosure_mode():
    done = spouge("table", "binomial", "--file", "-", "--format", "jsonl", "-d", "5", "--rounding", "enclosure",
                  stdin="10 3\n0.5 2\n\n")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [json.loads(line) for line in lines] == [
        {"a": "10", "b": "3", "lower": "1.2000e+2", "upper": "1.2000e+2"},
        {"a": "0.5", "b": "2", "lower": "-1.2500e-1", "upper": "-1.2500e-1"},
    ]
    assert done.stdout.endswith("\n")


@pytest.mark.parametrize("args, message", [
    (("table", "beta", "--range", "1:3"), "--with B"),
    (("table", "gamma", "--range", "1:3", "--with", "2"), "takes one argument"),
    (("table", "gamma", "--file", "/nonexistent/x.txt"), "cannot read"),
    (("table", "gamma", "--range", "1:3", "-o", "/nonexistent/dir/out.csv"), "cannot write"),
    (("table", "gamma", "--range", "1:3", "-p", "0"), "at least 1"),
    (("table", "gamma", "--range", "1:3", "-d", "0"), "digits must be"),
    (("table", "gamma", "--range", "1:3", "--scheduler", "tcp://127.0.0.1:1"), "Dask scheduler"),
])
def test_bad_table_requests_exit_2_with_one_line(args, message):
    done = spouge(*args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert message in done.stderr and "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0


def test_ctrl_c_cancels_the_pool_and_leaves_no_output_file(tmp_path):
    out = tmp_path / "slow.csv"
    proc = subprocess.Popen([sys.executable, "-m", "spouge", "table", "gamma", "--range", "0.5:400.5:0.25",
                             "-d", "3000", "-p", "2", "-o", str(out)], env=ENV, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (tmp_path / "slow.csv.partial").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert not out.exists() and not (tmp_path / "slow.csv.partial").exists()


def _local_rows(function: str, digits: int, items: list) -> list:
    rows: list = []
    batch.run_chunks(batch.open_backend(1, None), function, digits, None, "nearest", items, 7,
                     lambda chunk, got: rows.extend(got))
    return rows


def test_a_local_pool_gives_the_in_process_rows_digit_for_digit():
    items = [(x,) for x in batch.parse_range("-3.75:30:0.25")]
    expected = _local_rows("gamma", 40, items)
    rows: list = []
    batch.run_chunks(batch.open_backend(2, None), "gamma", 40, None, "nearest", items, 5,
                     lambda chunk, got: rows.extend(got))
    assert rows == expected and len(rows) == len(items)


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  worker_dashboard_address=None) as local:
        yield local


def test_dask_rows_equal_the_local_rows_and_each_worker_makes_each_table_once(cluster):
    digits = 1200  # a = 1500: a table worth caching, made once per worker, then reused for every chunk
    items = [(x,) for x in batch.parse_range("0.5:40:0.5")]
    expected = _local_rows("gamma", digits, items)
    backend = batch._Dask(cluster.scheduler_address)
    before = backend.client.run(batch.table_counters)
    rows: list = []
    batch.run_chunks(backend, "gamma", digits, None, "nearest", items, 4, lambda chunk, got: rows.extend(got))
    assert rows == expected
    from distributed import Client

    with Client(cluster.scheduler_address) as client:
        after = client.run(batch.table_counters)
    made = 0
    for worker, counters in after.items():
        # Each in-memory cache of the worker (the C core's, and Python's for the exact-integer path) gets the
        # table at most once, for 10+ chunks each: never once per task.
        for key in ("c_misses", "python_misses"):
            new = counters.get(key, 0) - before.get(worker, {}).get(key, 0)
            assert new <= 1, (worker, key, counters)
            made += new
    assert made >= 1


def test_a_worker_killed_mid_run_loses_and_duplicates_no_row(cluster):
    from distributed import Client

    items = [(x,) for x in batch.parse_range("0.5:60:0.25")]
    expected = _local_rows("gamma", 600, items)
    backend = batch._Dask(cluster.scheduler_address)
    rows: list = []
    chunks: list = []
    killed = threading.Event()

    def on_rows(chunk, got):
        chunks.append(chunk)
        rows.extend(got)
        if not killed.is_set():
            killed.set()
            with Client(cluster.scheduler_address) as client:
                pids = client.run(os.getpid)
            os.kill(sorted(pids.values())[0], signal.SIGKILL)

    batch.run_chunks(backend, "gamma", 600, None, "nearest", items, 3, on_rows)
    assert killed.is_set()
    assert rows == expected
    assert [item for chunk in chunks for item in chunk] == items
    deadline = time.monotonic() + 60  # the nanny restarts the worker for the next test
    with Client(cluster.scheduler_address) as client:
        while len(client.scheduler_info()["workers"]) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)


def test_the_cli_on_a_dask_scheduler_writes_what_the_local_run_writes(cluster, tmp_path):
    local = spouge("table", "lgamma", "--range", "0.5:50:0.5", "-d", "30", "-p", "1")
    remote = spouge("table", "lgamma", "--range", "0.5:50:0.5", "-d", "30", "--scheduler", cluster.scheduler_address)
    assert local.returncode == remote.returncode == 0, remote.stderr
    assert remote.stdout == local.stdout and len(local.stdout.splitlines()) == 101
