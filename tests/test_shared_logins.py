"""One login per account at a provider: back-ends that list the same issuer and client share it (real
provider, three real openeo-driver back-ends)."""

from __future__ import annotations

import pytest

from jupyter_openeo_auth.devstack import backend_service
from jupyter_openeo_auth.devstack.user import ProviderUser

pytestmark = pytest.mark.real

DEVICE_PKCE = "urn:ietf:params:oauth:grant-type:device_code+pkce"


@pytest.fixture(scope="module")
def other_client_backend(stack):
    """A back-end that trusts the same provider but uses another client id."""
    service = backend_service(
        stack.provider.url,
        no_user_cache=True,
        default_clients=[{"id": "openeo-norotate", "grant_types": [DEVICE_PKCE, "refresh_token"]}],
    ).start()
    yield service
    service.cleanup()


@pytest.fixture(scope="module")
def refusing_backend(stack):
    """A back-end that trusts the same provider and client but does not accept alice's account."""
    service = backend_service(stack.provider.url, no_user_cache=True, refuse_users=["alice"]).start()
    yield service
    service.cleanup()


async def test_a_backend_that_refuses_the_account_is_marked_alone(stack, refusing_backend, api, alice):
    await api.login(stack.backend.url, alice)
    code, refused = await api.post("token", backend=refusing_backend.url)
    assert code == 403 and refused["reason"] == "account_refused"
    assert "No access for alice at this back-end." in refused["message"]
    _, listed = await api.get("sessions")
    by_backend = {s["backend"]: s for s in listed["sessions"]}
    assert "No access for alice" in by_backend[refusing_backend.url]["account_problem"]
    assert by_backend[stack.backend.url].get("account_problem") is None  # the login itself is fine
    code, token = await api.post("token", backend=stack.backend.url)
    assert code == 200 and token["user"]["sub"] == "alice"


async def test_a_second_backend_of_the_same_provider_uses_the_login(stack, second_backend, api, alice, provider_stats):
    await api.login(stack.backend.url, alice)
    authorizations = provider_stats().get("device_authorization", 0)

    code, token = await api.post("token", backend=second_backend.url)
    assert code == 200 and token["provider_id"] == "local" and token["user"]["sub"] == "alice"
    code, login = await api.post("logins", backend=second_backend.url)  # the dialog, the widget, the CLI
    assert code == 200 and login["state"] == "logged_in" and login["backend"] == second_backend.url
    assert provider_stats().get("device_authorization", 0) == authorizations  # no new device login

    _, listed = await api.get("sessions")
    by_backend = {s["backend"]: s for s in listed["sessions"]}
    assert set(by_backend) == {stack.backend.url, second_backend.url}
    assert by_backend[second_backend.url]["serves"] == [stack.backend.url, second_backend.url]
    assert by_backend[stack.backend.url]["login"] == by_backend[second_backend.url]["login"]

    code, out = await api.delete("sessions", backend=second_backend.url)
    assert code == 200 and out["logged_out"] == 1 and out["revoked"] is True
    assert out["backends"] == [stack.backend.url, second_backend.url]
    assert stack.backend.url in out["message"] and "shared the login" in out["message"]
    for url in (stack.backend.url, second_backend.url):
        code, data = await api.post("token", backend=url)
        assert code == 404 and data["reason"] == "not_logged_in"
    assert (await api.get("sessions"))[1] == {"sessions": []}


async def test_sessions_for_a_backend_list_the_login_that_serves_it(stack, second_backend, api, alice):
    await api.login(stack.backend.url, alice)
    _, before = await api.get("sessions")
    assert [s["backend"] for s in before["sessions"]] == [stack.backend.url]
    _, listed = await api.get("sessions", backend=second_backend.url)  # what the widget asks
    assert [s["backend"] for s in listed["sessions"]] == [stack.backend.url, second_backend.url]


async def test_another_client_at_the_same_provider_needs_its_own_login(
    stack, other_client_backend, api, alice, provider_stats
):
    await api.login(stack.backend.url, alice)
    code, data = await api.post("token", backend=other_client_backend.url)
    assert code == 404 and data["reason"] == "not_logged_in"
    authorizations = provider_stats().get("device_authorization", 0)
    code, login = await api.post("logins", backend=other_client_backend.url)
    assert code == 202 and login["state"] == "pending"
    assert provider_stats()["device_authorization"] == authorizations + 1
    await api.delete(f"logins/{login['id']}")


async def test_a_login_asked_with_another_client_id_is_not_shared(stack, second_backend, api, alice):
    await api.login(stack.backend.url, alice, client_id="openeo-norotate")
    code, data = await api.post("token", backend=second_backend.url)  # its default client is openeo-public
    assert code == 404 and data["reason"] == "not_logged_in"


async def test_a_login_asked_with_another_client_id_replaces_the_backends_login(stack, second_backend, api, alice):
    await api.login(stack.backend.url, alice)  # the default client, openeo-public
    await api.post("token", backend=second_backend.url)  # which serves the second back-end too
    await api.login(second_backend.url, ProviderUser("bob"), client_id="openeo-norotate")  # not "already alice"
    code, token = await api.post("token", backend=second_backend.url)
    assert code == 200 and token["user"]["sub"] == "bob"
    _, listed = await api.get("sessions")
    by_backend = {s["backend"]: s for s in listed["sessions"]}
    assert by_backend[second_backend.url]["client_id"] == "openeo-norotate"
    assert by_backend[stack.backend.url]["client_id"] == "openeo-public"
    assert by_backend[stack.backend.url]["serves"] == [stack.backend.url]  # the newest login serves it now
    code, again = await api.post("logins", backend=second_backend.url, client_id="openeo-norotate")
    assert code == 200 and again["user"]["sub"] == "bob"  # the same client again: the same login


async def test_sharing_and_the_shared_logout_are_announced(stack, second_backend, api, alice, broker, jp_ws_fetch):
    from test_events import next_events

    await api.login(stack.backend.url, alice)
    ws = await jp_ws_fetch("api", "events", "subscribe")
    await api.post("token", backend=second_backend.url)
    [shared] = await next_events(ws, 1)
    assert shared["action"] == "session_shared" and shared["backend"] == second_backend.url
    await api.delete("sessions", backend=stack.backend.url)
    ended = await next_events(ws, 2)
    assert [(e["action"], e["backend"]) for e in ended] == [
        ("session_ended", stack.backend.url),
        ("session_ended", second_backend.url),
    ]
    ws.close()
