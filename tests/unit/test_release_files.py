"""What a first release needs beside the code: the license named in pyproject.toml in full, a changelog with an
Unreleased section, and a contributor guide whose set-up is the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_license_is_the_full_apache_2_text():
    text = (ROOT / "LICENSE").read_text()
    assert text.lstrip().startswith("Apache License") and "Version 2.0, January 2004" in text
    sections = re.findall(r"^\s+(\d)\. [A-Z][a-z]+", text, re.M)
    assert sections == [str(n) for n in range(1, 10)] and "END OF TERMS AND CONDITIONS" in text
    assert 'license = { text = "Apache-2.0" }' in (ROOT / "pyproject.toml").read_text()


def test_the_changelog_has_a_place_for_the_next_change():
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert changelog.startswith("# Changelog") and "## Unreleased" in changelog
    version = re.search(r'__version__ = "([^"]+)"', (ROOT / "jupyter_openeo_auth" / "_version.py").read_text())
    assert version and f"## {version.group(1)}" in changelog


def test_the_contributor_guide_sets_up_what_the_readme_tests():
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"<!-- test-command -->\s*```\w*\n(.+?)\n```", readme, re.S)
    assert command is not None
    guide = (ROOT / "CONTRIBUTING.md").read_text()
    for step in command.group(1).split(" && "):
        if step.startswith(("npm ci", "python -m pip install")):
            assert step in guide, step
    assert "jupyter_openeo_auth/flows.py" in guide and "pytest -m unit" in guide
