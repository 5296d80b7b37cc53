"""Existing openEO notebooks, unchanged: the openeo client's own `authenticate_oidc()` and friends use the
server's login, and "Run All" on a notebook with `%openeo_login` works (real provider, back-end, kernels)."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from pathlib import Path

import nbformat
import pytest
from conftest import SERVICE_SECRET, server_config
from kernels import KernelError, kernel, manager_of
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from test_kernel import approve_pending

from jupyter_openeo_auth.demo import demo_notebook
from jupyter_openeo_auth.devstack import backend_service
from jupyter_openeo_auth.devstack.user import ProviderUser
from jupyter_openeo_auth.kernel import openeo_client

pytestmark = pytest.mark.slow

#: The one line of IPython kernel configuration the README shows.
KERNEL_CONFIG = 'c.IPKernelApp.extensions = ["jupyter_openeo_auth"]\n'


@pytest.fixture
def kernel_env(tmp_path, monkeypatch):
    """The folder where the openeo client would write its refresh tokens, for kernels started from now on."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path / "data" / "openeo-python-client" / "refresh-tokens.json"


def tutorial(url: str, arguments: str = "") -> nbformat.NotebookNode:
    """A notebook as the openEO tutorials write it: nothing of this package in it."""
    return nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                f"import openeo\n\nconnection = openeo.connect({url!r}).authenticate_oidc({arguments})"
            ),
            nbformat.v4.new_code_cell("connection.describe_account()['user_id']"),
        ]
    )


def own_refresh_token(client, user) -> str:
    """A refresh token the user got on their own (their laptop's openeo client, say), not through the server."""
    auth = client.start_device_authorization()
    user.approve(auth.verification_uri_complete, auth.user_code)
    while True:
        time.sleep(auth.seconds_to_next_poll())
        tokens = auth.poll()
        if tokens:
            return tokens.refresh_token


def text(cell) -> str:
    return "".join(o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in cell.outputs)


@pytest.mark.parametrize("path", ["", "/openeo/1.1/"], ids=["as-logged-in", "versioned-url"])
async def test_a_tutorial_notebook_uses_the_servers_login_with_nothing_to_load(
    stack, jp_serverapp, broker, api, alice, kernel_env, provider_stats, path
):
    # Logged in (in the dialog, say) at the back-end's URL; a tutorial may name its versioned API instead.
    await api.login(stack.backend.url, alice)
    authorizations = provider_stats()["device_authorization"]
    async with kernel(jp_serverapp) as k:
        nb = tutorial(stack.backend.url + path)
        await NotebookClient(nb, km=manager_of(jp_serverapp, k), timeout=60).async_execute()
    assert text(nb.cells[1]) == "'alice'"
    assert "Authenticated as Alice Liddell with the Jupyter server's openEO login" in text(nb.cells[0])
    assert provider_stats()["device_authorization"] == authorizations  # no device flow in the kernel
    assert not kernel_env.exists()  # no refresh-token file


async def test_a_tutorial_notebook_waits_for_the_servers_login(
    stack, jp_serverapp, broker, api, kernel_env, provider_stats
):
    async with kernel(jp_serverapp) as k:
        nb = tutorial(stack.backend.url)
        run = NotebookClient(nb, km=manager_of(jp_serverapp, k), timeout=60).async_execute()
        await asyncio.gather(run, approve_pending(broker, ProviderUser("bob")))
    assert text(nb.cells[1]) == "'bob'"
    shown = [o for o in nb.cells[0].outputs if o["output_type"] == "display_data"]
    # The product's widget, not openeo's printed link; run headless, its text says where to approve.
    said = shown[0]["data"]["text/plain"]
    assert re.match(
        rf"openEO login to {re.escape(stack.backend.url)}: open http\S+, log in there and enter the code \S+", said
    )
    assert "application/vnd.jupyter.widget-view+json" in shown[0]["data"]
    _, listed = await api.get("sessions")
    assert [(s["backend"], s["user"]["sub"]) for s in listed["sessions"]] == [(stack.backend.url, "bob")]
    assert not kernel_env.exists()


async def test_a_tutorial_naming_another_client_logs_in_with_that_client(
    stack, jp_serverapp, broker, api, alice, kernel_env
):
    await api.login(stack.backend.url, alice)  # with the back-end's default client
    async with kernel(jp_serverapp) as k:
        nb = tutorial(stack.backend.url, 'client_id="openeo-norotate"')
        run = NotebookClient(nb, km=manager_of(jp_serverapp, k), timeout=60).async_execute()
        await asyncio.gather(run, approve_pending(broker, ProviderUser("bob")))
    assert text(nb.cells[1]) == "'bob'"
    _, listed = await api.get("sessions")
    assert [(s["user"]["sub"], s["client_id"]) for s in listed["sessions"]] == [("bob", "openeo-norotate")]
    assert not kernel_env.exists()


async def test_a_login_cancelled_in_jupyterlab_ends_the_waiting_call(stack, jp_serverapp, broker, api, kernel_env):
    async with kernel(jp_serverapp) as k:
        waiting = asyncio.ensure_future(
            k.execute(
                f"import openeo\nopeneo.connect({stack.backend.url!r}).authenticate_oidc_device(provider_id='local')"
            )
        )
        for _ in range(100):
            pending = [login for login in broker.logins.values() if login.pending]
            if pending:
                break
            await asyncio.sleep(0.1)
        await api.delete(f"logins/{pending[0].id}")  # the JupyterLab dialog's Cancel
        error = await waiting
    assert error["ename"] == "LoginEnded" and error["evalue"] == "The login was cancelled."


async def test_max_poll_time_is_honoured(stack, jp_serverapp, broker, kernel_env):
    async with kernel(jp_serverapp) as k:
        error = await k.execute(
            f"import openeo\nopeneo.connect({stack.backend.url!r}).authenticate_oidc(max_poll_time=2)"
        )
    assert error["ename"] == "LoginEnded" and "Nobody approved the openEO login within 2 s" in error["evalue"]
    assert not any(login.pending for login in broker.logins.values())  # cancelled on the server too


async def test_client_credentials_without_a_secret_use_the_servers_service_account(
    stack, jp_serverapp, broker, kernel_env
):
    async with kernel(jp_serverapp) as k:
        out = await k.run(
            f"import openeo\ncon = openeo.connect({stack.backend.url!r}).authenticate_oidc_client_credentials()\n"
            "print(type(con.auth).__name__, con.auth.flow, con.auth.token().user['sub'])"
        )
    assert out.split("\n")[-2] == "ServerTokenAuth client_credentials openeo-service" and SERVICE_SECRET not in out


async def test_what_the_user_spelled_out_goes_to_the_openeo_client(
    stack, jp_serverapp, broker, api, alice, kernel_env, oidc_client, provider_stats
):
    await api.login(stack.backend.url, alice)
    refresh_token = await asyncio.to_thread(own_refresh_token, oidc_client("openeo-norotate"), alice)
    async with kernel(jp_serverapp) as k:
        refreshes = provider_stats()["refresh_token"]
        out = await k.run(
            textwrap.dedent(f"""\
            import openeo
            con = openeo.connect({stack.backend.url!r})
            con.authenticate_oidc_refresh_token(client_id="openeo-norotate", refresh_token={refresh_token!r},
                                                provider_id="local")
            print(type(con.auth).__name__, con.describe_account()['user_id'])
            token = con.auth.bearer.split("/")[-1]
            other = openeo.connect({stack.backend.url!r}).authenticate_oidc_access_token(token, provider_id="local")
            print(type(other.auth).__name__, other.describe_account()['user_id'])
            svc = openeo.connect({stack.backend.url!r}).authenticate_oidc_client_credentials(
                client_id="openeo-service", client_secret={SERVICE_SECRET!r}, provider_id="local")
            print(type(svc.auth).__name__)
        """)
        )
        assert out.split("\n")[-4:] == ["OidcBearerAuth alice", "OidcBearerAuth alice", "OidcBearerAuth", ""]
        assert provider_stats()["refresh_token"] == refreshes + 1  # the openeo client's own refresh


async def test_the_switch_turns_the_take_over_off(stack, jp_serverapp, broker, api, alice, kernel_env):
    await api.login(stack.backend.url, alice)
    async with kernel(jp_serverapp) as k:
        error = await k.execute(
            f"import os, openeo\nos.environ['JUPYTER_OPENEO_AUTH_OPENEO_CLIENT'] = 'off'\n"
            f"openeo.connect({stack.backend.url!r}).authenticate_oidc_refresh_token()"
        )
    assert error["ename"] == "OpenEoClientException" and "No refresh token" in error["evalue"]


def test_without_a_server_the_openeo_client_behaves_as_before(stack, tmp_path):
    script = textwrap.dedent(f"""\
        import jupyter_openeo_auth.kernel.openeo_client as joa
        joa.install()
        import openeo
        try:
            openeo.connect({stack.backend.url!r}).authenticate_oidc_refresh_token()
        except Exception as e:
            print(type(e).__name__, e)
    """)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.startswith("OpenEoClientException") and "No refresh token" in out.stdout, out


def test_an_unknown_openeo_client_keeps_its_own_login():
    class Connection:  # a future openeo client whose authenticate_oidc has another signature
        def authenticate_oidc(self, provider_id=None, *, new_option=None):
            return "its own"

        def authenticate_oidc_device(
            self,
            client_id=None,
            client_secret=None,
            provider_id=None,
            *,
            store_refresh_token=False,
            use_pkce=None,
            max_poll_time=300,
            **kwargs,
        ):
            return "its own device flow"

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        openeo_client.install(Connection)
        openeo_client.install(Connection)  # loaded twice: no second patch, no second warning for the patched one
    try:
        assert Connection().authenticate_oidc() == "its own"
        assert Connection.authenticate_oidc_device._joa_original is not None
        about = [str(w.message) for w in caught]
        assert len([m for m in about if "authenticate_oidc()" in m]) == 2 and len(about) == 2
    finally:
        openeo_client.uninstall(Connection)
    assert not hasattr(Connection.authenticate_oidc_device, "_joa_original")


def test_the_oldest_openeo_client_the_package_accepts_is_known(tmp_path):
    """pyproject.toml accepts openeo from some version on; that client's methods have the signatures this module
    knows, so it takes over without the unknown-client warning (the suite runs with the newest one)."""
    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    [oldest] = set(re.findall(r'"openeo>=([\d.]+)"', pyproject))
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(tmp_path), f"openeo=={oldest}"],
        check=True,
        timeout=300,
    )
    script = textwrap.dedent("""\
        import warnings
        warnings.simplefilter("error")  # the unknown-client warning would end this script
        import openeo
        from openeo.rest.connection import Connection
        from jupyter_openeo_auth.kernel import openeo_client
        openeo_client.install(Connection)
        taken_over = [hasattr(getattr(Connection, name), "_joa_original") for name in openeo_client.KNOWN]
        # A connection the server logs in carries this client's own kind of bearer auth.
        from openeo.rest.auth.auth import BearerAuth, OidcBearerAuth
        from jupyter_openeo_auth.kernel.auth import ServerTokenAuth, for_openeo
        class Server:  # what the Jupyter server answers POST token with
            def token(self, *args):
                return {"access_token": "t0ken", "expires_at": None, "provider_id": "egi"}
        auth = for_openeo(ServerTokenAuth(Server(), "https://openeo.example"))
        kind = isinstance(auth, OidcBearerAuth) and isinstance(auth, BearerAuth) and auth.bearer == "oidc/egi/t0ken"
        refresh = getattr(Connection, "try_access_token_refresh", None)
        print(openeo.__version__, all(taken_over), kind, refresh is None or hasattr(refresh, "_joa_original"))
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    version, *checks = done.stdout.split() or [""]
    assert version.startswith(oldest) and checks == ["True", "True", "True"], done.stderr


async def test_run_all_on_the_demo_notebook_waits_for_the_login(stack, jp_serverapp, broker):
    async with kernel(jp_serverapp) as k:
        nb = demo_notebook(stack.backend.url)
        run = NotebookClient(nb, km=manager_of(jp_serverapp, k), timeout=60).async_execute()
        await asyncio.gather(run, approve_pending(broker, ProviderUser("alice")))
    account = [c for c in nb.cells if c.cell_type == "code"][-1]
    assert "'user_id': 'alice'" in text(account)


async def test_run_all_without_approval_stops_with_the_logins_sentence(stack, jp_serverapp, broker):
    nb = demo_notebook(stack.backend.url)
    login = next(c for c in nb.cells if "%openeo_login" in c.source)
    login.source += " --client-id openeo-shortcode"  # device codes that expire after 3 s
    async with kernel(jp_serverapp) as k:
        with pytest.raises(CellExecutionError) as stopped:
            await NotebookClient(nb, km=manager_of(jp_serverapp, k), timeout=60).async_execute()
    assert "LoginEnded" in str(stopped.value) and "expired" in str(stopped.value)
    assert "NameError" not in str(stopped.value)


async def test_run_all_with_a_displayed_login_widget_binds_the_connection(stack, jp_serverapp, broker):
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(f"import jupyter_openeo_auth as joa\n\njoa.login({stack.backend.url!r})"),
            nbformat.v4.new_code_cell("connection.describe_account()['user_id']"),
        ]
    )
    async with kernel(jp_serverapp) as k:
        run = NotebookClient(nb, km=manager_of(jp_serverapp, k), timeout=60).async_execute()
        await asyncio.gather(run, approve_pending(broker, ProviderUser("alice")))
    assert "openEO login to " in text(nb.cells[0]) and "'alice'" in text(nb.cells[1])
    # Logged in now: the same cell binds an authenticated connection at once, and says so.
    async with kernel(jp_serverapp) as k:
        await NotebookClient(nb, km=manager_of(jp_serverapp, k), timeout=60).async_execute()
    assert "Logged in: `connection` is an authenticated" in text(nb.cells[0]) and "'alice'" in text(nb.cells[1])


class TestWithoutLoadingIntoKernels:
    """A server with `load_in_kernels = False`: kernels load the extension themselves, or do without."""

    @pytest.fixture
    def jp_server_config(self, stack, monkeypatch, tmp_path):
        monkeypatch.setenv("JOA_TEST_SERVICE_SECRET", SERVICE_SECRET)
        users_startup = tmp_path / "startup.py"
        users_startup.write_text("users_startup_ran = True\n")
        monkeypatch.setenv("PYTHONSTARTUP", str(users_startup))
        return server_config(stack, load_in_kernels=False)

    async def test_the_one_line_of_kernel_configuration_loads_it(
        self, stack, jp_serverapp, broker, api, alice, kernel_env, tmp_path, monkeypatch
    ):
        await api.login(stack.backend.url, alice)
        async with kernel(jp_serverapp) as k:  # nothing loaded: the openeo client as it was
            error = await k.execute(
                f"import openeo\nopeneo.connect({stack.backend.url!r}).authenticate_oidc_refresh_token()"
            )
            assert error["ename"] == "OpenEoClientException" and "No refresh token" in error["evalue"]
            assert (await k.run("print(users_startup_ran)")).strip() == "True"
        profile = tmp_path / "ipython" / "profile_default"
        profile.mkdir(parents=True)
        (profile / "ipython_kernel_config.py").write_text(KERNEL_CONFIG)
        monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
        async with kernel(jp_serverapp) as k:
            out = await k.run(
                f"import openeo\ncon = openeo.connect({stack.backend.url!r}).authenticate_oidc_refresh_token()\n"
                "print(con.describe_account()['user_id'])"
            )
            assert out.split("\n")[-2] == "alice"


class TestUsersOwnStartupFile:
    @pytest.fixture
    def jp_server_config(self, stack, monkeypatch, tmp_path):
        users_startup = tmp_path / "startup.py"
        users_startup.write_text("users_startup_ran = 'yes'\n")
        monkeypatch.setenv("PYTHONSTARTUP", str(users_startup))  # the user's, before the server starts
        return server_config(stack)

    async def test_it_still_runs_after_ours(self, stack, jp_serverapp, broker, tmp_path):
        async with kernel(jp_serverapp) as k:
            out = await k.run("print(users_startup_ran, 'openeo_login' in get_ipython().magics_manager.magics['line'])")
        assert out.split() == ["yes", "True"]


def test_a_terminals_python_without_the_package_starts_as_before(tmp_path):
    """Terminals inherit the kernels' PYTHONSTARTUP: a `python` prompt there, even of an environment without
    this package, starts without an error, leaves no name behind and runs the user's own startup file."""
    from jupyter_openeo_auth.kernel.autoload import STARTUP_FILE, USERS_STARTUP

    users = tmp_path / "mine.py"
    users.write_text("mine = 42\n")
    env = {"PATH": os.defpath, "HOME": str(tmp_path), "PYTHONSTARTUP": STARTUP_FILE, USERS_STARTUP: str(users)}
    done = subprocess.run(
        [sys.executable, "-S", "-i"],  # -S: no site-packages, so no jupyter_openeo_auth
        input="print('names', sorted(k for k in globals() if not k.startswith('__')))\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert "names ['mine']" in done.stdout


def job_manager_run(folder: Path) -> str:
    """The MultiBackendJobManager example of the openEO community, for `con` (a connection of the notebook): one
    job, started by the manager's start thread; prints the job's status once the start went through."""
    return textwrap.dedent(f"""\
        import time
        import pandas as pd
        from openeo.extra.job_management import MultiBackendJobManager, CsvJobDatabase
        manager = MultiBackendJobManager(poll_sleep=1, root_dir={str(folder)!r})
        manager.add_backend("dummy", connection=con, parallel_jobs=1)
        def start_job(row, connection, **kwargs):
            return connection.load_collection("S2_FOOBAR").create_job(title="from the job manager")
        db = CsvJobDatabase({str(folder / "jobs.csv")!r}).initialize_from_df(pd.DataFrame({{"year": [2024]}}))
        manager.start_job_thread(start_job, job_db=db)
        deadline, status = time.time() + 60, None
        while time.time() < deadline:
            time.sleep(1)
            try:
                status = db.read()["status"][0]
            except Exception:  # the manager's thread is rewriting the file
                continue
            if status not in ("not_started", "created", "queued_for_start", "queued"):
                break
        manager.stop_job_thread()
        print(status)
    """)


async def test_a_connection_the_server_logged_in_is_one_the_openeo_client_knows(
    stack, jp_serverapp, broker, api, alice, kernel_env, tmp_path
):
    """Issue 28: the connection carries the openeo client's own kind of bearer auth, so the parts of the client
    that look at `connection.auth` work: as_curl, try_access_token_refresh, and MultiBackendJobManager, whose
    job start threads connect anew with `connection.auth.bearer` (they ended `start_failed`, 401, before). The
    job manager's run ends as it does with a connection the openeo client authenticated itself."""
    await api.login(stack.backend.url, alice)
    url = stack.backend.url
    checks = textwrap.dedent(f"""\
        import openeo
        from openeo.rest.auth.auth import OidcBearerAuth
        con = openeo.connect({url!r}).authenticate_oidc()
        print(isinstance(con.auth, OidcBearerAuth), type(con.auth).__name__)
        curl = con.as_curl(con.load_collection("S2_FOOBAR"), obfuscate_auth=False)
        print("Authorization: Bearer oidc/local/" in curl, con.try_access_token_refresh())
        print(openeo.connect({url!r}).authenticate_bearer_token(con.auth.bearer).describe_account()["user_id"])
    """)
    async with kernel(jp_serverapp) as k:
        out = (await k.run(checks + job_manager_run(tmp_path / "with"), timeout=120)).strip().splitlines()
        # The same run with the openeo client's own authentication (a token it holds itself), take-over off.
        own = (
            "%unload_ext jupyter_openeo_auth\nimport jupyter_openeo_auth as joa\n"
            f"con = openeo.connect({url!r}).authenticate_oidc_access_token(joa.get_token({url!r}).value, 'local')\n"
            "print(type(con.auth).__name__)\n"
        )
        (tmp_path / "without").mkdir()
        without = (await k.run(own + job_manager_run(tmp_path / "without"), timeout=120)).strip().splitlines()
    for line in ("True ServerTokenAuth", "True True", "alice"):
        assert line in out, out
    assert "OidcBearerAuth" in without and without[-1] == "running", without  # the dummy's started job
    assert out[-1] == without[-1], out
    # The server renews: no "Failed to proactively refresh bearer token" (a token held alone cannot be renewed).
    assert not [line for line in out if "Failed to proactively refresh" in line], out


#: How the openEO community's notebooks log in (17 public notebooks in 9 repositories): the authentication
#: cells' patterns, the back-end's URL the only change. Each leaves a connection in `con`; run in this order in
#: one kernel, as a user working through several notebooks would.
COMMUNITY_PATTERNS = {
    "one line": "import openeo\ncon = openeo.connect(URL).authenticate_oidc()",
    "connect, then log in": "connection = openeo.connect(url=URL)\nconnection.authenticate_oidc()\ncon = connection",
    "provider named": "con = openeo.connect(URL).authenticate_oidc(provider_id='local')",
    "device flow named": "con = openeo.connect(URL)\ncon.authenticate_oidc_device()",
    "no validation, poll time": "con = openeo.connect(URL, auto_validate=False).authenticate_oidc(max_poll_time=60)",
    "refresh token": "con = openeo.connect(URL)\ncon.authenticate_oidc_refresh_token()",
    "module-level connect": "from openeo import connect\ncon = connect(URL)\ncon.authenticate_oidc()",
}
#: What a notebook does with the connection next, summed up per pattern.
SUMMARY = (
    "from openeo.rest.auth.auth import BearerAuth\n"
    "print(con.describe_account()['user_id'], isinstance(con.auth, BearerAuth), "
    "con.auth.bearer.startswith('oidc/local/'), 'S2_FOOBAR' in con.list_collection_ids(), "
    "isinstance(con.list_jobs(), list))\n"
    "print(con.try_access_token_refresh())"
)


def approving(user: ProviderUser):
    """A person reading a cell's output as it runs: whatever login link and code it shows (the openeo client's
    own device flow, or this package's widget), they approve once, in another window (a thread)."""
    approved: set[str] = set()

    def watch(msg) -> None:
        data = msg["content"].get("data") or {"text/plain": msg["content"].get("text", "")}
        for shown in data.values():
            found = re.search(r"(http://[^\s\"'<>]+user_code=([A-Z0-9-]+))", str(shown))
            if found and found.group(2) not in approved:
                approved.add(found.group(2))
                threading.Thread(target=user.approve, args=found.groups(), daemon=True).start()

    return watch


@pytest.fixture(scope="module")
def keycloak_like_backend(stack):
    """A back-end whose default device client keeps its refresh tokens valid when used, as Keycloak does by
    default (the openeo client does not store the rotated token its own renewals get)."""
    service = backend_service(stack.provider.url, no_user_cache=True, default_client="openeo-norotate").start()
    yield service
    service.cleanup()


async def test_the_communitys_notebooks_log_in_with_and_without_the_extension_alike(
    stack, keycloak_like_backend, jp_serverapp, broker, kernel_env, provider_stats, monkeypatch
):
    """Issue 28: the openEO community's authentication cells, unchanged but for the URL, run in a kernel with
    the take-over and in one without (the openeo client's own device flow and refresh-token file): every
    pattern ends with the same connection, as far as the notebook can tell. With the take-over, one login on
    the server serves them all and no refresh token lands in the kernel's file."""
    watch = approving(ProviderUser("alice"))

    async def run_all(k) -> dict[str, str]:
        results = {}
        for name, cell in COMMUNITY_PATTERNS.items():
            try:
                await k.run(cell.replace("URL", repr(keycloak_like_backend.url)), timeout=120, watch=watch)
                results[name] = (await k.run(SUMMARY)).strip()
            except KernelError as e:
                raise KernelError(f"{name}: {e}") from None
        return results

    authorizations = provider_stats().get("device_authorization", 0)
    async with kernel(jp_serverapp) as k:
        taken_over = await run_all(k)
    assert provider_stats().get("device_authorization", 0) == authorizations + 1  # one login, on the server
    assert not kernel_env.exists()
    monkeypatch.setenv(openeo_client.SWITCH, "off")
    async with kernel(jp_serverapp) as k:
        own = await run_all(k)
    assert kernel_env.exists()  # the openeo client's own login, with its refresh-token file
    assert {name: summary.split("\n")[0] for name, summary in own.items()} == dict.fromkeys(
        COMMUNITY_PATTERNS, "alice True True True True"
    )
    assert {name: summary.split("\n")[0] for name, summary in taken_over.items()} == {
        name: summary.split("\n")[0] for name, summary in own.items()
    }
    # The server renews every one of them; the openeo client alone cannot after `authenticate_oidc_device()`.
    assert {summary.split("\n")[1] for summary in taken_over.values()} == {"True"}


async def test_unload_ext_turns_the_take_over_off_and_load_ext_on_again(stack, jp_serverapp, broker, kernel_env):
    check = (
        "from openeo.rest.connection import Connection\n"
        "print(hasattr(Connection.authenticate_oidc, '_joa_original'), "
        "hasattr(Connection.try_access_token_refresh, '_joa_original'))"
    )
    async with kernel(jp_serverapp) as k:  # the server loaded the extension at the kernel's start
        assert (await k.run("%load_ext jupyter_openeo_auth")) == ""  # a tutorial's line: loaded, quietly
        assert (await k.run(check)).split() == ["True", "True"]
        assert (await k.run("%unload_ext jupyter_openeo_auth")) == ""  # not "not loaded"
        assert (await k.run(check)).split() == ["False", "False"]
        assert (await k.run("%load_ext jupyter_openeo_auth")) == ""
        assert (await k.run(check)).split() == ["True", "True"]


async def test_the_users_pythonstartup_runs_as_if_alone(stack, jp_serverapp, broker, tmp_path, monkeypatch):
    """Issue 28: the user's own PYTHONSTARTUP sees its own __file__, sys.argv[0] and folder (a helper beside it
    imports; a module of theirs named client is theirs), its encoding line counts, and sys.path is put back."""
    folder = tmp_path / "startup"
    folder.mkdir()
    (folder / "client.py").write_text("WHOSE = 'mine'\n")
    (folder / "helper.py").write_text("GREETING = 'hello from my helper'\n")
    startup = folder / "startup.py"
    startup.write_bytes(
        "# -*- coding: latin-1 -*-\n"
        "import os, sys, client, helper\n"
        "ITS_FILE, ITS_ARGV0, ITS_FOLDER = __file__, sys.argv[0], sys.path[0]\n"
        "WHOSE, GREETING, NAME = client.WHOSE, helper.GREETING, 'Müller'\n".encode("latin-1")
    )
    # The server is started with the user's PYTHONSTARTUP set: it keeps it for its kernels (see autoload).
    monkeypatch.setenv("JUPYTER_OPENEO_AUTH_PYTHONSTARTUP", str(startup))
    async with kernel(jp_serverapp) as k:
        out = await k.run(
            "import sys\nprint(ITS_FILE, ITS_ARGV0, ITS_FOLDER, WHOSE, GREETING, NAME, sep='|')\n"
            f"print({str(folder)!r} in sys.path, 'openeo_login' in get_ipython().magics_manager.magics['line'])"
        )
    said, after = out.strip().splitlines()
    assert said.split("|") == [str(startup), str(startup), str(folder), "mine", "hello from my helper", "Müller"]
    assert after == "False True"  # its folder left sys.path again; the extension loaded


async def test_a_users_request_mocks_neither_catch_nor_see_the_servers_calls(stack, jp_serverapp, broker, api, alice):
    """Issue 28: a user's test with requests_mock active (the openeo client's own suite) does not catch the
    take-over's calls to the Jupyter server (NoMockAddress, not a RequestException, ended them before)."""
    await api.login(stack.backend.url, alice)
    async with kernel(jp_serverapp) as k:
        out = await k.run(
            "import requests_mock, jupyter_openeo_auth as joa\n"
            "with requests_mock.Mocker() as mocked:\n"
            f"    token = joa.get_token({stack.backend.url!r})\n"
            "print(token.remaining() > 0, mocked.call_count)"
        )
    assert out.split() == ["True", "0"]


async def test_store_refresh_token_says_once_that_the_server_keeps_the_login(
    stack, jp_serverapp, broker, api, alice, kernel_env
):
    await api.login(stack.backend.url, alice)
    call = f"openeo.connect({stack.backend.url!r}).authenticate_oidc(store_refresh_token=True)"
    async with kernel(jp_serverapp) as k:
        first = await k.run(f"import openeo\ncon = {call}")
        again = await k.run(f"con = {call}")
        assert "the Jupyter server keeps this login" in first and "jupyter_openeo_auth.logout(" in first
        assert "the Jupyter server keeps this login" not in again and not kernel_env.exists()
        # The documented way to a fresh login: log out on the server first.
        out = await k.run(
            f"import jupyter_openeo_auth as joa\nprint(joa.logout({stack.backend.url!r})['logged_out'])\n"
            f"try:\n    joa.get_token({stack.backend.url!r})\nexcept joa.NotLoggedIn:\n    print('not logged in')"
        )
    assert out.split("\n")[:2] == ["1", "not logged in"]


async def test_the_openeo_clients_own_configuration_is_honoured(
    stack, jp_serverapp, broker, api, alice, kernel_env, tmp_path, monkeypatch
):
    """A client id saved with `openeo-auth add-oidc` (auth-config.json) makes the server's login; a provider the
    back-end does not list gets the openeo client's own sentence."""
    from openeo.rest.auth.config import AuthConfig

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # the kernel's too: it starts after this
    AuthConfig().set_oidc_client_config(stack.backend.url, "local", client_id="openeo-norotate")
    await api.login(stack.backend.url, alice)  # with the back-end's default client
    async with kernel(jp_serverapp) as k:
        unknown = await k.execute(
            f"import openeo\nopeneo.connect({stack.backend.url!r}).authenticate_oidc(provider_id='x')"
        )
        assert unknown["ename"] == "OpenEoClientException"
        assert unknown["evalue"] == "Requested OIDC provider 'x' not available. Should be one of ['local']."
        run = k.run(
            f"con = openeo.connect({stack.backend.url!r}).authenticate_oidc()\nprint(con.describe_account()['user_id'])"
        )
        out, _ = await asyncio.gather(run, approve_pending(broker, ProviderUser("alice")))
    assert out.strip().endswith("alice")
    _, listed = await api.get("sessions")
    assert [s["client_id"] for s in listed["sessions"]] == ["openeo-norotate"]  # the configured client's login
    assert not kernel_env.exists()


#: The secret of the provider's `openeo-confidential` client (a user's own, saved with `openeo-auth add-oidc`).
CONFIDENTIAL_SECRET = "confidential-secret-canary-5f1c"


async def test_a_client_secret_saved_by_openeo_auth_makes_the_servers_login(
    stack, jp_serverapp, broker, api, kernel_env, tmp_path, monkeypatch, caplog
):
    """A client id *and secret* saved with `openeo-auth add-oidc`: the server's login is made with that
    confidential client (the secret goes to the server once), it renews with it, and the secret shows nowhere."""
    from openeo.rest.auth.config import AuthConfig

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    AuthConfig().set_oidc_client_config(
        stack.backend.url, "local", client_id="openeo-confidential", client_secret=CONFIDENTIAL_SECRET
    )
    async with kernel(jp_serverapp) as k:
        run = k.run(
            f"import openeo\ncon = openeo.connect({stack.backend.url!r}).authenticate_oidc()\n"
            "print(con.describe_account()['user_id'])\nprint(repr(con.auth), vars(con.auth))"
        )
        out, _ = await asyncio.gather(run, approve_pending(broker, ProviderUser("alice")))
    assert "alice" in out and CONFIDENTIAL_SECRET not in out
    session = next(iter(broker.sessions.values()))
    assert session.client.client_id == "openeo-confidential"
    _, listed = await api.get("sessions")
    assert [s["client_id"] for s in listed["sessions"]] == ["openeo-confidential"]
    refreshes = session.refresh_count
    await asyncio.sleep(max(0.0, session.tokens.remaining() - 7))  # 10 s tokens: 7 s left, then ask for 8
    code, token = await api.post("token", backend=stack.backend.url, min_valid=8)
    assert code == 200 and session.refresh_count > refreshes  # the provider took the secret for the refresh
    assert CONFIDENTIAL_SECRET not in str(listed) + str(token) + caplog.text
    assert not kernel_env.exists()


async def test_a_client_secret_without_its_client_id_is_refused(stack, api):
    code, answer = await api.post("logins", backend=stack.backend.url, client_secret=CONFIDENTIAL_SECRET)
    assert code == 400 and "client id" in answer["message"] and CONFIDENTIAL_SECRET not in str(answer)


async def test_interrupting_a_waiting_call_cancels_its_login(stack, jp_serverapp, broker, kernel_env):
    """Issue 29: the kernel's Interrupt during `authenticate_oidc()` ends the login on the server too (the status
    bar said "logging in..." for the code's whole life before)."""
    async with kernel(jp_serverapp) as k:
        waiting = asyncio.ensure_future(
            k.execute(f"import openeo\nopeneo.connect({stack.backend.url!r}).authenticate_oidc()")
        )
        for _ in range(100):
            if [login for login in broker.logins.values() if login.pending]:
                break
            await asyncio.sleep(0.1)
        await jp_serverapp.kernel_manager.interrupt_kernel(k.kernel_id)
        error = await waiting
    assert error["ename"] == "KeyboardInterrupt"
    assert not [login for login in broker.logins.values() if login.pending]
