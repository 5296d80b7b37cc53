"""A working day: the provider limits how long a login lives (Keycloak's SSO session idle and max). The server
keeps the login alive while it can, knows when it ends, says so before, and then asks for a new login with a
sentence (real provider behind a small real HTTP server that enforces the limits, real back-end)."""

from __future__ import annotations

import asyncio
import time

import pytest
from conftest import SERVICE_SECRET, server_config
from session_limits import SessionLimits
from test_broker_lifecycle import whoami
from test_events import next_events

from jupyter_openeo_auth.devstack import backend_service, free_port, provider_service

ACCESS = 30  # s: longer than the refresh token's idle time, so renewing only for the access token would let it lapse
IDLE = 15
MAX_LIFE = 75


@pytest.fixture(scope="module")
def limited():
    """(back-end, limits): a provider with 30 s access tokens behind the limits, and a back-end that trusts it."""
    provider = provider_service(free_port(), access_token_ttl=ACCESS, device_interval=1).start()
    with SessionLimits(provider.url, idle=IDLE, max_life=MAX_LIFE) as limits:
        backend = backend_service(limits.url, no_user_cache=True).start()
        try:
            yield backend, limits
        finally:
            backend.cleanup()
    provider.cleanup()


@pytest.fixture
def jp_server_config(stack, monkeypatch):
    monkeypatch.setenv("JOA_TEST_SERVICE_SECRET", SERVICE_SECRET)
    return server_config(stack, refresh_margin=300)


async def test_a_limited_login_lives_as_long_as_it_can_then_asks_for_a_new_one(limited, api, alice, jp_ws_fetch):
    backend, limits = limited
    ws = await jp_ws_fetch("api", "events", "subscribe")
    await api.login(backend.url, alice)
    began = time.time()

    await asyncio.sleep(IDLE * 3)  # no request at all for three times the refresh token's idle time
    code, token = await api.post("token", backend=backend.url)
    assert code == 200 and await asyncio.to_thread(whoami, backend.url, token["access_token"]) == "alice"
    assert limits.refused == 0

    events = []
    while not any(e["action"] == "login_ending" for e in events):
        events += await next_events(ws, 1, timeout=MAX_LIFE)
    warned = time.time()
    [ending] = [e for e in events if e["action"] == "login_ending"]
    assert warned < began + MAX_LIFE and abs(ending["login_expires_at"] - (began + MAX_LIFE)) < 5
    _, listed = await api.get("sessions")
    [session] = listed["sessions"]
    assert abs(session["login_expires_at"] - (began + MAX_LIFE)) < 5 and session["login_ending"] is True

    ended = None
    while ended is None:
        [event] = await next_events(ws, 1, timeout=MAX_LIFE)
        ended = event if event["action"] == "session_ended" else None
    assert ended["state"] == "login_required" and time.time() >= began + MAX_LIFE - 5
    code, refused = await api.post("token", backend=backend.url)
    assert code == 409 and refused["reason"] == "login_required"
    assert "ended at" in refused["message"] and "Log in again" in refused["message"]
    assert limits.refused == 0  # it was not asked to renew a login it had ended
    ws.close()


@pytest.fixture(scope="module")
def keycloak_like():
    """A back-end whose provider's issuer is a Keycloak realm's URL (the test provider served under /realms/...)."""
    port = free_port()
    provider = provider_service(port, access_token_ttl=60, device_interval=1, base_path="/realms/openeo").start()
    backend = backend_service(provider.issuer, no_user_cache=True).start()
    yield backend
    backend.cleanup()
    provider.cleanup()


async def test_logout_at_keycloak_says_what_the_revocation_also_ended(keycloak_like, api, alice):
    await api.login(keycloak_like.url, alice)
    code, out = await api.delete("sessions", backend=keycloak_like.url)
    assert code == 200 and out["revoked"] is True and out["logged_out"] == 1
    assert (
        "Keycloak" in out["message"] and "'openeo-public'" in out["message"] and "must log in again" in out["message"]
    )
