"""On JupyterHub: each hub user's server holds that user's openEO logins, through the hub's own auth."""

from __future__ import annotations

import json
import secrets
import time
from types import SimpleNamespace

import pytest
import requests
from hubs import hub_service, start_server, stop_server, user_token
from test_broker_lifecycle import whoami
from ws_kernel import WebSocketKernel

from jupyter_openeo_auth.devstack import backend_service, free_port, provider_service
from jupyter_openeo_auth.devstack.user import ProviderUser

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    service = hub_service(
        tmp_path_factory.mktemp("hub"),
        free_port(),
        secrets.token_hex(16),
        JUPYTER_OPENEO_AUTH_HUB_SECRET=secrets.token_hex(32),
    )
    yield service
    service.cleanup()


def test_hub_users_log_in_separately_and_kernels_get_tokens(hub, stack):
    alice_server, bob_server = start_server(hub, "alice"), start_server(hub, "bob")
    alice, bob = user_token(hub, "alice"), user_token(hub, "bob")
    api = f"{alice_server}/openeo-auth/api"
    login = requests.post(f"{api}/logins", json={"backend": stack.backend.url}, headers=alice, timeout=30)
    assert login.status_code == 202, login.text
    login = login.json()
    ProviderUser("alice").approve(login["verification_uri_complete"], login["user_code"])
    deadline = time.time() + 30
    while login["state"] == "pending" and time.time() < deadline:
        time.sleep(0.3)
        login = requests.get(f"{api}/logins/{login['id']}", headers=alice, timeout=30).json()
    assert login["state"] == "logged_in"

    # Bob's server knows nothing of Alice's login.
    resp = requests.post(
        f"{bob_server}/openeo-auth/api/token", json={"backend": stack.backend.url}, headers=bob, timeout=30
    )
    assert resp.status_code == 404 and resp.json()["reason"] == "not_logged_in"
    assert requests.get(f"{bob_server}/openeo-auth/api/sessions", headers=bob, timeout=30).json() == {"sessions": []}

    # An admin, and Bob with access to Alice's server (a share), get 403 from the REST API (SECURITY.md says
    # what a share still gives away: code in the server's kernels and terminals acts as Alice).
    for others in (hub.headers, bob):
        resp = requests.post(f"{api}/token", json={"backend": stack.backend.url}, headers=others, timeout=30)
        assert resp.status_code == 403 and resp.json()["reason"] == "not_owner", resp.text
        assert "only alice" in resp.json()["message"] and "access_token" not in resp.text
    assert requests.get(f"{alice_server}/api/status", headers=bob, timeout=30).status_code == 200  # the share works
    resp = requests.post(f"{api}/token", json={"backend": stack.backend.url}, headers=alice, timeout=30)
    assert resp.status_code == 200 and resp.json()["user"]["sub"] == "alice"

    # Unauthenticated callers get nothing from a hub user's server either.
    anonymous = requests.get(f"{api}/sessions", timeout=30, allow_redirects=False)
    assert anonymous.status_code == 401 and "alice" not in anonymous.text  # no credential at all

    kernel = WebSocketKernel(alice_server, alice["Authorization"].split()[1])  # kernels use the key file: allowed
    try:
        out = kernel.run(
            "import jupyter_openeo_auth as joa, os\n"
            f"print(joa.connect({stack.backend.url!r}).describe_account()['user_id'])\n"
            "print('JUPYTER_OPENEO_AUTH_STORE_KEY' in os.environ)"
        )
        assert out.split() == ["alice", "False"]  # the hub's sealing key stayed out of the kernel
    finally:
        kernel.close()

    # The hub culls Alice's server and starts it again: her device login was sealed on her volume under the key
    # the hub gave, and comes back without a click.
    stop_server(hub, "alice")
    alice_server = start_server(hub, "alice")
    [session] = requests.get(f"{alice_server}/openeo-auth/api/sessions", headers=alice, timeout=30).json()["sessions"]
    assert session["user"]["sub"] == "alice" and session["flow"] == "device"
    resp = requests.post(
        f"{alice_server}/openeo-auth/api/token", json={"backend": stack.backend.url}, headers=alice, timeout=30
    )
    assert resp.status_code == 200 and whoami(stack.backend.url, resp.json()["access_token"]) == "alice"


@pytest.fixture(scope="module", params=["service", "auth_state"])
def oauth_hub(request, tmp_path_factory):
    """A hub whose own login is the openEO back-end's OpenID provider (GenericOAuthenticator with auth_state
    and the hooks of jupyter_openeo_auth.hub), with its own provider (10 s tokens) and back-end. Users' servers
    get tokens from the hub's token service (access tokens only), or by reading auth_state."""
    port, secret = free_port(), secrets.token_hex(16)
    token_service_port = free_port()
    provider = provider_service(
        access_token_ttl=10,
        device_interval=1,
        RECORD_TOKENS="1",
        HUB_CLIENT_SECRET=secret,
        HUB_REDIRECT_URI=f"http://127.0.0.1:{port}/hub/oauth_callback",
    ).start()
    backend = backend_service(provider.url, no_user_cache=True).start()
    hub = hub_service(
        tmp_path_factory.mktemp("oauth-hub"),
        port,
        secrets.token_hex(16),
        HUB_ISSUER=provider.url,
        HUB_CLIENT_SECRET=secret,
        JUPYTERHUB_CRYPT_KEY=secrets.token_hex(32),
        OPENEO_BACKEND=backend.url,
        HUB_TOKENS=request.param,
        HUB_TOKEN_SERVICE_PORT=str(token_service_port),
    )
    try:
        token_service = f"http://127.0.0.1:{token_service_port}/services/openeo-tokens/"
        yield SimpleNamespace(
            hub=hub, provider=provider, backend=backend, mode=request.param, token_service=token_service
        )
    finally:
        hub.cleanup()
        backend.cleanup()
        provider.cleanup()


def test_the_hubs_own_login_serves_kernels_with_no_second_login(oauth_hub):
    hub, provider, backend = oauth_hub.hub, oauth_hub.provider, oauth_hub.backend
    stats = lambda: requests.get(provider.url + "/_test/stats", timeout=5).json()  # noqa: E731
    ProviderUser("alice").sign_in(f"{hub.url}/hub/oauth_login")  # alice logs in to the hub
    server = start_server(hub, "alice")
    alice = user_token(hub, "alice")
    sessions = requests.get(f"{server}/openeo-auth/api/sessions", headers=alice, timeout=30).json()
    [session] = sessions["sessions"]
    assert session["flow"] == "hub" and session["user"]["sub"] == "alice" and session["backend"] == backend.url
    kernel = WebSocketKernel(server, alice["Authorization"].split()[1])
    try:
        code = (
            f"import jupyter_openeo_auth as joa\ncon = joa.connect({backend.url!r})\n"
            "print(con.describe_account()['user_id'])"
        )
        assert kernel.run(code).strip() == "alice"
        shown = kernel.run(f"w = joa.login({backend.url!r}); print(w.state, w.status.value)")
        assert shown.startswith("logged_in") and "through JupyterHub" in shown
        time.sleep(31)  # three lifetimes of the access token: the hub renews it, the server asks again
        assert kernel.run("print(con.describe_account()['user_id'])").strip() == "alice"
        environ = kernel.run("import os; print(dict(os.environ))")
        # What code in a kernel can read from the hub with the server's API token, which it can reach.
        from_the_hub = kernel.run(
            "import os, requests\n"
            "r = requests.get(os.environ['JUPYTERHUB_API_URL'] + '/users/alice', timeout=30,\n"
            "                 headers={'Authorization': 'token ' + os.environ['JUPYTERHUB_API_TOKEN']})\n"
            "print(r.status_code, 'auth_state' in r.json(), 'refresh_token' in r.text)"
        )
    finally:
        kernel.close()
    if oauth_hub.mode == "service":
        # The token service hands out the access token and who it is; the refresh token never leaves the hub,
        # not even to the user's own server and kernels.
        assert from_the_hub.split() == ["200", "False", "False"], from_the_hub
        handed = requests.get(oauth_hub.token_service + "token", headers=alice, timeout=30)
        assert handed.status_code == 200 and set(handed.json()) <= {
            "access_token",
            "expires_at",
            "expires_in",
            "id_token",
            "scope",
            "token_type",
        }
        assert whoami(backend.url, handed.json()["access_token"]) == "alice"
        nobody = requests.get(oauth_hub.token_service + "token", timeout=30, allow_redirects=False)
        assert nobody.status_code in (302, 403) and "access_token" not in nobody.text
    else:  # reading auth_state: the README says kernels can then reach the refresh token
        assert from_the_hub.split() == ["200", "True", "True"], from_the_hub
    # Bob, at the same time: his server serves his identity only.
    ProviderUser("bob").sign_in(f"{hub.url}/hub/oauth_login")
    bob_server, bob = start_server(hub, "bob"), user_token(hub, "bob")
    answer = requests.post(
        f"{bob_server}/openeo-auth/api/token", json={"backend": backend.url}, headers=bob, timeout=30
    ).json()
    assert answer["user"]["sub"] == "bob"
    assert whoami(backend.url, answer["access_token"]) == "bob"
    assert stats().get("urn:ietf:params:oauth:grant-type:device_code", 0) == 0  # zero device logins
    assert stats().get("refresh_token", 0) >= 2  # the hub renewed ahead of expiry
    issued = requests.get(provider.url + "/_test/issued", timeout=5).json()  # every token the provider made
    seen = environ + json.dumps(sessions) + hub.log_tail(100000)  # the kernel, the server's answers, its log
    assert len(issued) >= 4 and [t for t in issued if t in seen] == []
