"""The hub benchmark's smoke run (N=3): benchmarks/hub_scale.py works, and a spawn needs no device login."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import hub_scale  # noqa: E402

pytestmark = pytest.mark.slow


def test_three_users_of_a_hub_get_tokens_with_no_device_login():
    figures = hub_scale.run(3)
    assert figures["N=3: device logins per spawn"] == 0
    assert figures["N=3: hub API requests per handed-out token"] > 0  # the service asks the hub, and is counted
    p50, p95 = (float(x) for x in figures["N=3: hand-out p50 / p95 ms (token service)"].split(" / "))
    assert 0 < p50 <= p95
