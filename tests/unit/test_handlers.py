"""The REST handlers against a stub broker, with no socket (tests/unit/served.py): who may ask, what they must
send, and how each of the broker's errors is answered. Every answer is checked against openapi.json."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from jupyter_server.auth import IdentityProvider, User
from served import Served
from server_api import ROUTES

from jupyter_openeo_auth.broker.logins import Login
from jupyter_openeo_auth.broker.session_key import SessionKey
from jupyter_openeo_auth.errors import OpenEOAuthError
from jupyter_openeo_auth.server.handlers import STATUS
from jupyter_openeo_auth.server.kernel_key import KernelKey
from jupyter_openeo_auth.wire import KERNEL_ID_HEADER, KERNEL_SCHEME, Flow, LoginState, Reason

BACKEND = "https://openeo.example"
KEY = SessionKey(BACKEND, "egi", Flow.DEVICE, "")


def failure(reason: str, message: str = "It went wrong; do this.", retry_after: float | None = None):
    error = type("Failure", (OpenEOAuthError,), {"reason": reason})(message)
    error.retry_after = retry_after  # type: ignore[attr-defined]
    return error


class StubBroker:
    """What the handlers call, answering as told and noting how it was called."""

    default_backend = BACKEND

    def __init__(self, error: OpenEOAuthError | None = None, login: Login | None = None):
        self.error, self.calls = error, []
        self.the_login = login or Login(KEY, BACKEND)

    def _called(self, name: str, *args, **kwargs) -> None:
        self.calls.append((name, args, kwargs))
        if self.error is not None:
            raise self.error

    def public_settings(self) -> dict:
        self._called("public_settings")
        return {"default_backend": BACKEND}

    async def backend(self, url: str):
        self._called("backend", url)
        provider = SimpleNamespace(id="egi", title="EGI Check-in", issuer="https://idp.example")
        return SimpleNamespace(url=url, api_url=url + "/openeo/1.2", api_version="1.2.0", providers=[provider])

    async def flows(self, info) -> dict:
        return {"egi": [Flow.DEVICE.value]}

    def pending_logins(self) -> list:
        self._called("pending_logins")
        return [self.the_login]

    async def start_login(self, backend: str, **kwargs) -> Login:
        self._called("start_login", backend, **kwargs)
        return self.the_login

    def login(self, login_id: str) -> Login:
        self._called("login", login_id)
        return self.the_login

    def cancel_login(self, login_id: str, leaving: str | None = None) -> Login:
        self._called("cancel_login", login_id, leaving=leaving)
        self.the_login.finish(LoginState.CANCELLED, "Cancelled.")
        return self.the_login

    async def session_list(self, backend: str | None) -> list:
        self._called("session_list", backend)
        return []

    async def logout(self, backend: str, provider_id: str | None) -> dict:
        self._called("logout", backend, provider_id)
        return {"logged_out": 1, "revoked": True}

    async def token(self, backend: str, provider_id: str | None, min_valid, flow):
        self._called("token", backend, provider_id, min_valid, flow)
        tokens = SimpleNamespace(access_token="at-canary", expires_at=2_000_000_000.0)
        return SimpleNamespace(
            served=SimpleNamespace(provider_id="egi"), tokens=tokens, session=SimpleNamespace(user={"sub": "alice"})
        )


def called(broker: StubBroker) -> list[str]:
    return [name for name, _, _ in broker.calls]


async def test_an_answer_is_the_documents_json_and_never_cached():
    answer = await Served(StubBroker()).ask("GET", "settings")
    assert answer.status == 200 and answer.json() == {"default_backend": BACKEND}
    assert answer.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("method, path", ROUTES)
async def test_every_route_refuses_no_credential_with_a_401_and_a_wrong_token_with_a_403(method, path):
    broker = StubBroker()
    served = Served(broker)
    asked = {"params": {"backend": BACKEND}, "body": {"backend": BACKEND} if method == "POST" else None}
    none = await served.ask(method, path, token=False, **asked)
    assert none.status == 401 and none.json()["reason"] == Reason.NOT_AUTHENTICATED
    wrong = await served.ask(method, path, headers={"Authorization": "token guessed"}, **asked)
    assert wrong.status == 403 and wrong.json()["reason"] == Reason.FORBIDDEN
    assert called(broker) == []
    assert (await served.ask(method, path, **asked)).status < 400  # the server's token opens it


@pytest.mark.parametrize(
    "method, path, params, body",
    [
        ("GET", "providers", None, None),
        ("POST", "logins", None, {}),
        ("POST", "logins", None, {"backend": ""}),
        ("POST", "token", None, {"provider_id": "egi"}),
        ("DELETE", "sessions", None, None),
    ],
)
async def test_a_missing_backend_is_a_400_that_names_it(method, path, params, body):
    broker = StubBroker()
    answer = await Served(broker).ask(method, path, params=params, body=body)
    assert answer.status == 400 and answer.json()["reason"] == Reason.MISSING_PARAMETER
    assert "'backend'" in answer.json()["message"] and called(broker) == []


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"backend=x", Reason.BAD_REQUEST),  # a form, not JSON
        (b"[1, 2]", Reason.BAD_REQUEST),  # JSON, not an object
        (b"[" * 100_000 + b"]" * 100_000, Reason.BAD_REQUEST),  # nested past Python's recursion limit
        (b'{"backend": "https://be.example/\\ud800"}', Reason.BAD_PARAMETER),  # a lone surrogate
        (b'{"backend": 5}', Reason.MISSING_PARAMETER),
        (b'{"backend": "https://be.example", "client_id": ["a"]}', Reason.BAD_PARAMETER),
        (b'{"backend": "https://be.example", "provider_id": 7}', Reason.BAD_PARAMETER),
    ],
)
async def test_a_body_the_server_cannot_use_is_a_400_and_reaches_no_broker(body, reason):
    broker = StubBroker()
    answer = await Served(broker).ask("POST", "logins", body=body)
    assert answer.status == 400 and answer.json()["reason"] == reason, answer.json()
    assert called(broker) == []


@pytest.mark.parametrize("min_valid", [True, "soon", float("inf"), float("nan"), [60]])
async def test_a_token_request_with_a_bad_min_valid_or_flow_is_a_400(min_valid):
    broker = StubBroker()
    served = Served(broker)
    body = json.dumps({"backend": BACKEND, "min_valid": min_valid}).encode()  # inf as JSON's Infinity
    answer = await served.ask("POST", "token", body=body)
    assert answer.status == 400 and "min_valid" in answer.json()["message"]
    flow = await served.ask("POST", "token", body={"backend": BACKEND, "flow": "implicit"})
    assert flow.status == 400 and "flow must be one of" in flow.json()["message"]
    assert called(broker) == []


async def test_a_token_is_handed_out_with_its_bearer_and_whose_it_is():
    broker = StubBroker()
    answer = await Served(broker).ask("POST", "token", body={"backend": BACKEND, "min_valid": 30})
    assert answer.status == 200
    assert answer.json() == {
        "access_token": "at-canary",
        "expires_at": 2_000_000_000.0,
        "provider_id": "egi",
        "bearer": "oidc/egi/at-canary",
        "user": {"sub": "alice"},
    }
    assert broker.calls == [("token", (BACKEND, None, 30, None), {})]


#: Each reason of the broker's errors, asked where openapi.json lists its status.
WHERE = {LoginState.CANCELLED: ("GET", "logins/abc", None), Reason.LOGIN_REQUIRED: ("POST", "token", {})}


@pytest.mark.parametrize("reason", sorted(STATUS) + [Reason.INVALID_BACKEND_URL])
async def test_each_error_of_the_broker_has_its_status_and_its_sentence(reason):
    method, path, body = WHERE.get(reason, ("POST", "logins", {}))
    answer = await Served(StubBroker(failure(reason))).ask(method, path, body={"backend": BACKEND, **(body or {})})
    assert answer.status == STATUS.get(reason, 400)
    assert answer.json() == {"reason": reason, "message": "It went wrong; do this."}
    assert "Retry-After" not in answer.headers


async def test_a_provider_that_is_down_says_when_to_try_again():
    error = failure(Reason.PROVIDER_UNAVAILABLE, "The provider is down.", retry_after=41.6)
    answer = await Served(StubBroker(error)).ask("POST", "logins", body={"backend": BACKEND})
    assert answer.status == 503 and answer.headers["Retry-After"] == "42"


async def test_an_unknown_route_is_a_json_404_and_a_wrong_method_a_405_that_says_which_are_allowed():
    served = Served(StubBroker())
    missing = await served.ask("GET", "tokens")
    assert missing.status == 404 and missing.json()["reason"] == Reason.NOT_FOUND
    for verb in ("GET", "PUT", "DELETE"):  # a GET would put the token in URLs, logs and caches
        method = await served.ask(verb, "token", params={"backend": BACKEND})
        assert method.status == 405 and method.headers["Allow"] == "POST"
        assert method.json()["reason"] == Reason.METHOD_NOT_ALLOWED


#: What `POST logins` hands the broker besides the back-end and the flow.
STARTS = ("provider_id", "client_id", "username", "password", "client_secret")


async def test_a_login_is_202_while_pending_and_remembers_who_waits_for_it(tmp_path):
    key = KernelKey(str(tmp_path))
    broker = StubBroker()
    served = Served(broker, kernel_key=key)
    started = await served.ask("POST", "logins", body={"backend": BACKEND, "flow": "device"})
    assert started.status == 202 and started.json()["state"] == LoginState.PENDING
    kernel = {"Authorization": f"{KERNEL_SCHEME} {key.key}", KERNEL_ID_HEADER: "k-1"}
    assert (await served.ask("GET", f"logins/{broker.the_login.id}", headers=kernel)).status == 200
    assert set(broker.the_login.waiters) == {"elsewhere", "kernel:k-1"}
    assert broker.calls[0] == ("start_login", (BACKEND,), {**dict.fromkeys(STARTS), "flow": "device"})
    broker.the_login.finish(LoginState.LOGGED_IN, user={"sub": "alice"})
    direct = await served.ask("POST", "logins", body={"backend": BACKEND, "flow": "password"})
    assert direct.status == 200 and direct.json()["state"] == LoginState.LOGGED_IN


async def test_a_kernel_that_stops_waiting_cancels_only_with_its_own_name(tmp_path):
    key = KernelKey(str(tmp_path))
    broker = StubBroker()
    served = Served(broker, kernel_key=key)
    kernel = {"Authorization": f"{KERNEL_SCHEME} {key.key}", KERNEL_ID_HEADER: "k-1"}
    bad = await served.ask("DELETE", "logins/abc", params={"unless_waited_for": "yes"}, headers=kernel)
    assert bad.status == 400 and bad.json()["reason"] == Reason.BAD_PARAMETER and called(broker) == []
    left = await served.ask("DELETE", "logins/abc", params={"unless_waited_for": "true"}, headers=kernel)
    assert left.status == 200 and left.json()["state"] == LoginState.CANCELLED
    await served.ask("DELETE", "logins/abc")  # JupyterLab's cancel: whoever waits
    assert [c[2]["leaving"] for c in broker.calls] == ["kernel:k-1", None]


async def test_a_wrong_kernel_key_is_refused_before_anything_else(tmp_path):
    broker = StubBroker()
    served = Served(broker, kernel_key=KernelKey(str(tmp_path)))
    answer = await served.ask("GET", "sessions", headers={"Authorization": f"{KERNEL_SCHEME} guessed"})
    assert answer.status == 403 and called(broker) == []


async def test_a_login_cookie_sent_from_another_site_is_refused():
    broker = StubBroker()
    served = Served(broker)
    first = await served.ask("GET", "settings")  # the token's user gets the login cookie, as in a browser
    cookie = first.headers["Set-Cookie"].split(";", 1)[0]
    for site, status in (("cross-site", 403), ("same-site", 403), ("same-origin", 200), ("none", 200)):
        answer = await served.ask("GET", "sessions", token=False, headers={"Cookie": cookie, "Sec-Fetch-Site": site})
        assert answer.status == status, site
        if status == 403:
            assert answer.json()["reason"] == Reason.CROSS_SITE
    # No Sec-Fetch-Site (an old browser): the Origin tells.
    foreign = await served.ask(
        "GET", "sessions", token=False, headers={"Cookie": cookie, "Origin": "https://evil.example"}
    )
    assert foreign.status == 404 and "sessions" not in foreign.json()  # jupyter_server refuses it first
    # A program with the server's token proves itself, wherever it says it comes from.
    token = await served.ask("GET", "sessions", headers={"Sec-Fetch-Site": "cross-site"})
    assert token.status == 200
    assert called(broker) == ["public_settings", "session_list", "session_list", "session_list"]


class HubUsers(IdentityProvider):
    """JupyterHub's identity provider, as far as these routes look: a user and what the hub said of them."""

    def __init__(self, name: str, kind: str = "user"):
        super().__init__(token="")
        self.user = User(username=name)
        self.user.hub_user = {"name": name, "kind": kind}  # type: ignore[attr-defined]

    @property
    def auth_enabled(self) -> bool:
        return True

    def get_user(self, handler):
        return self.user


@pytest.mark.parametrize(
    "who, kind, status", [("alice", "user", 200), ("bob", "user", 403), ("alice-admin", "service", 403)]
)
async def test_on_a_hub_only_the_owner_uses_the_servers_logins(monkeypatch, who, kind, status):
    monkeypatch.setenv("JUPYTERHUB_USER", "alice")
    broker = StubBroker()
    answer = await Served(broker, identity_provider=HubUsers(who, kind)).ask(
        "GET", "sessions", token=False, headers={"Authorization": "token from-the-hub", "Sec-Fetch-Site": "same-origin"}
    )
    assert answer.status == status
    if status == 403:
        assert answer.json()["reason"] == Reason.NOT_OWNER and "alice's" in answer.json()["message"]
        assert called(broker) == []


async def test_the_document_names_the_servers_base_url():
    answer = await Served(StubBroker(), base_url="/user/alice/").ask("GET", "openapi.json")
    assert answer.status == 200 and answer.json()["servers"][0]["url"] == "/user/alice"
