"""SECURITY.md's threats, attacked: a Jupyter server with the extension, the real provider and back-end, and a
hostile back-end and provider on loopback (tests/hostile.py) that records every request it receives. Each test
failed on the code before issue 27."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest
from conftest import SERVICE_SECRET
from hostile import EVIL_REFRESH, HostileServer
from server_api import ROUTES, Browser

from jupyter_openeo_auth.broker import ServiceAccount
from jupyter_openeo_auth.broker.login_runner import MAX_ENDED_LOGINS
from jupyter_openeo_auth.devstack.user import ProviderUser
from jupyter_openeo_auth.kernel.autoload import STARTUP_FILE, USERS_STARTUP, set_kernel_startup
from jupyter_openeo_auth.oidc import HttpClient, LoginRequired, OidcClient, issuer_cache

pytestmark = pytest.mark.slow

CROSS_SITE = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Referer": "https://evil.example/x"}


@pytest.fixture
def evil(stack, backend):
    """A back-end that lists the real provider's issuer and default client, and records what reaches it."""
    with HostileServer(listed_issuer=backend.provider().issuer) as server:
        yield server


@pytest.fixture
def browser(jp_serverapp, http_server_client, jp_base_url):
    return Browser(jp_serverapp, http_server_client, jp_base_url)


# --- 1. A link on another site moves no token ------------------------------------------------------------------


async def test_a_link_on_another_site_moves_no_token(stack, api, alice, evil, browser):
    await api.login(stack.backend.url, alice)
    code, answer = await browser("GET", f"sessions?backend={evil.url}", CROSS_SITE)
    assert code == 403 and answer["reason"] == "cross_site"
    code, answer = await browser("GET", f"providers?backend={evil.url}", CROSS_SITE)
    assert code == 403 and answer["reason"] == "cross_site"
    assert evil.requests == []  # not even discovery: the server fetched nothing for that page
    # An older browser says it with Referer only, or Origin.
    code, answer = await browser("GET", f"sessions?backend={evil.url}", {"Referer": "http://localhost:9/evil"})
    assert code == 403 and answer["reason"] == "cross_site"
    code, answer = await browser("GET", "sessions", {"Origin": "https://evil.example"})
    assert code in (403, 404)  # jupyter_server itself answers a foreign Origin with 404
    assert evil.bearers() == []


@pytest.mark.parametrize("method, path", ROUTES)
async def test_every_route_refuses_another_site(browser, method, path):
    code, answer = await browser(method, path + "?backend=http://127.0.0.1:9", CROSS_SITE)
    assert code == 403, answer
    assert answer["reason"] in ("cross_site", "forbidden")  # POST/DELETE: jupyter_server's XSRF check first
    # A page of another site that says so with its Origin: jupyter_server answers 404 before the route does.
    code, answer = await browser(method, path + "?backend=http://127.0.0.1:9", {"Origin": "https://evil.example"})
    assert code in (403, 404) and answer["reason"] in ("cross_site", "forbidden", "not_found"), answer


async def test_a_preflight_from_another_site_lets_nothing_through_and_changes_nothing(api):
    foreign = {  # as a browser sends it: no credentials
        "Authorization": "",
        "Origin": "https://evil.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    code, _, headers = await api.call("OPTIONS", "token", headers=foreign)
    assert code == 200 and "POST" in headers["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Origin" not in headers  # so the browser sends no request after it
    assert (await api.get("logins"))[1] == {"logins": []} and (await api.get("sessions"))[1] == {"sessions": []}


async def test_jupyterlab_pages_of_this_server_still_work(stack, browser):
    await browser.log_in()
    same = {"Sec-Fetch-Site": "same-origin", "X-XSRFToken": browser.xsrf}
    assert (await browser("GET", "sessions", same))[0] == 200
    code, providers = await browser("GET", f"providers?backend={stack.backend.url}", same)
    assert code == 200 and providers["providers"][0]["id"] == "local"
    body = json.dumps({"backend": stack.backend.url})
    assert (await browser("POST", "token", same, body))[1]["reason"] == "not_logged_in"
    assert (await browser("GET", "sessions", {"Sec-Fetch-Site": "none"}))[0] == 200  # typed into the address bar


async def test_listing_sessions_for_a_backend_sends_no_token(stack, api, alice, evil, broker):
    await api.login(stack.backend.url, alice)
    code, listed = await api.get("sessions", backend=evil.url)  # what the widget asks: a login that could serve
    assert code == 200 and [s["backend"] for s in listed["sessions"]] == [stack.backend.url, evil.url]
    assert evil.bearers() == []  # no account check, no token
    [session] = broker.table.mine()
    assert evil.url not in [s.backend_url for s in session.served.values()]  # not attached by a GET
    # A token request proves it comes from the user (her kernel, her CLI): only that attaches the login.
    code, token = await api.post("token", backend=evil.url)
    assert code == 200 and evil.bearers() == [f"Bearer oidc/local/{token['access_token']}"]


# --- 2. A provider's metadata must name the issuer it was fetched from ------------------------------------------


async def test_metadata_claiming_another_issuer_fails_discovery(stack, api, backend):
    real = backend.provider().issuer
    with HostileServer(claimed_issuer=real) as evil:
        code, answer = await api.post("logins", backend=evil.url)
        assert code == 502 and answer["reason"] == "bad_response"
        assert real in answer["message"] and f"{evil.url}/iss" in answer["message"]
        assert [p for _, p, _ in evil.requests if p.startswith("/iss/")] == ["/iss/.well-known/openid-configuration"]
        code, answer = await api.post("token", backend=stack.backend.url)  # nothing serves the real back-end
        assert code == 404 and answer["reason"] == "not_logged_in"
        code, login = await api.post("logins", backend=stack.backend.url)
        assert code == 202 and login["state"] == "pending"  # the user's own login is not "already logged in"


async def test_the_name_shown_comes_from_the_provider_not_the_id_token(stack, api, broker):
    with HostileServer() as evil:  # its metadata names itself; its token endpoint approves the first poll
        code, login = await api.post("logins", backend=evil.url)
        assert code == 202
        done = await api.wait_login(login["id"])
        assert done["state"] == "logged_in"
        assert done.get("user", {}).get("sub") != "alice"  # the unsigned id token said alice; no one verified it
        _, listed = await api.get("sessions")
        assert [s["user"] for s in listed["sessions"]] == [{}]
        code, answer = await api.post("token", backend=stack.backend.url)
        assert code == 404 and answer["reason"] == "not_logged_in"  # another issuer: it serves only itself
        assert EVIL_REFRESH not in json.dumps(listed)


# --- 3. Files in the notebook's folder do not run at kernel start -----------------------------------------------


async def test_a_planted_module_in_the_notebooks_folder_does_not_run(jp_serverapp, jp_root_dir, broker, tmp_path):
    folder = jp_root_dir / "cloned-tutorial"
    folder.mkdir()
    ran = tmp_path / "planted-ran"
    planted = f"open({str(ran)!r}, 'a').write(__name__ + '\\n')\n"
    for name in ("jupyter_openeo_auth.py", "requests.py", "httpx.py", "ipywidgets.py", "openeo.py"):
        (folder / name).write_text(planted)
    k = await _kernel_in(jp_serverapp, "cloned-tutorial")
    try:
        out = await k.run(
            "import sys, os\n"
            "print(os.getcwd() in [os.path.abspath(p) for p in sys.path], "
            "'openeo_login' in get_ipython().magics_manager.magics['line'])"
        )
        assert out.split() == ["True", "True"]  # the folder is on sys.path again; the extension loaded
        assert not ran.exists(), ran.read_text()
    finally:
        await k.stop()


async def _kernel_in(serverapp, path: str):
    from kernels import Kernel

    k = Kernel(serverapp)
    k.kernel_id = await k.manager.start_kernel(path=path)
    k.client = k.manager.get_kernel(k.kernel_id).client()
    k.client.start_channels()
    await k.client.wait_for_ready(timeout=60)
    return k


def test_a_server_started_from_another_servers_terminal_runs_the_users_startup_once(tmp_path):
    other_env = tmp_path / "other-env" / "pythonstartup.py"
    other_env.parent.mkdir()
    other_env.write_text(open(STARTUP_FILE).read())  # another environment's copy of our file
    users = tmp_path / "mine.py"
    users.write_text("print('users startup ran')\n")
    environ = {"PYTHONSTARTUP": str(other_env), USERS_STARTUP: str(users)}  # a terminal of the outer server
    set_kernel_startup(environ)  # the inner server starts
    assert environ == {"PYTHONSTARTUP": STARTUP_FILE, USERS_STARTUP: str(users)}
    for startup in (STARTUP_FILE, str(other_env)):  # and when a copy names the other copy
        env = {
            **os.environ,
            "PYTHONSTARTUP": startup,
            USERS_STARTUP: str(other_env if startup == STARTUP_FILE else users),
        }
        done = subprocess.run([sys.executable, "-i"], input="", env=env, capture_output=True, text=True, timeout=60)
        assert "RecursionError" not in done.stderr, done.stderr
    env = {**os.environ, **environ}
    done = subprocess.run([sys.executable, "-i"], input="", env=env, capture_output=True, text=True, timeout=60)
    assert done.stdout.count("users startup ran") == 1 and "Error" not in done.stderr, done


# --- 4. The Jupyter token and service secrets go only to their own hosts -----------------------------------------


async def test_a_service_account_sends_its_secret_to_its_own_provider_only(
    two_provider_backend, api, broker, monkeypatch, provider_stats
):
    monkeypatch.setenv("JOA_TEST_SERVICE_SECRET", SERVICE_SECRET)
    account = ServiceAccount(
        backend=two_provider_backend.url, client_id="openeo-service", secret_env="JOA_TEST_SERVICE_SECRET"
    )
    account.take_env_secret()
    broker.first_tokens.service_accounts[:] = [account]  # configured without provider_id: the first provider's
    before = provider_stats().get("client_credentials", 0)
    code, answer = await api.post(
        "logins", backend=two_provider_backend.url, flow="client_credentials", provider_id="other"
    )
    assert code == 400 and answer["reason"] == "client_credentials_not_configured"
    assert "provider local, not 'other'" in answer["message"]
    assert provider_stats().get("client_credentials", 0) == before  # the secret went nowhere
    code, answer = await api.post("logins", backend=two_provider_backend.url, flow="client_credentials")
    assert code == 200 and answer["state"] == "logged_in"


# --- 5. Nothing a provider says breaks the server ------------------------------------------------------------------


async def test_a_link_too_long_for_a_qr_code_leaves_the_login_usable(api):
    with HostileServer() as evil:
        evil.device_extra = {"verification_uri_complete": evil.url + "/iss/page?code=" + "A" * 5000}
        code, login = await api.post("logins", backend=evil.url)
        assert code == 202 and "verification_uri_complete" not in login and "qr_svg" in login
        code, listed = await api.get("logins")
        assert code == 200
        code, cancelled = await api.delete(f"logins/{login['id']}")
        assert code == 200 and cancelled["state"] in ("cancelled", "logged_in")


@pytest.mark.parametrize(
    "path, body",
    [
        ("logins", '{"backend": "\\ud800"}'),
        ("logins", '{"backend": "http://127.0.0.1:9", "client_id": "\\udfff"}'),
        ("logins", '{"backend": "http://127.0.0.1:9", "flow": "password", "username": "a\\ud800", "password": "x"}'),
        ("token", '{"backend": "http://127.0.0.1:9", "provider_id": "\\ud800"}'),
        ("token", '{"backend": "\\udfff"}'),
        ("logins", '{"backend": ' + "[" * 100000 + "]" * 100000 + "}"),
        ("token", "[" * 100000 + "]" * 100000),
    ],
    ids=["backend", "client_id", "username", "provider_id", "token-backend", "nested", "nested-token"],
)
async def test_unusable_text_is_a_400_not_a_500(api, path, body):
    code, answer = await api.post_raw(path, body)
    assert code == 400 and answer["reason"] in ("bad_parameter", "bad_request"), answer


async def test_a_login_with_another_client_revokes_the_one_it_replaces(stack, api, alice, broker):
    await api.login(stack.backend.url, alice)
    [old] = broker.table.mine()
    refresh_token = old.tokens.refresh_token
    done = await api.login(stack.backend.url, alice, client_id="openeo-norotate")
    assert "revoked" in done["message"] and "openeo-public" in done["message"]
    provider = (await broker.backend(stack.backend.url)).provider()
    meta = issuer_cache.get(provider.issuer, HttpClient())
    with pytest.raises(LoginRequired):
        await asyncio.to_thread(OidcClient(meta, "openeo-public").refresh, old.tokens.with_refresh_token(refresh_token))


async def test_logins_answered_from_the_session_are_not_kept_forever(stack, api, alice, broker):
    await api.login(stack.backend.url, alice)
    for _ in range(MAX_ENDED_LOGINS + 50):
        await broker.start_login(stack.backend.url)
    assert len(broker.logins) <= MAX_ENDED_LOGINS
    code, _ = await api.post("logins", backend=stack.backend.url)
    assert code == 200


@pytest.mark.parametrize("path", ["providers", "sessions"])
async def test_unusable_text_in_a_query_is_a_400_not_a_500(http_server_client, jp_base_url, jp_auth_header, path):
    for value in ("%ED%A0%80", "a%00b", "%FF"):
        resp = await http_server_client.fetch(
            f"{jp_base_url}openeo-auth/api/{path}?backend={value}", headers=jp_auth_header, raise_error=False
        )
        assert resp.code == 400, resp.body
        assert json.loads(resp.body)["reason"] in ("bad_request", "bad_parameter", "invalid_backend_url")


def test_a_page_on_another_site_moves_no_token_in_a_real_browser(stack, backend, tmp_path, page):
    """Chromium logged in to a Jupyter server opens a page of another site (another port of the same host:
    `Sec-Fetch-Site: same-site`) that loads the sessions route for its back-end as an image, a script and a
    fetch, and that the user follows a link of: the back-end gets no token, and the server attaches nothing."""
    import secrets
    import time as clock

    import requests

    from jupyter_openeo_auth.devstack import jupyter_service

    token = secrets.token_hex(16)
    service = jupyter_service(tmp_path, token, config={"OpenEOAuth": {"persist": "never"}}).start()
    headers = {"Authorization": f"token {token}"}
    api = f"{service.url}/openeo-auth/api"
    try:
        login = requests.post(f"{api}/logins", json={"backend": stack.backend.url}, headers=headers, timeout=30).json()
        ProviderUser("alice").approve(login["verification_uri_complete"], login["user_code"])
        deadline = clock.time() + 30
        while requests.get(f"{api}/logins/{login['id']}", headers=headers, timeout=30).json()["state"] == "pending":
            assert clock.time() < deadline
            clock.sleep(0.3)
        page.goto(f"{service.url}/login")  # the user logs in to the Jupyter server: its cookie is in the browser
        page.locator("#password_input").fill(token)
        page.locator("#password_input").press("Enter")
        page.wait_for_load_state()
        with HostileServer(listed_issuer=backend.provider().issuer) as evil:
            target = f"{api}/sessions?backend={evil.url}"
            evil.page = (
                f'<img src="{target}"><script src="{api}/providers?backend={evil.url}"></script>'
                f"<script>fetch({json.dumps(target)}, {{credentials: 'include', mode: 'no-cors'}})</script>"
                f'<a id="go" href="{target}">a link</a>'
            )
            page.goto(f"{evil.url}/attack.html")
            page.wait_for_load_state("networkidle")
            page.locator("#go").click()
            page.wait_for_load_state()
            assert "cross_site" in page.content()  # the navigation was refused with the reason
            assert evil.bearers() == []
            asked = {p for _, p, _ in evil.requests} - {"/attack.html", "/favicon.ico"}  # what the browser asked
            assert asked == set()  # the server asked the back-end nothing: no discovery, no /me
        listed = requests.get(f"{api}/sessions", headers=headers, timeout=30).json()["sessions"]
        assert [s["backend"] for s in listed] == [stack.backend.url]  # nothing attached
    finally:
        service.cleanup()
