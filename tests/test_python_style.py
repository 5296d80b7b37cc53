"""The Python is linted, formatted and type-checked as the TypeScript is (test_labextension runs ESLint): no
warning allowed. The settings are in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.real

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


def test_the_checkers_are_pinned_and_strict():
    """A new ruff or mypy release changes nothing until the pin moves; mypy is at least as strict as
    jupyter_server's configuration, with missing imports ignored per module, never globally."""
    from importlib.metadata import version

    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pins = dict(r.split("==") for r in project["project"]["optional-dependencies"]["test"] if "==" in r)
    assert pins["ruff"] == version("ruff") and pins["mypy"] == version("mypy"), pins
    mypy = project["tool"]["mypy"]
    for option in ("check_untyped_defs", "disallow_incomplete_defs", "strict_equality", "no_implicit_optional"):
        assert mypy.get(option) is True, option
    assert "ignore_missing_imports" not in mypy
    assert all(o.get("ignore_missing_imports") and o["module"] for o in mypy["overrides"])


def test_the_package_says_it_is_typed():
    assert (ROOT / "jupyter_openeo_auth" / "py.typed").is_file()
