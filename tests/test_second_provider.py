"""The whole REST flow against a second, independent OpenID provider implementation (django-oauth-toolkit,
tests/second_provider/), so that nothing in the product depends on the quirks of the npm test provider:
its device endpoint and revocation are only in its RFC 8414 metadata, its device logins bring no id token
(who logged in comes from userinfo), each flow has its own client, and a replayed rotated refresh token
revokes the login."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from conftest import server_config
from test_broker_lifecycle import whoami

from jupyter_openeo_auth.devstack import Service, backend_service, free_port
from jupyter_openeo_auth.oidc import LoginRequired, OidcClient

pytestmark = pytest.mark.slow

SERVICE_SECRET = "dot-service-secret+/%:canary"
DEVICE = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture(scope="module")
def dot():
    """django-oauth-toolkit on 127.0.0.1, and an openEO dummy back-end that lists it."""
    port = free_port()
    script = Path(__file__).parent / "second_provider" / "provider.py"
    provider = Service(
        "django-oauth-toolkit provider",
        [sys.executable, str(script), "--port", str(port)],
        port,
        env={"DOT_SERVICE_SECRET": SERVICE_SECRET},
        ready_path="/o/.well-known/openid-configuration",
        ready_status=200,
    ).start()
    clients = [
        {"id": "dot-device", "grant_types": [DEVICE, "refresh_token"]},
        {"id": "dot-password", "grant_types": ["password", "refresh_token"]},
    ]
    backend = backend_service(provider.url + "/o", no_user_cache=True, default_clients=clients).start()
    try:
        yield provider, backend
    finally:
        backend.cleanup()
        provider.cleanup()


def approve(verification_uri_complete: str, user_code: str) -> None:
    """What alice does in her browser at django-oauth-toolkit: log in, enter the code, accept."""
    base = verification_uri_complete.split("/o/")[0]
    browser = requests.Session()
    form = browser.get(f"{base}/accounts/login/", timeout=10).text
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    page = browser.post(
        f"{base}/accounts/login/",
        data={"username": "alice", "password": "alice-password", "next": "/o/device/", "csrfmiddlewaretoken": csrf},
        headers={"Referer": f"{base}/accounts/login/"},
        timeout=10,
    )
    assert page.status_code == 200, page.text[:300]
    confirm = browser.post(f"{base}/o/device/", data={"user_code": user_code}, timeout=10)
    assert "device-confirm" in confirm.url, confirm.text[:300]
    done = browser.post(confirm.url, data={"action": "accept"}, timeout=10)
    assert done.status_code == 200


@pytest.fixture
def jp_server_config(dot, monkeypatch):
    _, backend = dot
    monkeypatch.setenv("JOA_DOT_SECRET", SERVICE_SECRET)
    return server_config(
        SimpleNamespace(backend=backend),
        client_credentials=[{"backend": backend.url, "client_id": "dot-service", "secret_env": "JOA_DOT_SECRET"}],
    )


async def test_device_login_refresh_and_logout_at_another_provider(dot, api, broker):
    _, backend = dot
    code, providers = await api.get("providers", backend=backend.url)
    assert code == 200 and providers["providers"][0]["flows"] == ["device", "password"]
    code, login = await api.post("logins", backend=backend.url)
    assert code == 202 and login["interval"] == 1
    await asyncio.to_thread(approve, login["verification_uri_complete"], login["user_code"])
    done = await api.wait_login(login["id"])
    assert done["state"] == "logged_in" and done["user"]["email"] == "alice@example.org"  # from userinfo
    session = next(iter(broker.sessions.values()))
    first = session.tokens
    await asyncio.sleep(3.5)  # 30 s tokens: at most 3 s old counts as the freshest for min_valid=29
    code, token = await api.post("token", backend=backend.url, min_valid=29)
    assert code == 200 and session.tokens.refresh_token != first.refresh_token  # rotated
    assert await asyncio.to_thread(whoami, backend.url, token["access_token"]) == done["user"]["sub"]
    code, out = await api.delete("sessions", backend=backend.url)
    assert code == 200 and out == {"logged_out": 1, "revoked": True, "backends": [backend.url]}  # RFC 8414 metadata
    with pytest.raises(LoginRequired):  # revoked at the provider
        OidcClient(session.client.metadata, "dot-device").refresh(session.tokens)


async def test_password_and_service_account_at_another_provider(dot, api):
    _, backend = dot
    code, login = await api.post(
        "logins", backend=backend.url, flow="password", username="alice", password="alice-password"
    )
    assert code == 200 and login["state"] == "logged_in" and login["user"]["name"] == "Alice Liddell"
    code, token = await api.post("token", backend=backend.url)
    assert await asyncio.to_thread(whoami, backend.url, token["access_token"]) == login["user"]["sub"]
    code, login = await api.post("logins", backend=backend.url, flow="client_credentials")
    assert code == 200 and login["user"] == {"sub": "dot-service"}
    code, sessions = await api.get("sessions")
    assert sorted(s["flow"] for s in sessions["sessions"]) == ["client_credentials", "password"]
