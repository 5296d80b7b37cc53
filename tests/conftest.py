"""Session fixtures: the real OpenID provider (npm oidc-provider) and the real openEO dummy back-end."""

from __future__ import annotations

import os

import pytest
import requests

from jupyter_openeo_auth.devstack import DevStack, backend_service
from jupyter_openeo_auth.devstack.user import ProviderUser
from jupyter_openeo_auth.oidc import HttpClient, OidcClient, discover_backend, issuer_cache

from faults import FaultServer

#: Short lifetimes so that expiry and refresh happen within a test run.
ACCESS_TOKEN_TTL = 10
DEVICE_INTERVAL = 1


@pytest.fixture(scope="session")
def stack():
    """Provider + back-end. The back-end checks every bearer token at the provider (no 15-minute user
    cache), so that expired and revoked tokens are really refused."""
    with DevStack(access_token_ttl=ACCESS_TOKEN_TTL, device_interval=DEVICE_INTERVAL, no_user_cache=True) as s:
        yield s


@pytest.fixture(scope="session")
def backend_without_oidc():
    """A real dummy back-end that lists no OpenID provider."""
    service = backend_service(None, no_oidc=True).start()
    yield service
    service.stop()


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


def pytest_sessionfinish(session, exitstatus):
    """In CI a skipped test counts as a failure: the real-provider tests must run."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if os.environ.get("CI") and skipped and session.exitstatus == 0:
        reporter.write_line(f"CI: {len(skipped)} test(s) skipped; every test must run in CI.", red=True)
        session.exitstatus = 1
