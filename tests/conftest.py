"""Session fixtures: the real OpenID provider (npm oidc-provider) and the real openEO dummy back-end."""

from __future__ import annotations

import os

import openapi_check
import pytest
import requests
from faults import FaultServer
from keyrings import FileKeyring
from server_api import Api
from traitlets.config import Config

from jupyter_openeo_auth.devstack import DevStack, backend_service
from jupyter_openeo_auth.devstack.user import ProviderUser
from jupyter_openeo_auth.oidc import HttpClient, OidcClient, discover_backend, issuer_cache

pytest_plugins = ("pytest_jupyter.jupyter_server",)

#: Short lifetimes so that expiry and refresh happen within a test run.
ACCESS_TOKEN_TTL = 10
DEVICE_INTERVAL = 1
#: The secret of the provider's `openeo-service` client: a canary that must never show up anywhere.
SERVICE_SECRET = "service-secret+0123/%89:x"  # "+", "/", "%", ":" must be form-encoded in HTTP Basic


@pytest.fixture(scope="session", autouse=True)
def answers_match_the_openapi_document():
    """Every REST answer a test receives through `requests` is checked against openapi.json (`jp_fetch` answers
    are checked in server_api.Api)."""
    send = requests.Session.send

    def checked(session, request, **kwargs):
        resp = send(session, request, **kwargs)
        if not kwargs.get("stream"):
            openapi_check.check(
                request.method, resp.url, resp.status_code, resp.headers.get("Content-Type", ""), resp.content
            )
        return resp

    requests.Session.send = checked
    yield
    requests.Session.send = send


@pytest.fixture(autouse=True)
def servers_answer_everyone_by_the_document(request):
    """A test's Jupyter server (`jp_serverapp`) has its REST answers checked as it sends them, whoever asked:
    what its kernels and the CLI receive too."""
    if "jp_serverapp" not in request.fixturenames:
        yield
        return
    transforms = request.getfixturevalue("jp_serverapp").web_app.transforms
    if openapi_check.ServerSide not in transforms:
        transforms.insert(0, openapi_check.ServerSide)  # first: the answer as written, before any compression
    del openapi_check.VIOLATIONS[:]
    yield
    assert not openapi_check.VIOLATIONS, openapi_check.VIOLATIONS[0]


@pytest.fixture(scope="session")
def stack():
    """Provider + back-end. The back-end checks every bearer token at the provider (no 15-minute user
    cache), so that expired and revoked tokens are really refused."""
    with DevStack(
        access_token_ttl=ACCESS_TOKEN_TTL, device_interval=DEVICE_INTERVAL, no_user_cache=True, record_tokens=True
    ) as s:
        yield s


@pytest.fixture(scope="session")
def second_backend(stack):
    """Another real dummy back-end using the same provider: two back-ends to log in to at once."""
    service = backend_service(stack.provider.url, no_user_cache=True).start()
    yield service
    service.cleanup()


@pytest.fixture(scope="session")
def two_provider_backend(stack):
    """A back-end listing two providers (`local` and `other`, both the local provider)."""
    service = backend_service(stack.provider.url, no_user_cache=True, second_provider="other").start()
    yield service
    service.cleanup()


@pytest.fixture(scope="session")
def malicious_backend(stack):
    """A back-end whose default client gets `javascript:` verification URIs from the provider."""
    service = backend_service(stack.provider.url, default_client="openeo-malicious").start()
    yield service
    service.cleanup()


@pytest.fixture(scope="session")
def backend_without_oidc():
    """A real dummy back-end that lists no OpenID provider."""
    service = backend_service(None, no_oidc=True).start()
    yield service
    service.cleanup()


@pytest.fixture(scope="session")
def faults():
    with FaultServer(hang_seconds=5) as server:
        yield server


@pytest.fixture
def backend(stack):
    """What discovery tells about the local back-end."""
    return discover_backend(stack.backend.url)


@pytest.fixture
def oidc_client(stack, backend):
    """A client factory for the local provider: `oidc_client("openeo-norotate")`."""
    provider = backend.provider()
    metadata = issuer_cache.get(provider.issuer, HttpClient())

    def make(client_id: str = "openeo-public", **kwargs) -> OidcClient:
        return OidcClient(metadata, client_id, scopes=provider.scopes, **kwargs)

    return make


@pytest.fixture
def alice():
    return ProviderUser("alice")


@pytest.fixture
def provider_stats(stack):
    """A function returning the provider's count of token requests per grant type."""
    return lambda: requests.get(stack.provider.url + "/_test/stats", timeout=5).json()


@pytest.fixture
def test_keyring(tmp_path, monkeypatch):
    """The OS keyring replaced by a JSON file, trusted because it is named as an administrator would."""
    import keyring

    previous = keyring.get_keyring()
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.FileKeyring")
    monkeypatch.setenv("JOA_TEST_KEYRING_FILE", str(tmp_path / "keyring.json"))
    ring = FileKeyring(tmp_path / "keyring.json")
    keyring.set_keyring(ring)
    yield ring
    keyring.set_keyring(previous)


@pytest.fixture
def issued_secrets(stack):
    """A function returning every access token, refresh token and device code the provider has issued so
    far, plus the service account's secret: the canaries that must never show up in a notebook or a log."""
    return lambda: requests.get(stack.provider.url + "/_test/issued", timeout=5).json() + [SERVICE_SECRET]


def server_config(stack, **openeo_auth) -> Config:
    """Jupyter server config with the extension enabled, no persistence, and a service account."""
    settings = {
        "default_backend": stack.backend.url,
        "persist": "never",
        "refresh_margin": 1,
        "http_timeout": 5,
        "client_credentials": [
            {"backend": stack.backend.url, "client_id": "openeo-service", "secret_env": "JOA_TEST_SERVICE_SECRET"}
        ],
    }
    settings.update(openeo_auth)
    return Config({"ServerApp": {"jpserver_extensions": {"jupyter_openeo_auth": True}}, "OpenEOAuth": settings})


@pytest.fixture
def jp_server_config(stack, monkeypatch):
    monkeypatch.setenv("JOA_TEST_SERVICE_SECRET", SERVICE_SECRET)
    return server_config(stack)


@pytest.fixture
def api(jp_fetch):
    """The REST API of the server under test."""
    return Api(jp_fetch)


@pytest.fixture
def broker(jp_serverapp, jp_asyncio_loop, http_server):
    """The server's token broker, for looking behind the API in tests. The extension is started the way
    a real server does once its loop runs (pytest-jupyter skips that step): key file, restored sessions.
    `http_server` makes it listen on its port, so kernels can reach it."""
    jp_asyncio_loop.run_until_complete(jp_serverapp.extension_manager.start_all_extensions())
    return jp_serverapp.web_app.settings["openeo_auth_broker"]


CHROMIUM = "/usr/bin/chromium"
# Flags for a closed network: no background connections to Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def page(tmp_path):
    """A page in Debian's Chromium, driven by Playwright (which never downloads a browser here)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        yield page
        page.screenshot(path=str(tmp_path / "last.png"))
        browser.close()


#: The layers (README, "Tests"), by a test module's `pytestmark`:
#: - unit (no mark; every new file is one): starts no process and opens no socket, enforced below; canned
#:   answers at the HTTP seam, stub servers and clients, fake clocks. `pytest -m unit`.
#: - real: real parts in this process or quick tools (the provider and back-end on loopback, ruff, mypy).
#: - slow: starts Jupyter servers, kernels, browsers, hubs or wheels of its own.
LAYERS = ("unit", "real", "slow")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if not any(item.get_closest_marker(layer) for layer in LAYERS[1:]):
            item.add_marker(pytest.mark.unit)


class NotInAUnitTest(RuntimeError):
    pass


@pytest.fixture(autouse=True)
def _unit_tests_start_no_process_and_open_no_socket(request, monkeypatch):
    """A unit test that reaches for the network or a process fails here, by name, rather than pass slowly."""
    if request.node.get_closest_marker("unit") is None:
        return

    def refuse(*args, **kwargs):
        raise NotInAUnitTest(f"{request.node.name} is a unit test: no socket, no process (mark it real or slow)")

    import socket
    import subprocess

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
    monkeypatch.setattr(os, "fork", refuse)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """pytest-xdist: what a worker's tests received joins the controller's account of the document's answers."""
    openapi_check.SEEN.update(tuple(answer) for answer in node.workeroutput.get("openapi_seen", []))


def pytest_sessionfinish(session, exitstatus):
    """In CI a skipped test counts as a failure: the real-provider tests must run. A run of the whole suite
    answers every operation of openapi.json with every status the document lists."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # a pytest-xdist worker: the controller judges the whole run
        workeroutput["openapi_seen"] = sorted(openapi_check.SEEN)
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if os.environ.get("CI") and skipped and session.exitstatus == 0:
        reporter.write_line(f"CI: {len(skipped)} test(s) skipped; every test must run in CI.", red=True)
        session.exitstatus = 1
    option = session.config.option
    whole = session.config.args_source is pytest.Config.ArgsSource.TESTPATHS  # `pytest` alone: the whole suite
    if whole and not option.keyword and not option.markexpr and not option.lf and reporter:
        missing = openapi_check.uncovered()
        if missing:
            reporter.write_line(f"openapi.json: {len(missing)} answer(s) no test received:", red=True)
            for answer in missing:
                reporter.write_line(f"  {answer}", red=True)
            if session.exitstatus == 0:
                session.exitstatus = 1
