"""A real server's authentication: no auth warnings, CORS preflights, XSRF on cookie requests, a kernel key that
opens this extension's routes only. (Every route refusing a caller without credentials: tests/unit/test_handlers.py.)"""

from __future__ import annotations

import warnings

import pytest
from jupyter_server.utils import JupyterServerAuthWarning
from server_api import ROUTES, Api, Browser
from tornado.httpclient import HTTPClientError
from traitlets.config import Config

pytestmark = pytest.mark.slow


@pytest.fixture
def auth_warnings():
    """The JupyterServerAuthWarnings raised while the server under test starts (as jupyterlab/extension-template's
    check: every handler must say how it is authenticated)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", JupyterServerAuthWarning)
        yield caught


@pytest.fixture
def jp_server_config(auth_warnings):
    return Config(
        {
            "ServerApp": {
                # jupyter_server_terminals' TermSocket has no auth decorator (its own warning, not ours).
                "jpserver_extensions": {"jupyter_openeo_auth": True, "jupyter_server_terminals": False},
                "allow_unauthenticated_access": False,
            },
            "OpenEOAuth": {"persist": "never"},
        }
    )


async def test_extension_loads_without_auth_warnings(jp_serverapp, auth_warnings, jp_fetch):
    assert [str(w.message) for w in auth_warnings if issubclass(w.category, JupyterServerAuthWarning)] == []
    code, data, _ = await Api(jp_fetch).call("GET", "sessions")  # the routes really are served
    assert code == 200 and data == {"sessions": []}


@pytest.mark.parametrize(
    "path", sorted({path for method, path in ROUTES if "/" not in path}), ids=lambda path: path.replace("/", "-")
)
async def test_every_route_answers_a_cors_preflight_and_changes_nothing(jp_fetch, path):
    """The document's OPTIONS: jupyter_server's preflight, without credentials, without a body."""
    api = Api(jp_fetch)
    code, data, headers = await api.call("OPTIONS", path, headers={"Authorization": ""})
    assert code == 200 and not data and "Access-Control-Allow-Headers" in headers


async def test_cookie_authenticated_token_request_needs_xsrf(jp_serverapp, http_server_client, jp_base_url):
    browser = Browser(jp_serverapp, http_server_client, jp_base_url)
    body = '{"backend": "http://127.0.0.1:9"}'
    code, _ = await browser("POST", "token", body=body)
    assert code == 403
    # The same cookies with the XSRF header get through to the broker (which cannot reach that back-end).
    code, answer = await browser("POST", "token", {"X-XSRFToken": browser.xsrf}, body)
    assert code == 502 and answer["reason"] == "backend_unavailable"


async def test_kernel_key_opens_this_extensions_routes_only(jp_fetch, jp_serverapp):
    key = jp_serverapp.web_app.settings["openeo_auth_kernel_key"].key
    api = Api(jp_fetch)
    code, data, _ = await api.call("GET", "sessions", headers={"Authorization": f"openeo-kernel {key}"})
    assert code == 200 and data == {"sessions": []}
    code, _, _ = await api.call("GET", "sessions", headers={"Authorization": f"openeo-kernel {key[:-1]}x"})
    assert code == 403
    for path in ("api/contents", "api/kernels", "api/sessions", "api/kernelspecs"):
        with pytest.raises(HTTPClientError) as err:
            await jp_fetch(*path.split("/"), headers={"Authorization": f"openeo-kernel {key}"}, follow_redirects=False)
        assert err.value.code == 403, path
