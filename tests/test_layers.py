"""The unit layer keeps its promise: `pytest -m unit` starts no process and opens no socket, so it passes in a
network namespace whose loopback is down, and it is large (issue 30: at least 150 tests; its 20 s are measured by
`benchmarks/unit_layer.py`)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def test_the_unit_layer_passes_without_a_network():
    done = subprocess.run(
        [
            "unshare",
            "--map-root-user",
            "--net",
            sys.executable,
            "-m",
            "pytest",
            "-m",
            "unit",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    summary = done.stdout.strip().splitlines()[-1]
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    passed, seconds = re.search(r"(\d+) passed.* in ([\d.]+)s", summary).groups()
    assert int(passed) >= 150 and "skipped" not in summary, summary
    # Its speed is measured, not asserted (beside the suite's other workers it shares the CPU):
    # `python benchmarks/run.py unit_layer`.
    print(f"{passed} unit tests in {seconds} s")
