"""`spouge plot`: files are written; bad input and a missing matplotlib exit 2 with a message."""

from __future__ import annotations

import os
import subprocess
import sys


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "spouge", "plot", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def test_error_and_terms_pictures(tmp_path):
    svg = tmp_path / "error.svg"
    proc = run("error", "4.5", "--max-a", "30", "-o", str(svg))
    assert proc.returncode == 0, proc.stderr
    text = svg.read_text()
    assert text.startswith("<?xml") and "<svg" in text and text.count("<path") > 10
    png = tmp_path / "terms.png"
    proc = run("terms", "100", "--function", "factorial", "--a", "40", "-o", str(png))
    assert proc.returncode == 0 and png.read_bytes()[:4] == b"\x89PNG"


def test_bad_input(tmp_path):
    for args, message in [
        (("error", "-2.5", "-o", str(tmp_path / "a.svg")), "need x >= 0"),
        (("error", "3", "--max-a", "999", "-o", str(tmp_path / "a.svg")), "between 3"),
        (("terms", "abc", "-o", str(tmp_path / "a.svg")), "not a decimal number"),
        (("error", "3", "-o", str(tmp_path / "a.txt")), ".png or .svg"),
    ]:
        proc = run(*args)
        assert proc.returncode == 2 and message in proc.stderr, (args, proc.stderr)


def test_missing_matplotlib_is_a_clear_error(tmp_path):
    fake = tmp_path / "fake"
    (fake / "matplotlib").mkdir(parents=True)
    (fake / "matplotlib" / "__init__.py").write_text("raise ImportError('no matplotlib here')\n")
    proc = run("error", "3", "-o", str(tmp_path / "a.svg"), env={"PYTHONPATH": str(fake)})
    assert proc.returncode == 2 and "pip install 'spouge[plot]'" in proc.stderr
