"""Hardening against the real server: a slow provider, bounds, hostile answers and races hurt nobody else."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time

import pytest
from conftest import server_config
from faults import FaultServer
from keyrings import FileKeyring
from test_broker_lifecycle import log_in, whoami

from jupyter_openeo_auth.broker import KeyringStore, TokenBroker
from jupyter_openeo_auth.oidc import IssuerCache, MalformedTokenResponse

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def slow():
    """A provider whose token endpoint hangs (longer than any client waits), listed by back-ends /be/N."""
    with FaultServer(hang_seconds=120) as server:
        yield server


class TestIsolation:
    @pytest.fixture
    def jp_server_config(self, stack, monkeypatch):
        return server_config(stack, http_timeout=4, max_pending_logins=150)

    async def test_a_hanging_provider_does_not_slow_other_backends(self, stack, second_backend, api, alice, slow):
        await api.login(stack.backend.url, alice)
        answers = await asyncio.gather(*(api.post("logins", backend=f"{slow.url}/be/{i}") for i in range(100)))
        assert [code for code, _ in answers] == [202] * 100
        while slow.hits["/hang-token"] < 32:  # the polls are due after 1 s: now they hang at the provider
            await asyncio.sleep(0.1)
        started = time.monotonic()
        for _ in range(5):
            code, token = await api.post("token", backend=stack.backend.url, min_valid=9)  # refreshes at the provider
            assert code == 200
        code, providers = await api.get("providers", backend=second_backend.url)  # discovery of a new back-end
        assert code == 200 and providers["providers"][0]["id"] == "local"
        # With the default thread pool (6 threads on this machine), these waited for the hanging polls (4 s each).
        assert time.monotonic() - started < 3
        assert await asyncio.to_thread(whoami, stack.backend.url, token["access_token"]) == "alice"
        code, pending = await api.get(f"logins/{answers[0][1]['id']}")
        assert pending["state"] == "pending"


class TestBounds:
    @pytest.fixture
    def jp_server_config(self, stack):
        return server_config(stack, max_pending_logins=3)

    async def test_too_many_pending_logins_get_429_with_a_sentence(self, api, slow):
        logins = [await api.post("logins", backend=f"{slow.url}/be/cap-{i}") for i in range(3)]
        assert all(code == 202 for code, _ in logins)
        code, data = await api.post("logins", backend=f"{slow.url}/be/cap-3")
        assert code == 429 and data["reason"] == "too_many_logins" and "cancel" in data["message"]
        await api.delete(f"logins/{logins[0][1]['id']}")
        code, _ = await api.post("logins", backend=f"{slow.url}/be/cap-3")
        assert code == 202


@pytest.mark.parametrize("path", ["/huge", "/huge-chunked"])
async def test_an_answer_over_1_mb_is_refused_naming_the_url(api, faults, path):
    code, data = await api.get("providers", backend=faults.url + path)
    assert 400 <= code < 600 and code != 500
    assert f"{faults.url}{path}/ sent an answer larger than 1 MB" in data["message"]


async def test_discovery_and_issuer_caches_are_bounded_and_expire(faults):
    cache = IssuerCache(ttl=0.5, size=2)
    from jupyter_openeo_auth.oidc import AsyncHttpClient

    http = AsyncHttpClient(timeout=5)
    for issuer in ("/split", "/split2", "/slowprov"):
        await cache.get(faults.url + issuer, http)
    assert len(cache._cache) == 2  # the least recently used went
    hits = faults.hits["/slowprov/.well-known/openid-configuration"]
    await cache.get(faults.url + "/slowprov", http)
    assert faults.hits["/slowprov/.well-known/openid-configuration"] == hits  # cached
    await asyncio.sleep(0.6)
    await cache.get(faults.url + "/slowprov", http)
    assert faults.hits["/slowprov/.well-known/openid-configuration"] == hits + 1  # expired, asked again
    await http.aclose()


# --- sessions that stay true -------------------------------------------------------------------------------


async def test_min_valid_means_what_it_says(stack, api, alice, broker, provider_stats):
    await api.login(stack.backend.url, alice, client_id="openeo-norotate")
    session = next(iter(broker.sessions.values()))
    await asyncio.sleep(max(0.0, session.tokens.remaining() - 7))  # 10 s tokens: 7 s left
    code, token = await api.post("token", backend=stack.backend.url, min_valid=8)
    assert code == 200 and token["expires_at"] - time.time() >= 7.9  # renewed, not a 7 s token
    # More than a token lives: the freshest token, without a refresh on every call.
    refreshes = session.refresh_count
    for _ in range(5):
        code, token = await api.post("token", backend=stack.backend.url, min_valid=3000)
        assert code == 200 and token["expires_at"] - time.time() >= 8
    assert session.refresh_count - refreshes <= 1


async def test_a_malformed_token_lifetime_is_a_502_and_the_session_recovers(stack, api, alice, broker, faults):
    await api.login(stack.backend.url, alice, client_id="openeo-norotate")
    session = next(iter(broker.sessions.values()))
    metadata = session.client.metadata
    session.client.metadata = dataclasses.replace(
        metadata, token_endpoint=faults.proxy(metadata.token_endpoint, spoil_expiry=True)
    )
    with pytest.raises(MalformedTokenResponse, match="unusable lifetime"):
        await session.refresh()
    await asyncio.sleep(session.tokens.remaining() + 0.2)  # the access token has expired meanwhile
    # The background retries fail too; between them the provider is not asked, and the answer says why and when.
    code, data = await api.post("token", backend=stack.backend.url)
    assert code == 503 and "unusable lifetime" in data["message"] and "tries again in" in data["message"]
    faults.proxy(metadata.token_endpoint)  # the provider answers properly again
    await asyncio.sleep(session.renewals.retry_at - time.monotonic() + 1)  # the planned retry renews the login
    code, token = await api.post("token", backend=stack.backend.url)
    assert code == 200 and await asyncio.to_thread(whoami, stack.backend.url, token["access_token"]) == "alice"


async def test_a_failing_provider_is_not_asked_again_before_its_retry_is_due(stack, api, alice, broker, faults):
    """A provider answering 503 with Retry-After: 120 while a kernel asks for a fresher token every second."""
    await api.login(stack.backend.url, alice, client_id="openeo-norotate")
    session = next(iter(broker.sessions.values()))
    session.client.metadata = dataclasses.replace(session.client.metadata, token_endpoint=faults.url + "/busy")
    before = faults.hits["/busy"]
    answers = []
    for _ in range(14):  # 10 s tokens: valid for a while, then expired
        answers.append(await api.call("POST", "token", body={"backend": stack.backend.url, "min_valid": 9.5}))
        await asyncio.sleep(1)
    assert faults.hits["/busy"] - before == 1  # one try; the next one is due in 120 s (Retry-After)
    codes = [code for code, _, _ in answers]
    assert codes[0] == 200 and codes[-1] == 503 and set(codes) == {200, 503}
    _, refused, headers = answers[-1]
    assert "tries again in" in refused["message"] and 100 < int(headers["Retry-After"]) <= 120
    assert refused["reason"] == "provider_unavailable" and not session.login_required


class TestWithKeyring:
    @pytest.fixture
    def jp_server_config(self, stack, test_keyring):
        return server_config(stack, persist="always")

    async def test_logout_wins_over_a_refresh_in_flight(self, stack, api, alice, broker, faults, test_keyring):
        await api.login(stack.backend.url, alice, client_id="openeo-norotate")
        session = next(iter(broker.sessions.values()))
        metadata = session.client.metadata
        session.client.metadata = dataclasses.replace(
            metadata, token_endpoint=faults.proxy(metadata.token_endpoint, delay=1.5)
        )
        refresh = asyncio.ensure_future(session.refresh())
        await asyncio.sleep(0.5)  # the refresh is on its way to the provider
        code, data = await api.delete("sessions", backend=stack.backend.url)
        assert code == 200 and data["logged_out"] == 1
        with pytest.raises(Exception, match="logged out"):
            await refresh
        assert broker.sessions == {} and session.renewals.timer is None
        assert all("refresh_token" not in v for v in test_keyring._read().values())
        restarted = TokenBroker(store=KeyringStore(test_keyring, logging.getLogger("test")))
        assert await restarted.restore() == 0
        code, _ = await api.post("token", backend=stack.backend.url)
        assert code == 404

    async def test_the_newest_refresh_token_is_stored_before_anyone_gets_the_access_token(
        self, stack, api, alice, broker, test_keyring
    ):
        await api.login(stack.backend.url, alice)  # a rotating client
        session = next(iter(broker.sessions.values()))
        seen = []
        original = test_keyring.set_password

        def watching(service, name, value):
            if "refresh_token" in value:  # what callers could receive at the moment the keyring is written
                seen.append((json.loads(value)["refresh_token"], session.tokens.refresh_token))
            original(service, name, value)

        test_keyring.set_password = watching
        old = session.tokens.refresh_token
        await session.refresh()
        assert seen == [(session.tokens.refresh_token, old)]  # stored the new one while the old was still current


async def test_two_servers_on_one_keyring_share_a_rotating_login(stack, tmp_path, alice):
    """JupyterLab and VS Code side by side: each re-reads the stored refresh token before spending its own,
    so the provider never sees a rotated token twice (which revokes the whole login)."""
    ring = FileKeyring(tmp_path / "k.json")
    lab = TokenBroker(store=KeyringStore(ring, logging.getLogger("test"), lock_dir=tmp_path))
    await log_in(lab, stack.backend.url, alice)
    code = TokenBroker(store=KeyringStore(ring, logging.getLogger("test"), lock_dir=tmp_path))
    assert await code.restore() == 1
    lab_session, _, _ = await lab.token(stack.backend.url)
    await lab_session.refresh()  # rotates: the refresh token the second server read is spent
    _, _, code_tokens = await code.token(stack.backend.url)
    await lab_session.refresh()  # and rotates again: the lab's own copy is stale now
    _, _, lab_tokens = await lab.token(stack.backend.url)
    for tokens in (code_tokens, lab_tokens):
        assert await asyncio.to_thread(whoami, stack.backend.url, tokens.access_token) == "alice"
    lab.stop()
    code.stop()
