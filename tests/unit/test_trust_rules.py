"""SECURITY.md's rules at the seam, with canned answers: no process, no socket. Exchanges (the OIDC core's
step-wise requests) are driven by hand; the real-part attacks are in test_trust.py."""

from __future__ import annotations

import json
import os
import time

import canned
import httpx
import pytest
from hostile import unsigned_jwt

from jupyter_openeo_auth.broker import TokenBroker
from jupyter_openeo_auth.broker.hub_tokens import HubTokens
from jupyter_openeo_auth.broker.service_accounts import ServiceAccount, ServiceAccountNotConfigured, find_account
from jupyter_openeo_auth.cli import plain
from jupyter_openeo_auth.errors import HubUnavailable, InsecureProvider
from jupyter_openeo_auth.kernel.client import REMOTE_SERVER_ENV, NoServer, check_token_destination, find_server
from jupyter_openeo_auth.oidc import (
    AsyncHttpClient,
    BackendInfo,
    IssuerMetadata,
    IssuerMismatch,
    LoginRequired,
    OidcClient,
    OidcProviderInfo,
    TokenRequestFailed,
    TokenSet,
)
from jupyter_openeo_auth.oidc.discovery import fetch_metadata
from jupyter_openeo_auth.oidc.grants import MAX_LINK, DeviceLogin
from jupyter_openeo_auth.oidc.trust import allow_plain_http
from jupyter_openeo_auth.server.handlers import qr_svg
from jupyter_openeo_auth.wire import key_file


def run(exchange, answers: dict):
    """The exchange's result and the URLs it asked (see canned.run)."""
    result, asked = canned.run(exchange, answers)
    return result, [request.url for request in asked]


# --- a provider's metadata names the issuer it was fetched for ------------------------------------------------


def test_metadata_naming_another_issuer_is_refused():
    real, evil = "https://idp.example.org/realms/x", "https://evil.example/iss"
    answers = {evil + "/.well-known/openid-configuration": (200, {"issuer": real, "token_endpoint": evil + "/t"})}
    with pytest.raises(IssuerMismatch) as refused:
        run(fetch_metadata(evil), answers)
    assert real in refused.value.message and evil in refused.value.message and not refused.value.transient


def test_metadata_without_an_issuer_is_refused_and_a_trailing_slash_is_not_a_difference():
    iss = "https://idp.example.org"
    url = iss + "/.well-known/openid-configuration"
    with pytest.raises(IssuerMismatch, match="names no issuer"):
        run(fetch_metadata(iss), {url: (200, {"token_endpoint": iss + "/t"})})
    meta, _ = run(fetch_metadata(iss), {url: (200, {"issuer": iss + "/", "token_endpoint": iss + "/t"})})
    assert meta.issuer == iss and meta.token_endpoint == iss + "/t"


def test_an_rfc8414_document_naming_another_issuer_is_refused_too():
    iss = "https://idp.example.org/tenant"
    answers = {
        iss + "/.well-known/openid-configuration": (200, {"issuer": iss, "token_endpoint": iss + "/t"}),
        "https://idp.example.org/.well-known/oauth-authorization-server/tenant": (
            200,
            {"issuer": "https://idp.example.org/other", "token_endpoint": iss + "/t"},
        ),
    }
    with pytest.raises(IssuerMismatch):
        run(fetch_metadata(iss), answers)


def test_the_id_token_in_a_token_answer_names_no_one():
    forged = unsigned_jwt({"iss": "https://idp.example.org", "sub": "alice", "name": "Alice"})
    tokens = TokenSet.from_response({"access_token": "a", "expires_in": 60, "id_token": forged})
    assert tokens.user == {} and tokens.id_claims == {}


# --- secrets travel over https, or on this machine ----------------------------------------------------------


def test_a_plain_http_issuer_on_another_machine_is_not_asked():
    with pytest.raises(InsecureProvider, match="not an https URL"):
        run(fetch_metadata("http://idp.example.org"), {})


def test_a_plain_http_endpoint_on_another_machine_is_refused_unless_allowed():
    iss = "https://idp.example.org"
    doc = {"issuer": iss, "token_endpoint": "http://10.1.2.3/token", "revocation_endpoint": iss + "/r"}
    answers = {iss + "/.well-known/openid-configuration": (200, doc)}
    with pytest.raises(InsecureProvider, match="token endpoint"):
        run(fetch_metadata(iss), answers)
    allow_plain_http(["10.1.2.3"])
    try:
        meta, _ = run(fetch_metadata(iss), answers)
        assert meta.token_endpoint == "http://10.1.2.3/token"
    finally:
        allow_plain_http([])
    meta, _ = run(
        fetch_metadata("http://127.0.0.1:9"),
        {
            "http://127.0.0.1:9/.well-known/openid-configuration": (
                200,
                {"issuer": "http://127.0.0.1:9", "token_endpoint": "http://127.0.0.1:9/t"},
            )
        },
    )
    assert meta.token_endpoint == "http://127.0.0.1:9/t"


def _account_info(issuer: str = "https://idp.example.org") -> BackendInfo:
    providers = tuple(OidcProviderInfo(id=pid, issuer=issuer, title=pid) for pid in ("egi", "other"))
    return BackendInfo("https://openeo.example", "https://openeo.example/openeo/1.2", "1.2.0", providers)


def test_a_service_account_logs_in_with_one_provider_and_one_issuer():
    account = ServiceAccount(backend="https://openeo.example", client_id="svc", secret_env="X")
    info = _account_info()
    assert find_account([account], info, "egi") is account  # the back-end's first provider
    with pytest.raises(ServiceAccountNotConfigured, match="provider egi, not 'other'"):
        find_account([account], info, "other")
    moved = _account_info("https://evil.example/iss")  # the back-end lists another issuer under the same id
    with pytest.raises(ServiceAccountNotConfigured, match="belongs to https://idp.example.org"):
        find_account([account], moved, "egi")
    configured = ServiceAccount(backend="https://openeo.example", client_id="svc", issuer="https://evil.example/iss")
    with pytest.raises(ServiceAccountNotConfigured, match="not sent there"):
        find_account([configured], info, "egi")


# --- a provider's device answer ------------------------------------------------------------------------------


def _device(**body) -> DeviceLogin:
    client = OidcClient(IssuerMetadata("https://idp.example.org", "https://idp.example.org/t"), "c")
    answer = {"device_code": "d", "user_code": "ABCD-EFGH", "verification_uri": "https://idp.example.org/device"}
    return DeviceLogin(client, {**answer, **body}, None, 0.0)


def test_device_answers_that_cannot_be_shown_are_refused_or_left_out():
    long_link = "https://idp.example.org/device?code=" + "A" * MAX_LINK
    assert _device(verification_uri_complete=long_link).verification_uri_complete is None
    assert _device(verification_uri_complete="javascript:alert(1)").verification_uri_complete is None
    ok = "https://idp.example.org/device?code=ABCD"
    assert _device(verification_uri_complete=ok).verification_uri_complete == ok
    for code in ("", "A" * 65, "AB\x1b[2JCD", "AB\nCD"):
        with pytest.raises(TokenRequestFailed, match="user code"):
            _device(user_code=code)
    with pytest.raises(TokenRequestFailed, match="verification link"):
        _device(verification_uri=long_link)
    with pytest.raises(TokenRequestFailed, match="not an http"):
        _device(verification_uri="javascript:alert(1)")


def test_a_link_too_long_for_a_qr_code_has_none():
    assert qr_svg("https://idp.example.org/d?c=" + "A" * 3000) is None
    assert qr_svg("https://idp.example.org/d?c=ABCD").startswith("<svg")


# --- the terminal -------------------------------------------------------------------------------------------


def test_text_from_a_provider_reaches_the_terminal_without_control_characters():
    said = plain("CODE\x1b]0;pwned\x07-\x1b[2J\r\u202eXYZ\x9b31m\nnext line")
    assert said == "CODE]0;pwned-[2JXYZ31m\nnext line"


# --- the Jupyter server's token goes to its own host ----------------------------------------------------------


@pytest.mark.parametrize(
    "url, remote, refused",
    [
        ("http://example.org:8888/", None, "clear text"),
        ("https://example.org/user/alice/", None, "when you say so"),
        ("https://example.org/user/alice/", "1", None),
        ("http://127.0.0.1:8888/", None, None),
        ("http://[::1]:8888/", None, None),
        ("file:///etc/passwd", None, "not an http"),
    ],
)
def test_the_servers_token_goes_only_where_it_may(monkeypatch, capsys, url, remote, refused):
    if remote:
        monkeypatch.setenv(REMOTE_SERVER_ENV, remote)
    else:
        monkeypatch.delenv(REMOTE_SERVER_ENV, raising=False)
    if refused:
        with pytest.raises(NoServer, match=refused):
            check_token_destination(url)
    else:
        check_token_destination(url)
        host = url.split("//")[1].split("/")[0].rsplit(":", 1)[0].strip("[]")
        assert f"sending the Jupyter server's token to {host}" in capsys.readouterr().err


def test_in_a_kernel_the_parent_server_wins_over_the_variable(tmp_path, monkeypatch):
    mine = {"url": "http://127.0.0.1:8888/", "key": "k", "pid": os.getpid(), "root_dir": str(tmp_path)}
    key_file(tmp_path, os.getpid()).write_text(json.dumps(mine))
    monkeypatch.setenv("JUPYTER_OPENEO_AUTH_SERVER", "https://evil.example/")
    monkeypatch.setenv("JUPYTER_TOKEN", "server-token")
    monkeypatch.setenv("JPY_PARENT_PID", str(os.getpid()))
    assert find_server(runtime_dir=str(tmp_path))["url"] == "http://127.0.0.1:8888/"


# --- JupyterHub's login: a GET makes no session; a token request does, and asks the issuer who it is ---------


class CannedWeb:
    """A hostile back-end listing the hub's issuer, and that issuer: canned answers through httpx's
    MockTransport, every request recorded with its Authorization header."""

    BACKEND, ISSUER = "https://evil.example", "https://hub-idp.example/realms/hub"

    def __init__(self):
        self.requests: list[tuple[str, str | None]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        self.requests.append((url, request.headers.get("Authorization")))
        answers = {
            self.BACKEND + "/.well-known/openeo": (404, {}),
            self.BACKEND + "/": (200, {"api_version": "1.2.0"}),
            self.BACKEND + "/credentials/oidc": (
                200,
                {"providers": [{"id": "hub", "issuer": self.ISSUER, "title": "Hub", "default_clients": []}]},
            ),
            self.BACKEND + "/me": (200, {"user_id": "alice"}),
            self.ISSUER + "/.well-known/openid-configuration": (
                200,
                {"issuer": self.ISSUER, "token_endpoint": self.ISSUER + "/t", "userinfo_endpoint": self.ISSUER + "/u"},
            ),
            self.ISSUER + "/u": (200, {"sub": "alice", "name": "Alice Liddell"}),
        }
        status, body = answers.get(url, (404, {}))
        return httpx.Response(status, json=body)

    def bearers(self) -> list[str]:
        return [url for url, auth in self.requests if auth]


class StubHub:
    """The hub's side of `HubTokens`: the user's access token, and the unverified `iss` of its id token."""

    issuer_hint = CannedWeb.ISSUER

    def __init__(self):
        self.asked = 0

    async def tokens(self, _previous=None) -> TokenSet:
        self.asked += 1
        return TokenSet("hub-access-token", time.time() + 300, expires_mono=time.monotonic() + 300)


async def test_a_get_makes_no_hub_session_and_sends_no_token():
    web, hub = CannedWeb(), StubHub()
    broker = TokenBroker(owner="alice", http=AsyncHttpClient(transport=httpx.MockTransport(web)))
    broker.use_hub(hub)  # type: ignore[arg-type] # the stub has HubTokens' face
    try:
        assert await broker.session_list(CannedWeb.BACKEND) == []
        assert hub.asked == 0 and web.bearers() == [] and len(broker.sessions) == 0
        grant = await broker.token(CannedWeb.BACKEND)  # a kernel's request: it proves it comes from the user
        assert grant.session.user == {"sub": "alice", "name": "Alice Liddell"}  # from the issuer's userinfo
        assert web.bearers() == [CannedWeb.ISSUER + "/u", CannedWeb.BACKEND + "/me"]
    finally:
        await broker.aclose()


@pytest.mark.parametrize(
    "status, body, expected",
    [
        (500, b"<html>Internal Server Error</html>", HubUnavailable),  # the hub in trouble: ask again soon
        (503, b'{"status": 503, "message": "restarting"}', HubUnavailable),
        (200, b'{"name": "alice", "auth_state": null}', LoginRequired),  # no auth_state: log in here instead
        (404, b'{"status": 404}', LoginRequired),
    ],
)
async def test_the_hub_in_trouble_is_not_the_hub_without_a_login(status, body, expected):
    """Before, a JSON 5xx from the hub meant "the hub holds no login" for a minute; now only the hub's word does."""
    asked = []

    def hub(request: httpx.Request) -> httpx.Response:
        asked.append(request.headers["Authorization"])
        return httpx.Response(status, content=body, headers={"Content-Type": "application/json"})

    http = AsyncHttpClient(transport=httpx.MockTransport(hub))
    tokens = HubTokens("http://127.0.0.1:8081/hub/api", "alice", "server-api-token", http)
    try:
        with pytest.raises(expected) as caught:
            await tokens.tokens()
        if expected is HubUnavailable:
            assert caught.value.transient and str(caught.value).startswith("The JupyterHub at http://127.0.0.1:8081")
            assert "server-api-token" not in str(caught.value)
        with pytest.raises(expected):
            await tokens.tokens()
        assert len(asked) == (2 if expected is HubUnavailable else 1)  # trouble is asked again; absence is not
    finally:
        await http.aclose()
