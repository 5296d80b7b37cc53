"""The answers of the REST API that only trouble brings about, each once, so that a run of the whole suite
receives every status openapi.json lists (tests/conftest.py checks): a back-end that does not answer, a
provider that is busy, a login deleted twice, a parameter that is neither true nor false."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

NOBODY = "http://127.0.0.1:9"  # nothing listens there


async def test_a_logout_of_a_backend_that_does_not_answer_is_a_502(api):
    code, answer, _ = await api.call("DELETE", "sessions", params={"backend": NOBODY})
    assert code == 502 and answer["reason"] == "backend_unavailable" and "127.0.0.1:9" in answer["message"]


async def test_a_provider_that_is_down_is_a_503_saying_to_try_again(api, faults):
    down = f"{faults.url}/be/deadprov"
    code, answer, _ = await api.call("POST", "logins", body={"backend": down})
    assert code == 503 and answer["reason"] == "provider_unavailable", answer
    assert "try again" in answer["message"].lower()
    code, listed, _ = await api.call("GET", "providers", params={"backend": down})
    assert code == 200 and listed["providers"][0]["flows"] == ["device"]  # what the back-end says, meanwhile


async def test_a_login_deleted_twice_says_it_is_gone_and_a_bad_flag_is_a_400(api, faults):
    code, login = await api.post("logins", backend=f"{faults.url}/be/1")  # a login nobody approves
    assert code == 202, login
    code, answer, _ = await api.call("DELETE", f"logins/{login['id']}", params={"unless_waited_for": "maybe"})
    assert code == 400 and answer["reason"] == "bad_parameter" and "unless_waited_for" in answer["message"]
    code, cancelled, _ = await api.call("DELETE", f"logins/{login['id']}")
    assert code == 200 and cancelled["state"] == "cancelled"
    code, answer, _ = await api.call("DELETE", f"logins/{login['id']}")
    assert code == 410 and answer["reason"] == "cancelled"
