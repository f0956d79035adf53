"""The code passes the project's linter and formatter (`.ruff.toml`), so CI, which runs the tests, runs
them too."""

from __future__ import annotations

import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).parent.parent
FOLDERS = ["zoo", "recipes", "benchmarks", "tests"]


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["check", "format"])
def test_ruff_is_clean(command):
    ruff = shutil.which("ruff")
    assert ruff, "ruff is in the test extras: pip install -e '.[test]'"
    result = subprocess.run([ruff, *command, *FOLDERS], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
