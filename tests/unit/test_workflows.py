"""The GitHub workflows beside `.ci/run`: they run the README's test command on the oldest and the newest
versions the package supports, build and check the distributions, and publish with trusted publishing."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"


def workflow(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def steps(wf: dict) -> list[dict]:
    return [step for job in wf["jobs"].values() for step in job["steps"]]


def readme_test_command() -> str:
    readme = (ROOT / "README.md").read_text()
    found = re.search(r"<!-- test-command -->\s*```\w*\n(.+?)\n```", readme, re.S)
    assert found is not None
    return found.group(1).strip()


def test_the_tests_run_the_readmes_command_on_the_oldest_and_the_newest():
    wf = workflow("tests.yml")
    assert set(wf[True]) >= {"push", "pull_request"}  # YAML reads the key `on` as true
    assert [s["run"] for s in steps(wf) if s.get("name") == "The README's test command"] == [readme_test_command()]
    matrix = wf["jobs"]["tests"]["strategy"]["matrix"]["include"]
    assert {entry["python"] for entry in matrix} == {"3.10", "3.13"}
    oldest = next(entry["pins"] for entry in matrix if entry["versions"] == "oldest").split()
    project = (ROOT / "pyproject.toml").read_text()
    # The floors pyproject.toml declares, pinned: what "the oldest supported" means.
    assert oldest == ["jupyterlab==4.0.*", "openeo==0.30.*"]
    assert '"jupyterlab>=4"' in project and '"openeo>=0.30"' in project
    assert wf["jobs"]["tests"]["env"]["CI"] == "true"  # a skipped test fails the run, as in .ci/run


def test_the_distributions_are_built_checked_and_installed_without_node():
    wf = workflow("build.yml")
    runs = " ".join(s.get("run", "") for s in steps(wf))
    assert "python -m build" in runs and "twine check --strict dist/*" in runs
    install = wf["jobs"]["install-without-node"]
    assert "setup-node" not in str(install) and "jupyter labextension list" in str(install)


def test_a_tag_publishes_with_trusted_publishing():
    wf = workflow("release.yml")
    assert wf[True]["push"]["tags"] == ["v*"]
    publish = wf["jobs"]["publish"]
    assert publish["permissions"] == {"id-token": "write"}
    assert [s["uses"] for s in publish["steps"]][-1] == "pypa/gh-action-pypi-publish@release/v1"
    assert "password" not in str(publish) and "secrets." not in (WORKFLOWS / "release.yml").read_text()


def test_every_workflow_reads_the_repository_only():
    for path in WORKFLOWS.glob("*.yml"):
        assert yaml.safe_load(path.read_text())["permissions"] == {"contents": "read"}, path.name
