"""Logins and sessions on jupyter_server's event bus, read from its websocket as JupyterLab reads them."""

from __future__ import annotations

import asyncio
import json

import pytest

from jupyter_openeo_auth.wire import EVENT_SCHEMA

pytestmark = pytest.mark.real


async def next_events(ws, count: int, timeout: float = 30) -> list:
    """The next `count` events of this extension's schema."""
    events = []
    while len(events) < count:
        message = json.loads(await asyncio.wait_for(ws.read_message(), timeout))
        if message.get("schema_id") == EVENT_SCHEMA:
            events.append(message)
    return events


@pytest.mark.slow  # waits for a renewal
async def test_login_renewal_and_logout_are_announced_without_secrets(
    stack, api, alice, broker, jp_ws_fetch, issued_secrets
):
    ws = await jp_ws_fetch("api", "events", "subscribe")
    await api.login(stack.backend.url, alice)
    started, finished = await next_events(ws, 2)
    assert started["action"] == "login_started" and started["backend"] == stack.backend.url
    assert finished["action"] == "login_finished" and finished["state"] == "logged_in"
    assert finished["login_id"] == started["login_id"] and finished["user"]["sub"] == "alice"
    code, _ = await api.post("token", backend=stack.backend.url, min_valid=9.5)  # 10 s tokens: renews
    [renewed] = await next_events(ws, 1)
    assert renewed["action"] == "session_renewed" and renewed["access_expires_at"] > 0
    await api.delete("sessions", backend=stack.backend.url)
    [ended] = await next_events(ws, 1)
    assert ended["action"] == "session_ended" and ended["state"] == "logged_out"
    code, login = await api.post("logins", backend=stack.backend.url)
    await api.delete(f"logins/{login['id']}")
    started, cancelled = await next_events(ws, 2)
    assert cancelled["state"] == "cancelled"
    ws.close()
    text = json.dumps([started, finished, renewed, ended, cancelled])
    assert not [s for s in issued_secrets() if s in text]
