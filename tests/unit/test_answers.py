"""The REST answers as the server builds them, checked against openapi.json without a server: a login
(`login_json`), a session's description (`broker.describe`). The handlers only send what these build."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from jsonschema import Draft202012Validator
from openapi_check import DOCUMENT, REGISTRY

from jupyter_openeo_auth.broker.describe import describe_all
from jupyter_openeo_auth.broker.logins import Login
from jupyter_openeo_auth.broker.session_key import SessionKey
from jupyter_openeo_auth.broker.sessions import Session, SessionSettings
from jupyter_openeo_auth.oidc import TokenSet
from jupyter_openeo_auth.server.handlers import login_json, through_this_server
from jupyter_openeo_auth.wire import Flow, LoginState

KEY = SessionKey("https://be.example/openeo/1.2", "egi", Flow.DEVICE, "")


def valid(schema: dict, data: dict) -> list[str]:
    ref = schema.get("$ref", "")
    resolved = {"$ref": "urn:openapi" + ref} if ref.startswith("#") else schema
    return [e.message for e in Draft202012Validator(resolved, registry=REGISTRY).iter_errors(data)]


def answer_schema(path: str, method: str, status: str) -> dict:
    return DOCUMENT["paths"][f"/openeo-auth/api/{path}"][method]["responses"][status]["content"]["application/json"][
        "schema"
    ]


def device(uri: str) -> SimpleNamespace:
    """A device authorization as the provider answered it (the parts a login shows)."""
    return SimpleNamespace(
        user_code="WXYZ-1234",
        verification_uri=uri,
        verification_uri_complete=f"{uri}?user_code=WXYZ-1234",
        expires_in=lambda: 600.0,
        interval=5.0,
        last_error="",
    )


def test_a_pending_login_is_a_202_login_with_a_qr_code_of_its_link():
    login = Login(KEY, "https://be.example", device("https://idp.example/device"))  # type: ignore[arg-type]
    out = login_json(login, "/")
    assert valid(answer_schema("logins", "post", "202"), out) == []
    assert out["state"] == "pending" and out["qr_svg"].startswith("<svg") and "through_server" not in out


def test_a_link_through_this_servers_proxy_is_a_path_without_a_qr_code():
    uri = "http://127.0.0.1:8780/user/a/proxy/8780/device"
    login = Login(KEY, "https://be.example", device(uri))  # type: ignore[arg-type]
    out = login_json(login, "/user/a/")
    assert valid(answer_schema("logins/{id}", "get", "200"), out) == []
    assert out["verification_uri"] == "/user/a/proxy/8780/device" and out["through_server"] is True
    assert "qr_svg" not in out
    assert through_this_server("http://10.0.0.5/user/a/proxy/1/x", "/user/a/") == "http://10.0.0.5/user/a/proxy/1/x"


@pytest.mark.parametrize("state", [LoginState.LOGGED_IN, LoginState.DENIED, LoginState.CANCELLED])
def test_an_ended_login_says_how_and_shows_no_code(state):
    login = Login(KEY, "https://be.example", device("https://idp.example/device"))  # type: ignore[arg-type]
    login.finish(state, None if state is LoginState.LOGGED_IN else "It ended.", {"sub": "alice"})
    out = login_json(login)
    assert valid(answer_schema("logins/{id}", "get", "200"), out) == []
    assert out["state"] == state.value and "user_code" not in out and "qr_svg" not in out


def test_a_sessions_description_is_the_documents_session_and_never_a_token():
    client = SimpleNamespace(client_id="default", metadata=SimpleNamespace(issuer="https://idp.example"))
    tokens = TokenSet("access-canary", 2e9, "refresh-canary", id_claims={"sub": "alice", "name": "Alice"})
    session = Session(KEY, "https://be.example", client, tokens, None, SessionSettings(), logging.getLogger("t"))  # type: ignore[arg-type]
    session.serve("https://other.example/openeo/1.2", "https://other.example", "egi")
    described = describe_all(session)
    assert [d["backend"] for d in described] == ["https://be.example", "https://other.example"]
    sessions = {"sessions": described}
    assert valid(answer_schema("sessions", "get", "200"), sessions) == []
    assert "canary" not in repr(sessions)
    assert {d["login"] for d in described} == {KEY.login_id} and described[0]["serves"][1] == "https://other.example"


def test_what_each_xdist_worker_received_adds_up_on_the_controller(monkeypatch):
    """On pytest-xdist workers (the README's command) each worker sees part of the answers; the controller's
    coverage check must count them all, or a whole run would claim answers were never received."""
    import conftest
    import openapi_check

    answer = sorted(openapi_check.documented())[0]
    monkeypatch.setattr(openapi_check, "SEEN", {answer})  # what one worker's tests received
    worker = SimpleNamespace(config=SimpleNamespace(workeroutput={}))
    conftest.pytest_sessionfinish(worker, 0)
    monkeypatch.setattr(openapi_check, "SEEN", set())  # the controller, which ran no test itself
    assert " ".join(answer) in openapi_check.uncovered()
    conftest.pytest_testnodedown(SimpleNamespace(workeroutput=worker.config.workeroutput), None)
    assert " ".join(answer) not in openapi_check.uncovered()
