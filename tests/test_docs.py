"""The documentation site builds from docs/ with warnings as errors (a broken internal link or anchor is one),
its REST reference covers every operation of openapi.json, and the README is a front page that links into it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_openeo_auth.server.openapi import openapi_document

pytestmark = pytest.mark.real

ROOT = Path(__file__).resolve().parents[1]


def test_the_docs_build_clean_and_the_rest_reference_covers_every_operation(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", "docs", str(tmp_path / "html")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rest = (ROOT / "docs" / "rest.md").read_text()
    for path, item in openapi_document()["paths"].items():
        for method in item:
            if method != "parameters":
                assert f"## `{method.upper()} {path}`" in rest, (method, path)
    for page in ("notebooks", "jupyterlab", "terminal", "hub", "configuration", "rest", "security", "threats"):
        assert (tmp_path / "html" / f"{page}.html").is_file(), page


def test_the_readme_is_a_front_page_whose_links_resolve():
    readme = (ROOT / "README.md").read_text()
    assert readme.count("\n") <= 200
    assert "<!-- test-command -->" in readme and "jupyter openeo-auth demo" in readme
    for target in re.findall(r"\]\(([^)#]+)\)", readme):
        if not target.startswith(("http://", "https://")):
            assert (ROOT / target).exists(), target
