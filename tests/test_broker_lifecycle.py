"""Persistence, restarts, a provider that goes away, and logs without secrets."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import time
from pathlib import Path

import openeo
import pytest
import requests
from conftest import SERVICE_SECRET, server_config
from keyrings import FileKeyring, PlaintextKeyring

from jupyter_openeo_auth.broker import KeyringStore, MemoryStore, TokenBroker, keyring_is_safe, make_store
from jupyter_openeo_auth.devstack import backend_service, jupyter_service, provider_service
from jupyter_openeo_auth.devstack.user import ProviderUser
from jupyter_openeo_auth.oidc import NotLoggedIn

pytestmark = pytest.mark.slow


async def log_in(broker: TokenBroker, url: str, user: ProviderUser) -> None:
    """A device login on a bare broker (no server), approved by `user`; returns once it has ended."""
    login = await broker.start_login(url)
    await asyncio.to_thread(user.approve, login.auth.verification_uri_complete, login.auth.user_code)
    while login.pending:
        await asyncio.sleep(0.1)


def whoami(url: str, access_token: str) -> str:
    con = openeo.connect(url).authenticate_oidc_access_token(access_token, provider_id="local")
    return con.describe_account()["user_id"]


class TestPersistence:
    @pytest.fixture
    def jp_server_config(self, stack, test_keyring):
        return server_config(stack, persist="always")

    async def test_restarted_server_restores_the_session(self, stack, api, alice, broker, test_keyring):
        await api.login(stack.backend.url, alice)
        assert isinstance(broker.store, KeyringStore)
        # A new broker over the same keyring: what the server builds when it starts again.
        restarted = TokenBroker(store=KeyringStore(test_keyring, logging.getLogger("test")))
        assert await restarted.restore() == 1
        session, _, tokens = await restarted.token(stack.backend.url)
        assert session.user["sub"] == "alice"
        assert await asyncio.to_thread(whoami, stack.backend.url, tokens.access_token) == "alice"
        # The keyring holds the newest (rotated) refresh token, stored before the access token was handed out.
        [record] = [json.loads(v) for k, v in test_keyring._read().items() if not k.endswith("/sessions")]
        assert record["refresh_token"] == session.tokens.refresh_token
        restarted.stop()

    async def test_a_confidential_clients_login_renews_after_a_restart(self, stack, api, alice, test_keyring):
        """A login made with the user's own confidential client (openeo's auth-config.json) keeps its secret
        beside its refresh token, in the store only: the restored login renews with it."""
        secret = "confidential-secret-canary-5f1c"
        await api.login(stack.backend.url, alice, client_id="openeo-confidential", client_secret=secret)
        restarted = TokenBroker(store=KeyringStore(test_keyring, logging.getLogger("test")))
        assert await restarted.restore() == 1
        session, _, tokens = await restarted.token(stack.backend.url)  # a refresh: the restored token is empty
        assert session.client.client_id == "openeo-confidential" and session.refresh_count == 1
        assert await asyncio.to_thread(whoami, stack.backend.url, tokens.access_token) == "alice"
        assert secret not in repr(session) + repr(session.client)
        restarted.stop()

    async def test_logout_removes_the_keyring_entry(self, stack, api, alice, test_keyring):
        await api.login(stack.backend.url, alice)
        assert len(test_keyring._read()) == 2  # the session and the index
        await api.delete("sessions", backend=stack.backend.url)
        assert all("refresh_token" not in v for v in test_keyring._read().values())
        restarted = TokenBroker(store=KeyringStore(test_keyring, logging.getLogger("test")))
        assert await restarted.restore() == 0


def test_restarted_jupyter_server_restores_the_session_without_a_new_login(stack, tmp_path, alice, provider_stats):
    """Two real Jupyter server processes, one after the other, over the same (test) keyring."""
    tests = str(Path(__file__).parent)
    env = {
        "PYTHON_KEYRING_BACKEND": "keyrings.FileKeyring",
        "JOA_TEST_KEYRING_FILE": str(tmp_path / "keyring.json"),
        "PYTHONPATH": os.pathsep.join(filter(None, [tests, os.environ.get("PYTHONPATH")])),
    }
    token = secrets.token_hex(16)
    config = {"OpenEOAuth": {"persist": "always"}}

    def api(server, method, path, **body):
        resp = requests.request(
            method,
            f"{server.url}/openeo-auth/api/{path}",
            json=body or None,
            headers={"Authorization": f"token {token}"},
            timeout=30,
        )
        return resp.status_code, resp.json()

    first = jupyter_service(tmp_path, token, config=config, env=env).start(timeout=120)
    try:
        code, login = api(first, "POST", "logins", backend=stack.backend.url)
        assert code == 202
        alice.approve(login["verification_uri_complete"], login["user_code"])
        for _ in range(100):
            if api(first, "GET", f"logins/{login['id']}")[1]["state"] != "pending":
                break
            time.sleep(0.2)
        assert api(first, "GET", f"logins/{login['id']}")[1]["state"] == "logged_in"
    finally:
        first.cleanup()
    logins = provider_stats().get("urn:ietf:params:oauth:grant-type:device_code", 0)

    second = jupyter_service(tmp_path, token, config=config, env=env).start(timeout=120)
    try:
        code, sessions = api(second, "GET", "sessions")
        assert code == 200 and [s["user"]["sub"] for s in sessions["sessions"]] == ["alice"]
        code, token_answer = api(second, "POST", "token", backend=stack.backend.url, min_valid=60)
        assert code == 200 and whoami(stack.backend.url, token_answer["access_token"]) == "alice"
        assert "Restored 1 openEO login(s) from the keyring" in second.log_tail(200)
    finally:
        second.cleanup()
    assert provider_stats().get("urn:ietf:params:oauth:grant-type:device_code", 0) == logins  # no new login


async def test_requests_while_the_sessions_are_restored_wait_for_them(stack, tmp_path, alice):
    """The server listens before its extensions start: an early token request must not say "not logged in"."""
    first = TokenBroker(store=KeyringStore(FileKeyring(tmp_path / "k.json"), logging.getLogger("test")))
    await log_in(first, stack.backend.url, alice)
    first.stop()
    slow = KeyringStore(FileKeyring(tmp_path / "k.json", hang_seconds=1), logging.getLogger("test"), timeout=5)
    restarted = TokenBroker(store=slow)
    restoring = asyncio.ensure_future(restarted.restore())
    await asyncio.sleep(0)
    assert [s["user"]["sub"] for s in await restarted.session_list()] == ["alice"]
    session, _, tokens = await restarted.token(stack.backend.url)
    assert await asyncio.to_thread(whoami, stack.backend.url, tokens.access_token) == "alice"
    assert await restoring == 1
    restarted.stop()


async def test_hanging_keyring_does_not_hang_logins(stack, tmp_path, alice):
    log = logging.getLogger("test.keyring")
    store = KeyringStore(FileKeyring(tmp_path / "k.json", hang_seconds=3), log, timeout=0.3)
    broker = TokenBroker(store=store)
    login = await broker.start_login(stack.backend.url)
    await asyncio.to_thread(alice.approve, login.auth.verification_uri_complete, login.auth.user_code)
    started = asyncio.get_running_loop().time()
    while login.pending:
        await asyncio.sleep(0.1)
    assert login.state.value == "logged_in"
    assert asyncio.get_running_loop().time() - started < 2.5
    broker.stop()


def test_only_known_or_named_keyrings_are_trusted(tmp_path, caplog, monkeypatch):
    """An allow-list: a keyring nobody named is not trusted with refresh tokens, even with a high priority."""
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    caplog.set_level(logging.INFO)
    log = logging.getLogger("test.store")
    assert isinstance(make_store("auto", log, backend=PlaintextKeyring(tmp_path / "p.json")), MemoryStore)
    assert not make_store("auto", log, backend=FileKeyring(tmp_path / "s.json")).persistent  # priority 10, unnamed
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and "memory only" in warnings[0].getMessage()
    assert "keyrings.FileKeyring" in warnings[1].getMessage()  # says what it found
    assert make_store("auto", log, backend=FileKeyring(tmp_path / "s.json"), trusted="keyrings.FileKeyring").persistent
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.FileKeyring")
    assert make_store("auto", log, backend=FileKeyring(tmp_path / "s.json")).persistent
    assert not make_store("auto", log, backend=PlaintextKeyring(tmp_path / "p.json")).persistent  # not the one named
    assert not make_store("never", log, backend=FileKeyring(tmp_path / "s.json")).persistent
    from keyring.backends import SecretService, fail

    assert keyring_is_safe(SecretService.Keyring()) and not keyring_is_safe(fail.Keyring())


async def test_provider_down_during_polling_then_back(tmp_path, api):
    """The provider stops while a login is pending; polls back off; it comes back and the login completes."""
    provider = provider_service(access_token_ttl=60, device_interval=1, STATE_FILE=tmp_path / "provider.json").start()
    backend = backend_service(provider.url).start()
    try:
        code, login = await api.post("logins", backend=backend.url)
        assert code == 202
        provider.stop()
        await asyncio.sleep(2.5)
        code, pending = await api.get(f"logins/{login['id']}")
        assert pending["state"] == "pending" and "not answering" in pending["message"]
        code, sessions = await api.get("sessions")
        assert code == 200  # the server keeps serving
        provider.start()
        await asyncio.to_thread(ProviderUser("alice").approve, login["verification_uri_complete"], login["user_code"])
        done = await api.wait_login(login["id"], timeout=90)
        assert done["state"] == "logged_in" and done["user"]["sub"] == "alice"
        _, token = await api.post("token", backend=backend.url)
        assert await asyncio.to_thread(whoami, backend.url, token["access_token"]) == "alice"
    finally:
        backend.cleanup()
        provider.cleanup()


async def test_debug_log_of_a_full_flow_holds_no_secret(stack, api, alice, broker, caplog, issued_secrets):
    caplog.set_level(logging.DEBUG)
    broker.log.addHandler(caplog.handler)  # the extension's own logger does not propagate to the root
    broker.log.setLevel(logging.DEBUG)
    code, login = await api.post("logins", backend=stack.backend.url)
    auth = broker.logins[login["id"]].auth
    canaries = {"device_code": auth._device_code, "code_verifier": auth._code_verifier}
    await asyncio.to_thread(alice.approve, login["verification_uri_complete"], login["user_code"])
    await api.wait_login(login["id"])
    session = next(iter(broker.sessions.values()))
    canaries["first refresh token"] = session.tokens.refresh_token
    _, token = await api.post("token", backend=stack.backend.url)
    canaries["access token"] = token["access_token"]
    await session.refresh()
    canaries["rotated refresh token"] = session.tokens.refresh_token
    canaries["refreshed access token"] = session.tokens.access_token
    await api.post("logins", backend=stack.backend.url, flow="client_credentials")
    await api.password_login(stack.backend.url, "alice", "alice-password")
    canaries["password"] = "alice-password"
    canaries["client secret"] = SERVICE_SECRET
    await api.delete("sessions", backend=stack.backend.url)
    canaries.update({f"issued secret {i}": value for i, value in enumerate(issued_secrets())})
    text = caplog.text
    assert "approved as alice" in text and "Renewed the openEO login" in text
    leaked = [name for name, value in canaries.items() if value and value in text]
    broker.log.removeHandler(caplog.handler)
    assert leaked == []


async def test_tokens_are_renewed_in_the_background(stack, api, alice, broker, provider_stats):
    await api.login(stack.backend.url, alice)
    session = next(iter(broker.sessions.values()))
    first = session.tokens
    before = provider_stats().get("refresh_token", 0)
    await asyncio.sleep(first.remaining() + 0.5)  # nobody asks for a token meanwhile
    assert session.refresh_count >= 1 and provider_stats()["refresh_token"] > before
    assert session.tokens.remaining() > 0 and session.tokens.refresh_token != first.refresh_token


async def test_network_error_in_an_early_refresh_hands_out_the_valid_token(tmp_path, api, broker, caplog):
    """The provider is down when a refresh is due but the token still works: the caller gets it, and the
    broker retries seconds later, not at once and not in a loop."""
    provider = provider_service(access_token_ttl=12, device_interval=1, STATE_FILE=tmp_path / "provider.json").start()
    backend = backend_service(provider.url).start()
    try:
        await api.login(backend.url, ProviderUser("alice"))
        session = next(iter(broker.sessions.values()))
        old = session.tokens
        await asyncio.sleep(old.remaining() - old.lifetime / 2 + 0.3)  # now inside the "refresh please" zone
        provider.stop()
        code, token = await api.post("token", backend=backend.url, min_valid=60)
        assert code == 200 and token["access_token"] == old.access_token
        loop = asyncio.get_running_loop()
        assert session.renewals.timer.when() - loop.time() >= 4.5  # the retry waits
        assert session.refresh_count == 0 and session.login_required is None
        provider.start()
        await asyncio.sleep(session.renewals.timer.when() - loop.time() + 1.0)
        assert session.refresh_count == 1 and session.tokens.access_token != old.access_token
    finally:
        backend.cleanup()
        provider.cleanup()


async def test_backend_down_does_not_stop_the_tokens_of_its_sessions(stack, api, broker):
    backend = backend_service(stack.provider.url).start()
    try:
        await api.login(backend.url, ProviderUser("bob"))
        backend.stop()
        broker.backends.cache.ttl = 0  # discovery is due again, and the back-end is down
        code, token = await api.post("token", backend=backend.url)
        assert code == 200 and token["user"]["sub"] == "bob"
    finally:
        backend.cleanup()


async def test_hub_users_sharing_a_keyring_see_only_their_own_sessions(stack, tmp_path, alice):
    store = KeyringStore(FileKeyring(tmp_path / "shared.json"), logging.getLogger("test"))
    alices = TokenBroker(store=store, owner="alice")
    await log_in(alices, stack.backend.url, alice)
    bobs = TokenBroker(store=store, owner="bob")
    assert await bobs.restore() == 0
    with pytest.raises(NotLoggedIn, match="Not logged in"):
        await bobs.token(stack.backend.url)
    again = TokenBroker(store=store, owner="alice")
    assert await again.restore() == 1
    alices.stop(), bobs.stop(), again.stop()
