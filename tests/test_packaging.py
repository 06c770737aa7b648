"""Packaging promises (issue 13): one version, typed, licensed, honest dependency floors, a clear venv hint."""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import spouge

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_one_version_read_from_the_metadata():
    assert spouge.__version__ == PYPROJECT["project"]["version"]
    out = subprocess.run([sys.executable, "-m", "spouge", "--version"], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert out.returncode == 0 and out.stdout.startswith(f"spouge {spouge.__version__} ")


def test_typed_and_licensed():
    assert (ROOT / "spouge" / "py.typed").exists()
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"]["spouge"]
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    classifiers = PYPROJECT["project"]["classifiers"]
    assert "Typing :: Typed" in classifiers and any(c.startswith("License ::") for c in classifiers)


def test_every_runtime_dependency_declares_a_floor_the_minimum_job_can_pin():
    for req in PYPROJECT["project"]["dependencies"] + PYPROJECT["build-system"]["requires"]:
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+>=[0-9][0-9A-Za-z.]*", req.replace(" ", "")), req


@pytest.mark.skipif(not os.environ.get("SPOUGE_SLOW"), reason="opt-in: SPOUGE_SLOW=1 (a fresh venv with the floors)")
def test_the_declared_minimum_of_every_dependency_passes_the_smoke_tests(tmp_path):
    out = subprocess.run(["bash", str(ROOT / "scripts" / "test-minimum"), str(tmp_path / "venv")],
                         capture_output=True, text=True, cwd=ROOT, timeout=1800)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]


@pytest.mark.skipif(not glob.glob("/usr/lib/python3*/EXTERNALLY-MANAGED") or not os.path.exists("/usr/bin/python3"),
                    reason="needs a system Python marked externally managed (Debian's)")
def test_install_on_an_externally_managed_python_says_to_use_a_venv(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to("/usr/bin/python3")
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    out = subprocess.run(["bash", str(ROOT / "scripts" / "install")], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 1
    assert "python3 -m venv .venv" in out.stderr and "Traceback" not in out.stderr
    assert shutil.which("python3", path=env["PATH"]) == str(bin_dir / "python3")
