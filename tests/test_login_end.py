"""A working day: the provider limits how long a login lives (Keycloak's SSO session idle and max). The server
keeps the login alive while it can, knows when it ends, says so before, and then asks for a new login with a
sentence (real provider behind a small real HTTP server that enforces the limits, real back-end)."""

from __future__ import annotations

import asyncio
import time
from typing import NamedTuple

import pytest
from conftest import SERVICE_SECRET, server_config
from session_limits import limited_backend
from test_broker_lifecycle import whoami
from test_events import next_events

from jupyter_openeo_auth.devstack import backend_service, free_port, provider_service

pytestmark = pytest.mark.slow


class Limits(NamedTuple):
    access: int  # s: the provider's access-token lifetime
    idle: int  # s: a refresh token unused this long lapses
    max_life: int  # s: the login ends this long after it began, however often it was renewed
    quiet: int  # s: no request at all for this long, early in the login


LIMITS = [
    Limits(access=10, idle=30, max_life=90, quiet=75),  # the working day, scaled down: renewals keep it alive
    Limits(access=16, idle=8, max_life=40, quiet=24),  # the refresh token idles out before the access token ends
]


@pytest.fixture(scope="module", params=LIMITS, ids=["renewals-keep-it", "idle-shorter-than-access"])
def limited(request):
    """(back-end, limits, figures): a provider behind Keycloak-like limits, and a back-end that trusts it."""
    figures = request.param
    with limited_backend(figures.access, figures.idle, figures.max_life) as (backend, limits):
        yield backend, limits, figures


@pytest.fixture
def jp_server_config(stack, monkeypatch):
    monkeypatch.setenv("JOA_TEST_SERVICE_SECRET", SERVICE_SECRET)
    return server_config(stack, refresh_margin=300)


async def test_a_limited_login_lives_as_long_as_it_can_then_asks_for_a_new_one(limited, api, alice, jp_ws_fetch):
    backend, limits, figures = limited
    ws = await jp_ws_fetch("api", "events", "subscribe")
    await api.login(backend.url, alice)
    began = time.time()

    await asyncio.sleep(figures.quiet)  # no request at all (longer than the refresh token's idle time, or close)
    code, token = await api.post("token", backend=backend.url)
    assert code == 200 and await asyncio.to_thread(whoami, backend.url, token["access_token"]) == "alice"
    assert limits.refused == 0

    events = []
    while not any(e["action"] == "login_ending" for e in events):
        events += await next_events(ws, 1, timeout=figures.max_life)
    warned = time.time()
    [ending] = [e for e in events if e["action"] == "login_ending"]
    assert warned < began + figures.max_life and abs(ending["login_expires_at"] - (began + figures.max_life)) < 5
    _, listed = await api.get("sessions")
    [session] = listed["sessions"]
    assert abs(session["login_expires_at"] - (began + figures.max_life)) < 5 and session["login_ending"] is True

    ended = None
    while ended is None:
        [event] = await next_events(ws, 1, timeout=figures.max_life)
        ended = event if event["action"] == "session_ended" else None
    assert ended["state"] == "login_required" and time.time() >= began + figures.max_life - 5
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
