"""The kernel key file, back-end URLs, honest logouts and settings that cannot be used."""

from __future__ import annotations

import dataclasses
import json
import secrets
import stat

import openapi_check
import pytest
import requests
from conftest import SERVICE_SECRET

from jupyter_openeo_auth.devstack import jupyter_service
from jupyter_openeo_auth.oidc import InvalidBackendUrl, normalize_url
from jupyter_openeo_auth.server.kernel_key import KernelKey

pytestmark = pytest.mark.slow

# --- the kernel key file -----------------------------------------------------------------------------------


def test_key_file_replaces_a_symlink_instead_of_following_it(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched")
    key = KernelKey(tmp_path / "runtime", pid=4242)
    key.path.parent.mkdir(mode=0o700)
    key.path.symlink_to(victim)
    key.write("http://127.0.0.1:1/", "https://openeo.cloud")
    assert victim.read_text() == "untouched"
    assert not key.path.is_symlink() and json.loads(key.path.read_text())["key"] == key.key
    assert stat.S_IMODE(key.path.stat().st_mode) == 0o600


def test_key_file_ends_0600_even_when_a_readable_file_was_there(tmp_path):
    key = KernelKey(tmp_path / "runtime", pid=4243)
    key.path.parent.mkdir(mode=0o700)
    key.path.write_text("old")
    key.path.chmod(0o644)
    key.write("http://127.0.0.1:1/", "https://openeo.cloud")
    assert stat.S_IMODE(key.path.stat().st_mode) == 0o600
    assert [p.name for p in key.path.parent.iterdir()] == [key.path.name]  # no temporary file left


def test_a_new_runtime_directory_is_private(tmp_path):
    key = KernelKey(tmp_path / "new-runtime", pid=4244)
    key.write("http://127.0.0.1:1/", "https://openeo.cloud")
    assert stat.S_IMODE(key.path.parent.stat().st_mode) == 0o700


# --- back-end URLs ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given",
    [
        "HTTP://127.0.0.1:8080",
        "http://127.0.0.1:8080/",
        "http://127.0.0.1:8080//",
        "http://127.0.0.1:8080/./",
        "http://127.0.0.1:8080/a/..",
        " http://127.0.0.1:8080 ",
    ],
)
def test_spellings_of_one_backend_give_one_url(given):
    assert normalize_url(given) == "http://127.0.0.1:8080"


@pytest.mark.parametrize(
    "given, expected",
    [
        ("https://OpenEO.Cloud:443/", "https://openeo.cloud"),
        ("http://localhost:80/openeo//1.2/", "http://localhost/openeo/1.2"),
        ("openeo.vito.be/openeo/1.2/./", "https://openeo.vito.be/openeo/1.2"),
    ],
)
def test_scheme_host_port_and_path_are_normalised(given, expected):
    assert normalize_url(given) == expected


@pytest.mark.parametrize("given", ["https://openeo.cloud/?x=1", "https://openeo.cloud#frag", "https://openeo.cloud?"])
def test_a_query_or_fragment_is_refused(given):
    with pytest.raises(InvalidBackendUrl, match="query or fragment"):
        normalize_url(given)


async def test_two_spellings_share_one_session(stack, api, alice):
    await api.login(stack.backend.url, alice)
    port = stack.backend.url.rsplit(":", 1)[1]
    code, token = await api.post("token", backend=f"HTTP://127.0.0.1:{port}//./")
    assert code == 200 and token["user"]["sub"] == "alice"
    code, data = await api.post("token", backend=f"{stack.backend.url}/?debug=1")
    assert code == 400 and data["reason"] == "invalid_backend_url" and "query" in data["message"]


# --- logout tells the truth ---------------------------------------------------------------------------------


@pytest.mark.parametrize("revocation, says", [(None, "offers no revocation"), ("/revoke-refuses", "refused to revoke")])
async def test_logout_says_when_the_login_could_not_be_revoked(stack, api, alice, broker, faults, revocation, says):
    await api.login(stack.backend.url, alice)
    session = next(iter(broker.sessions.values()))
    session.client.metadata = dataclasses.replace(
        session.client.metadata, revocation_endpoint=revocation and faults.url + revocation
    )
    code, data = await api.delete("sessions", backend=stack.backend.url)
    assert code == 200 and data["logged_out"] == 1 and data["revoked"] is False
    assert says in data["message"] and "Logged out here" in data["message"]


# --- settings ----------------------------------------------------------------------------------------------------


def start_server(tmp_path, argv=(), config=None):
    """A real Jupyter server process with this extension, configured by command line or config file."""
    token = secrets.token_hex(16)
    server = jupyter_service(tmp_path, token=token, argv=argv, config=config, env={"JOA_TEST_SECRET": SERVICE_SECRET})
    return server.start(), token


def service_login(server, token, backend):
    resp = requests.post(
        f"{server.url}/openeo-auth/api/logins",
        json={"backend": backend, "flow": "client_credentials"},
        headers={"Authorization": f"token {token}"},
        timeout=30,
    )
    return resp.status_code, resp.json() if resp.headers.get("Content-Type", "").startswith(
        "application/json"
    ) else resp.text


def test_service_accounts_from_the_command_line_and_a_config_file(stack, tmp_path):
    entry = {"backend": stack.backend.url, "client_id": "openeo-service", "secret_env": "JOA_TEST_SECRET"}
    for argv, config in [
        ([f"--OpenEOAuth.client_credentials={json.dumps([entry])}"], None),
        ([], {"OpenEOAuth": {"client_credentials": [entry]}}),
    ]:
        server, token = start_server(tmp_path, argv, config)
        try:
            code, login = service_login(server, token, stack.backend.url)
            assert code == 200 and login["state"] == "logged_in", (code, login, server.log_tail(50))
        finally:
            server.cleanup()


@pytest.mark.parametrize(
    "entry, says",
    [
        ({"backend": "x y", "client_id": "c", "secret_env": "V"}, "needs a valid backend URL"),
        ({"backend": "https://openeo.cloud", "secret_env": "V"}, "needs a client_id"),
        ({"backend": "https://openeo.cloud", "client_id": "c"}, "needs exactly one of"),
        ({"backend": "https://openeo.cloud", "client_id": "c", "client_secret": "s"}, "never hold the secret"),
    ],
)
def test_a_bad_service_account_stops_the_extension_with_a_sentence(stack, tmp_path, entry, says):
    server, token = start_server(tmp_path, [f"--OpenEOAuth.client_credentials={json.dumps([entry])}"])
    try:
        log = server.log_tail(200)
        assert "OpenEOAuth.client_credentials[0]" in log and says in log and "Example:" in log
        assert "jupyter_openeo_auth | extension was successfully loaded" not in log
        with openapi_check.unchecked():
            code, _ = service_login(server, token, stack.backend.url)
        assert code == 404  # no routes: the extension did not load
        if "client_secret" in entry:
            assert "s" == entry["client_secret"]  # the literal secret itself is not echoed in the log:
            assert "'client_secret': 's'" not in log
    finally:
        server.cleanup()


#: Every documented setting, with a value other than its default.
SETTINGS = {
    "default_backend": "https://openeo.example",
    "persist": "never",
    "min_valid": 90.0,
    "refresh_margin": 120.0,
    "http_timeout": 7.0,
    "keyring_timeout": 3.0,
    "client_credentials": [{"backend": "https://openeo.example", "client_id": "svc", "secret_file": "/nonexistent"}],
    "allowed_backends": ["https://openeo.example", "https://b.example"],
    "trusted_keyring": "keyrings.FileKeyring",
    "max_pending_logins": 7,
}


def command_line(name, value) -> list:
    if isinstance(value, list) and name == "allowed_backends":  # a list of strings: the option repeated
        return [f"--OpenEOAuth.{name}={v}" for v in value]
    return [f"--OpenEOAuth.{name}={value if isinstance(value, str) else json.dumps(value)}"]


def taken(serverapp) -> dict:
    app = serverapp.extension_manager.extension_apps["jupyter_openeo_auth"]
    assert len(app) == 1
    app = next(iter(app))
    return {name: getattr(app, name) for name in SETTINGS}


class TestEverySettingOnTheCommandLine:
    @pytest.fixture
    def jp_server_config(self):
        from traitlets.config import Config

        return Config({"ServerApp": {"jpserver_extensions": {"jupyter_openeo_auth": True}}})

    @pytest.fixture
    def jp_argv(self):
        return [arg for name, value in SETTINGS.items() for arg in command_line(name, value)]

    def test_each_is_taken(self, jp_serverapp):
        assert taken(jp_serverapp) == SETTINGS


class TestEverySettingInAConfigFile:
    @pytest.fixture
    def jp_server_config(self):
        from traitlets.config import Config

        return Config({"ServerApp": {"jpserver_extensions": {"jupyter_openeo_auth": True}}, "OpenEOAuth": SETTINGS})

    def test_each_is_taken(self, jp_serverapp):
        assert taken(jp_serverapp) == SETTINGS
