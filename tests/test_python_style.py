"""The Python is linted, formatted and type-checked as the TypeScript is (test_labextension runs ESLint): no
warning allowed. The settings are in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODE = ["jupyter_openeo_auth", "tests", "benchmarks"]


def run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *argv], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing():
    done = run("ruff", "check", *CODE)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_code_is_formatted():
    done = run("ruff", "format", "--check", *CODE)
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_finds_nothing():
    done = run("mypy")  # files and options from pyproject.toml
    assert done.returncode == 0 and "Success" in done.stdout, done.stdout + done.stderr


def test_the_package_says_it_is_typed():
    assert (ROOT / "jupyter_openeo_auth" / "py.typed").is_file()
