"""The token broker in a real Jupyter server, against the real provider and back-end."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from urllib.parse import quote_plus

import openeo
import pytest
from conftest import SERVICE_SECRET, server_config

import jupyter_openeo_auth
from jupyter_openeo_auth.devstack.user import ProviderUser
from jupyter_openeo_auth.oidc import HttpClient, LoginRequired, issuer_cache
from jupyter_openeo_auth.oidc.transport import post_form

pytestmark = pytest.mark.slow

DEVICE = "urn:ietf:params:oauth:grant-type:device_code"


def describe_account(stack, bearer_token: str, provider_id: str = "local", url=None) -> dict:
    con = openeo.connect(url or stack.backend.url)
    con.authenticate_oidc_access_token(bearer_token, provider_id=provider_id)
    return con.describe_account()


async def test_device_login_through_the_rest_api(stack, api, alice, broker):
    code, providers = await api.get("providers", backend=stack.backend.url)
    assert code == 200 and providers["providers"][0]["id"] == "local"
    assert providers["providers"][0]["flows"] == ["device", "password"]

    code, login = await api.post("logins", backend=stack.backend.url)
    assert code == 202 and login["state"] == "pending"
    assert login["verification_uri"].startswith(stack.provider.url) and login["interval"] == 1
    assert "device_code" not in login
    await asyncio.to_thread(alice.approve, login["verification_uri_complete"], login["user_code"])
    done = await api.wait_login(login["id"])
    assert done["state"] == "logged_in" and done["user"]["name"] == "Alice Liddell"

    code, token, headers = await api.call("POST", "token", body={"backend": stack.backend.url})
    assert code == 200 and headers["Cache-Control"] == "no-store"
    assert token["bearer"] == f"oidc/local/{token['access_token']}"
    assert (await asyncio.to_thread(describe_account, stack, token["access_token"]))["user_id"] == "alice"

    code, sessions = await api.get("sessions")
    assert code == 200
    [session] = sessions["sessions"]
    assert session["user"]["sub"] == "alice" and session["refreshable"] and session["flow"] == "device"
    assert token["access_token"] not in str(sessions)


async def test_second_login_request_reuses_the_session(stack, api, alice):
    await api.login(stack.backend.url, alice)
    code, again = await api.post("logins", backend=stack.backend.url + "/openeo/1.2/")
    assert code == 200 and again["state"] == "logged_in" and again["user"]["sub"] == "alice"


async def test_second_request_while_pending_returns_the_same_login(stack, api):
    _, first = await api.post("logins", backend=stack.backend.url)
    code, second = await api.post("logins", backend=stack.backend.url)
    assert code == 202 and second["id"] == first["id"] and second["user_code"] == first["user_code"]
    code, cancelled = await api.delete(f"logins/{first['id']}")
    assert code == 200 and cancelled["state"] == "cancelled"


async def test_a_page_opened_later_finds_the_pending_logins(stack, second_backend, api):
    _, first = await api.post("logins", backend=stack.backend.url)
    _, second = await api.post("logins", backend=second_backend.url)
    code, listed = await api.get("logins")
    assert code == 200
    assert [(x["id"], x["backend"], x["user_code"]) for x in listed["logins"]] == [
        (first["id"], stack.backend.url, first["user_code"]),
        (second["id"], second_backend.url, second["user_code"]),
    ]
    await api.delete(f"logins/{first['id']}")
    _, listed = await api.get("logins")
    assert [x["id"] for x in listed["logins"]] == [second["id"]]  # an ended login is not listed
    await api.delete(f"logins/{second['id']}")
    assert await api.get("logins") == (200, {"logins": []})


async def test_not_logged_in_is_404_with_a_sentence(stack, api):
    code, data = await api.post("token", backend=stack.backend.url)
    assert code == 404 and data["reason"] == "not_logged_in"
    assert "%openeo_login" in data["message"]


async def test_fifty_concurrent_token_requests_share_one_refresh(stack, api, alice, provider_stats, broker):
    await api.login(stack.backend.url, alice)
    session = next(iter(broker.sessions.values()))
    # Wait until the token has less than half its lifetime left: then every caller needs a refresh.
    await asyncio.sleep(max(0.0, session.tokens.remaining() - session.tokens.lifetime / 2) + 0.2)
    before = provider_stats().get("refresh_token", 0)
    old_refresh = session.tokens.refresh_token
    results = await asyncio.gather(*(api.post("token", backend=stack.backend.url, min_valid=60) for _ in range(50)))
    assert provider_stats().get("refresh_token", 0) - before == 1
    tokens = {data["access_token"] for code, data in results if code == 200}
    assert len(tokens) == 1 and all(code == 200 for code, _ in results)
    assert session.tokens.refresh_token != old_refresh  # rotated, and the newest one kept
    assert (await asyncio.to_thread(describe_account, stack, tokens.pop()))["user_id"] == "alice"


async def test_revoked_refresh_token_means_login_required(stack, api, alice, broker):
    await api.login(stack.backend.url, alice)
    session = next(iter(broker.sessions.values()))
    await session.client.revoke(session.tokens.refresh_token)
    await asyncio.sleep(max(0.0, session.tokens.remaining() - session.tokens.lifetime / 2) + 0.2)
    code, data = await api.post("token", backend=stack.backend.url)
    assert code == 409 and data["reason"] == "login_required" and "Log in again" in data["message"]
    code, again = await api.post("token", backend=stack.backend.url)
    assert code == 409  # no retry loop: the session stays in "login required"
    _, sessions = await api.get("sessions")
    assert sessions["sessions"][0]["login_required"] is True
    code, fresh = await api.post("logins", backend=stack.backend.url)
    assert code == 202  # a new login starts instead of reusing the dead session


async def test_denied_login_reports_denied(stack, api, broker, caplog):
    broker.log.addHandler(caplog.handler)  # the extension's own logger does not propagate to the root
    _, login = await api.post("logins", backend=stack.backend.url)
    await asyncio.to_thread(ProviderUser("bob").deny, login["verification_uri_complete"], login["user_code"])
    done = await api.wait_login(login["id"])
    broker.log.removeHandler(caplog.handler)
    assert done["state"] == "denied" and "denied" in done["message"]
    assert "user_code" not in done
    [started, ended] = [r for r in caplog.records if r.getMessage().startswith(f"openEO login {login['id']} ")]
    assert "started" in started.getMessage() and started.levelno == ended.levelno == logging.INFO
    assert "ended: denied (The login was denied at the provider" in ended.getMessage()


async def test_expired_login_reports_expired(stack, api, provider_stats):
    _, login = await api.post("logins", backend=stack.backend.url, client_id="openeo-shortcode")
    assert login["expires_at"] - time.time() <= 3
    done = await api.wait_login(login["id"], timeout=10)
    assert done["state"] == "expired" and "Start a new login" in done["message"]
    polls = provider_stats()[DEVICE]
    await asyncio.sleep(1.5)
    assert provider_stats()[DEVICE] == polls  # nothing polls after expiry


async def test_two_backends_log_in_at_once_and_the_server_stays_responsive(stack, second_backend, api, alice):
    _, one = await api.post("logins", backend=stack.backend.url)
    _, two = await api.post("logins", backend=second_backend.url)
    assert one["id"] != two["id"] and one["user_code"] != two["user_code"]
    started = time.time()
    code, _ = await api.get("sessions")
    assert code == 200 and time.time() - started < 1
    bob = ProviderUser("bob")
    await asyncio.gather(
        asyncio.to_thread(alice.approve, one["verification_uri_complete"], one["user_code"]),
        asyncio.to_thread(bob.approve, two["verification_uri_complete"], two["user_code"]),
    )
    assert (await api.wait_login(one["id"]))["user"]["sub"] == "alice"
    assert (await api.wait_login(two["id"]))["user"]["sub"] == "bob"
    _, token = await api.post("token", backend=second_backend.url)
    assert (await asyncio.to_thread(describe_account, stack, token["access_token"], url=second_backend.url))[
        "user_id"
    ] == "bob"


async def test_logout_revokes_and_forgets(stack, api, alice, broker):
    await api.login(stack.backend.url, alice)
    session = next(iter(broker.sessions.values()))
    tokens = session.tokens
    code, data = await api.delete("sessions", backend=stack.backend.url, provider_id="local")
    assert code == 200 and data == {"logged_out": 1, "revoked": True, "backends": [stack.backend.url]}
    with pytest.raises(LoginRequired):
        await session.client.refresh(tokens)  # revoked at the provider
    code, data = await api.post("token", backend=stack.backend.url)
    assert code == 404 and data["reason"] == "not_logged_in"
    assert (await api.get("sessions"))[1] == {"sessions": []}


async def test_service_account_from_server_config(stack, api, caplog):
    caplog.set_level(logging.DEBUG)
    code, login = await api.post("logins", backend=stack.backend.url, flow="client_credentials")
    assert code == 200 and login["state"] == "logged_in"
    code, token = await api.post("token", backend=stack.backend.url)
    assert code == 200
    meta = issuer_cache.get(stack.provider.url, HttpClient())
    status, info = HttpClient().send(
        post_form(
            meta.issuer + "/token/introspection",
            {"token": token["access_token"]},
            ("openeo-service", quote_plus(SERVICE_SECRET)),
        )
    )
    assert info["active"] is True and info["client_id"] == "openeo-service"
    _, sessions = await api.get("sessions")
    assert SERVICE_SECRET not in str(sessions) + str(login) + caplog.text


class TestServiceAccountSecretFromFileOrKeyring:
    @pytest.fixture(params=["secret_file", "secret_keyring"])
    def jp_server_config(self, request, stack, tmp_path, test_keyring):
        if request.param == "secret_file":
            where = tmp_path / "openeo-service.secret"
            where.write_text(SERVICE_SECRET + "\n")
            where.chmod(0o600)
        else:
            where = "openeo-service-secret/openeo-service"
            test_keyring.set_password("openeo-service-secret", "openeo-service", SERVICE_SECRET)
        account = {"backend": stack.backend.url, "client_id": "openeo-service", request.param: str(where)}
        return server_config(stack, client_credentials=[account])

    async def test_service_login_reads_the_secret_there(self, stack, api, caplog):
        caplog.set_level(logging.DEBUG)
        code, login = await api.post("logins", backend=stack.backend.url, flow="client_credentials")
        assert code == 200 and login["state"] == "logged_in" and login["user"]["sub"] == "openeo-service"
        code, token = await api.post("token", backend=stack.backend.url)
        assert code == 200 and (await api.get("sessions"))[1]["sessions"][0]["flow"] == "client_credentials"
        assert SERVICE_SECRET not in str(login) + str(token) + caplog.text


class TestServiceAccountWithoutSecret:
    @pytest.fixture
    def jp_server_config(self, stack, monkeypatch):
        monkeypatch.delenv("JOA_TEST_SERVICE_SECRET", raising=False)
        return server_config(stack)

    async def test_login_says_who_can_fix_it(self, stack, api):
        code, data = await api.post("logins", backend=stack.backend.url, flow="client_credentials")
        assert code == 400 and "administrator" in data["message"]


async def test_service_secret_leaves_the_servers_environment(stack, api, monkeypatch):
    assert "JOA_TEST_SERVICE_SECRET" not in os.environ  # taken out when the server started
    code, login = await api.post("logins", backend=stack.backend.url, flow="client_credentials")
    assert code == 200 and login["state"] == "logged_in"


async def test_password_flow_uses_the_password_once(stack, api, broker):
    code, data = await api.password_login(stack.backend.url, "bob", "x")
    assert code == 400 and data["reason"] == "failed" and "x" not in data["message"].split()
    code, login = await api.password_login(stack.backend.url, "alice", "alice-password")
    assert code == 200 and login["state"] == "logged_in"
    # The password grant brings no id token: who logged in comes from the provider's userinfo.
    assert login["user"] == {"sub": "alice", "name": "Alice Liddell", "email": "alice@example.org"}
    code, token = await api.post("token", backend=stack.backend.url)
    assert (await asyncio.to_thread(describe_account, stack, token["access_token"]))["user_id"] == "alice"
    session = next(iter(broker.sessions.values()))
    assert "alice-password" not in repr(broker.sessions) + str(vars(session)) + str(vars(session.client))


@pytest.mark.parametrize(
    "body, reason",
    [
        ({"backend": "not a url"}, "invalid_backend_url"),
        ({"backend": "http://127.0.0.1:9"}, "backend_unavailable"),
        ({"backend": "BACKEND", "provider_id": "egi"}, "unknown_provider"),
        ({"backend": "BACKEND", "flow": "magic"}, "error"),
        ({}, "missing_parameter"),
    ],
)
async def test_bad_login_requests_get_a_reason_and_a_sentence(stack, api, body, reason):
    body = {k: v.replace("BACKEND", stack.backend.url) for k, v in body.items()}
    code, data = await api.post("logins", **body)
    assert 400 <= code < 600 and data["reason"] == reason and data["message"].endswith(".")


async def test_backend_without_oidc(backend_without_oidc, api):
    code, data = await api.post("logins", backend=backend_without_oidc.url)
    assert code == 400 and data["reason"] == "no_oidc"


async def test_openapi_document_lists_every_route(api):
    code, doc = await api.get("openapi.json")
    assert code == 200 and doc["openapi"].startswith("3.")
    assert doc["info"]["version"] == jupyter_openeo_auth.__version__  # the package's one version
    assert set(doc["paths"]) == {
        f"/openeo-auth/api/{p}"
        for p in ("providers", "settings", "logins", "logins/{id}", "sessions", "token", "openapi.json")
    }


class TestAllowList:
    @pytest.fixture
    def jp_server_config(self, stack):
        return server_config(stack, allowed_backends=[stack.backend.url])

    async def test_only_allowed_backends_can_be_logged_in_to(self, stack, second_backend, api):
        code, data = await api.post("logins", backend=second_backend.url)
        assert code == 403 and data["reason"] == "not_allowed" and stack.backend.url in data["message"]
        code, data = await api.post("logins", backend=stack.backend.url + "/openeo/1.2")
        assert code == 202


@pytest.mark.parametrize(
    "path, body, status, reason",
    [
        ("logins", '{"backend": "BACKEND", "provider_id": "nope"}', 400, "unknown_provider"),
        ("logins", '{"backend": "\u00a7$\u00af"}', 400, "invalid_backend_url"),
    ],
)
async def test_malformed_requests_get_a_4xx_not_a_500(stack, api, path, body, status, reason):
    """What the broker judges (the handlers' own checks: tests/unit/test_handlers.py)."""
    code, data = await api.post_raw(path, body.replace("BACKEND", stack.backend.url))
    assert code == status and data["reason"] == reason  # and the answer matches openapi.json (server_api.Api)


@pytest.mark.parametrize(
    "method, path, params, status, reason",
    [
        ("GET", "providers", {"backend": "\u00a7$\u00af"}, 400, "invalid_backend_url"),  # not a host name
        ("DELETE", "sessions", {"backend": "\u00a7$\u00af"}, 400, "invalid_backend_url"),
        ("GET", "logins/not%20an%20id", None, 404, "not_found"),
    ],
)
async def test_odd_requests_get_the_documented_json_error(api, method, path, params, status, reason):
    code, data, headers = await api.call(method, path, params=params, raw_body="{}" if method == "PUT" else None)
    assert code == status and data["reason"] == reason and data["message"]
    if status == 405:
        assert headers["Allow"] == "POST"


async def test_the_served_document_names_the_servers_base_url(api, jp_base_url):
    code, document = await api.get("openapi.json")
    assert code == 200 and document["servers"][0]["url"] == jp_base_url.rstrip("/")


async def test_settings_tell_the_dialog_the_default_backend_and_service_accounts(stack, api):
    code, data = await api.get("settings")
    assert code == 200
    assert data == {
        "default_backend": stack.backend.url,
        "service_account_backends": [stack.backend.url],
        "allowed_backends": [],
    }
    assert "secret" not in str(data).lower()


async def test_a_pending_login_carries_its_qr_code(stack, api):
    code, login = await api.post("logins", backend=stack.backend.url)
    assert code == 202 and login["qr_svg"].startswith("<svg") and "Scan to log in" in login["qr_svg"]
    code, again = await api.get(f"logins/{login['id']}")
    assert again["qr_svg"] == login["qr_svg"]
    code, cancelled = await api.delete(f"logins/{login['id']}")
    assert "qr_svg" not in cancelled
