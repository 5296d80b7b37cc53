"""The unit layer's size and speed (issue 30: at least 150 tests in at most 20 s on two cores).

The reference, measured in the same run: the time pytest needs to collect the same tests.

    python benchmarks/run.py unit_layer
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pytest(*args: str) -> tuple[str, float]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-m", "unit", "-q", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip().splitlines()[-1], time.perf_counter() - started


def main() -> dict:
    collected, collecting = pytest("--collect-only")
    summary, running = pytest()
    match = re.search(r"(\d+) passed.* in ([\d.]+)s", summary)
    if match is None or "failed" in summary:
        return {"pytest -m unit": summary}
    tests, seconds = int(match.group(1)), float(match.group(2))
    return {
        "tests": tests,
        "pytest's own figure (s; the issue's bound: 20)": f"{seconds:.1f}",
        "whole command, start to end (s)": f"{running:.1f}",
        "collection alone, the reference (s)": f"{collecting:.1f}",
        "whole command / collection alone": f"{running / collecting:.2f}x",
        "per test (ms)": f"{1000 * seconds / tests:.0f}",
    }
