"""Code health is part of the test command: ruff and mypy, configured in pyproject.toml, find nothing.

ruff checks spouge/, tests/ and bench/ ([tool.ruff]); mypy checks spouge/ ([tool.mypy]: strict for
spouge.numerics and spouge.protocol, the defaults elsewhere).  A failure prints the tool's findings.
Both tools come with the test extras (pip install -e '.[test]').
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tomllib

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec(tool) is None:
        pytest.fail(f"{tool} is not installed: it comes with the test extras (pip install -e '.[test]')")
    return subprocess.run([sys.executable, "-m", tool, *args], cwd=ROOT, capture_output=True, text=True, timeout=280)


def test_ruff_finds_nothing():
    proc = _run("ruff", "check", "--no-cache", "--output-format", "concise", "spouge", "tests", "bench")
    assert proc.returncode == 0, f"ruff check spouge tests bench:\n{proc.stdout}{proc.stderr}"


def test_mypy_finds_nothing():
    proc = _run("mypy")  # files and flags from [tool.mypy]
    assert proc.returncode == 0, f"mypy:\n{proc.stdout}{proc.stderr}"
    assert "Success: no issues found" in proc.stdout, proc.stdout


def test_the_checks_are_configured_as_documented():
    """The checks above mean something only with the configuration in pyproject.toml: ruff reads it, and
    mypy's strict flags are set per module (mypy's own ``strict`` key, put in an override, would turn
    strict on everywhere)."""
    ruff = _run("ruff", "check", "--show-settings", "spouge/__init__.py")
    assert ruff.returncode == 0, ruff.stderr
    assert f'Settings path: "{os.path.join(ROOT, "pyproject.toml")}"' in ruff.stdout, ruff.stdout[:500]
    assert "linter.line_length = 120" in ruff.stdout
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        mypy = tomllib.load(f)["tool"]["mypy"]
    assert "strict" not in mypy and all("strict" not in o for o in mypy["overrides"])
    strict = [o for o in mypy["overrides"] if "spouge.numerics.*" in o["module"] and "spouge.protocol.*" in o["module"]]
    assert len(strict) == 1
    for flag in ("disallow_untyped_defs", "disallow_incomplete_defs", "disallow_any_generics", "check_untyped_defs",
                 "disallow_untyped_calls", "disallow_untyped_decorators", "warn_return_any", "no_implicit_reexport",
                 "strict_equality"):
        assert strict[0].get(flag) is True, flag
    untyped = [o for o in mypy["overrides"] if o.get("ignore_missing_imports")]
    assert untyped and all(not m.startswith("spouge") for o in untyped for m in o["module"])
