"""In the notebook: connect(), the login widget and %openeo_login, in real kernels started by a real server."""

from __future__ import annotations

import asyncio

import nbformat
import pytest
from conftest import SERVICE_SECRET
from kernels import kernel, manager_of
from nbclient import NotebookClient

from jupyter_openeo_auth.devstack.user import ProviderUser

pytestmark = pytest.mark.slow


async def approve_pending(broker, user, deny=False) -> None:
    """The person at the provider's page: approve (or deny) the one pending login of the server."""
    for _ in range(100):
        pending = [login for login in broker.logins.values() if login.pending]
        if pending:
            auth = pending[0].auth
            answer = user.deny if deny else user.approve
            await asyncio.to_thread(answer, auth.verification_uri_complete, auth.user_code)
            return
        await asyncio.sleep(0.1)
    raise AssertionError("no login became pending")


async def widget_login(k, url: str, broker, user) -> None:
    shown = await k.run(
        f"import jupyter_openeo_auth as joa\nw = joa.login({url!r})\nw.start()\nprint(w.code.value, w.status.value)"
    )
    assert "Open the login page</a>" in shown and "enter this code" in shown and "Copy code</button>" in shown
    assert "<svg" in shown and "The code expires in " in shown  # QR, countdown
    await approve_pending(broker, user)
    assert (await k.run("print(w.wait(60))")).strip() == "logged_in"


async def test_second_notebook_reuses_the_login(stack, jp_serverapp, broker, alice):
    async with kernel(jp_serverapp) as first:
        await widget_login(first, stack.backend.url, broker, alice)
        out = await first.run("print(w.status.value)")
        assert "Logged in as <b>Alice Liddell</b> (alice@example.org) — renewed automatically" in out
    logins_before = len(broker.logins)
    async with kernel(jp_serverapp) as second:  # a second notebook, or the same one after a restart
        out = await second.run(
            "import jupyter_openeo_auth as joa\n"
            f"print(joa.connect({stack.backend.url!r}).describe_account()['user_id'])\n"
            f"w = joa.login({stack.backend.url!r}); print(w.state)"
        )
        assert out.split() == ["alice", "logged_in"]
        title = await second.run("print(w.title.value)")
        assert "Local demo provider" in title and "provider local" not in title  # its title, not its raw id
    assert len(broker.logins) == logins_before  # no new login was started


async def test_headless_notebook_on_a_server_kernel_reuses_the_login(
    stack, jp_serverapp, broker, alice, tmp_path, issued_secrets
):
    async with kernel(jp_serverapp) as k:
        await widget_login(k, stack.backend.url, broker, alice)
        km = manager_of(jp_serverapp, k)
        nb = nbformat.v4.new_notebook(
            cells=[
                nbformat.v4.new_code_cell("%load_ext jupyter_openeo_auth"),
                nbformat.v4.new_code_cell(f"%openeo_login {stack.backend.url} --var con"),
                nbformat.v4.new_code_cell(
                    "import time\nfor _ in range(100):\n    if 'con' in globals(): break\n    time.sleep(0.1)\n"
                    "con.describe_account()['user_id']"
                ),
                nbformat.v4.new_code_cell(
                    f"import jupyter_openeo_auth as joa\ntok = joa.get_token({stack.backend.url!r})\ntok"
                ),
            ]
        )
        client = NotebookClient(nb, km=km, store_widget_state=True, timeout=90)
        await client.async_execute()
        assert nb.cells[2].outputs[0]["data"]["text/plain"] == "'alice'"
        assert "<AccessToken provider='local' valid for" in nb.cells[3].outputs[0]["data"]["text/plain"]
        path = tmp_path / "executed.ipynb"
        nbformat.write(nb, path)
        saved = path.read_text()
        assert "application/vnd.jupyter.widget-state+json" in saved  # JupyterLab's saved-state format
        key = jp_serverapp.web_app.settings["openeo_auth_kernel_key"].key
        canaries = issued_secrets() + [jp_serverapp.identity_provider.token, key]
        assert [c for c in canaries if c in saved] == []


async def test_connection_keeps_working_across_token_lifetimes(stack, jp_serverapp, broker, alice):
    async with kernel(jp_serverapp) as k:
        await widget_login(k, stack.backend.url, broker, alice)
        first_refresh_token = next(iter(broker.sessions.values())).tokens.refresh_token
        out = await k.run(
            f"con = joa.connect({stack.backend.url!r})\nimport time\n"
            "for _ in range(6):\n    print(con.describe_account()['user_id']); time.sleep(6)",
            timeout=120,
        )
        assert out.split() == ["alice"] * 6  # 36 s: more than three 10 s token lifetimes
        session = next(iter(broker.sessions.values()))
        assert session.refresh_count >= 2 and session.tokens.refresh_token != first_refresh_token


async def test_after_logout_the_kernel_gets_not_logged_in(stack, jp_serverapp, broker, alice, api):
    async with kernel(jp_serverapp) as k:
        await widget_login(k, stack.backend.url, broker, alice)
        await k.run(f"con = joa.connect({stack.backend.url!r}); con.describe_account()")
        await api.delete("sessions", backend=stack.backend.url)
        out = await k.run("con.describe_account()", allow_error=True)
        assert out.startswith("NotLoggedIn: Not logged in to") and "%openeo_login" in out
        await widget_login(k, stack.backend.url, broker, alice)
        out = await k.run("w.logout(); print(w.state, w.login_button in w.children, w.status.value)")
        assert out.split() == ["new", "True", "Logged", "out."]
        out = await k.run("con.describe_account()", allow_error=True)
        assert out.startswith("NotLoggedIn: Not logged in to") and "%openeo_login" in out
        out = await k.run(f"joa.connect({stack.backend.url!r})", allow_error=True)
        assert out.startswith("NotLoggedIn")


async def test_magic_binds_the_variable_when_already_logged_in(stack, jp_serverapp, broker, alice):
    async with kernel(jp_serverapp) as k:
        await widget_login(k, stack.backend.url, broker, alice)
    async with kernel(jp_serverapp) as fresh:
        out = await fresh.run(f"%load_ext jupyter_openeo_auth\n%openeo_login {stack.backend.url} --var mycon")
        assert "Logged in: `mycon` is an authenticated openeo.Connection" in out
        assert (await fresh.run("print(mycon.describe_account()['user_id'])")).strip() == "alice"


async def test_magic_without_a_backend_uses_the_servers_default(stack, jp_serverapp, broker, alice):
    async with kernel(jp_serverapp) as k:
        await widget_login(k, stack.backend.url, broker, alice)
        out = await k.run("%load_ext jupyter_openeo_auth\n%openeo_login")
        assert f"`connection` is an authenticated openeo.Connection to {stack.backend.url}." in out


async def test_magic_binds_the_variable_after_a_fresh_login(stack, jp_serverapp, broker):
    async with kernel(jp_serverapp) as k:
        out = await k.run(f"%load_ext jupyter_openeo_auth\n%openeo_login {stack.backend.url}")
        assert "enter the code" in out and "connection" in (await k.run("print(list(globals()))"))  # bound at once
        await approve_pending(broker, ProviderUser("bob"))
        out = await k.run("print(connection.describe_account()['user_id'])")  # waits for the login, if need be
        assert out.strip().endswith("bob")
        shown = await k.run(  # the widget the magic displayed
            "import gc, time\nfrom jupyter_openeo_auth.kernel import LoginWidget\n"
            "w = [o for o in gc.get_objects() if isinstance(o, LoginWidget)][-1]\n"
            "for _ in range(50):\n    if 'Logged in' in w.status.value: break\n    time.sleep(0.1)\n"
            "print(w.status.value)"
        )
        assert "<code>connection</code> is an authenticated openeo.Connection" in shown and "`" not in shown


async def test_magic_with_the_servers_service_account(stack, jp_serverapp, broker):
    async with kernel(jp_serverapp) as k:
        out = await k.run(
            f"%load_ext jupyter_openeo_auth\n%openeo_login {stack.backend.url} --client-credentials --var svc"
        )
        assert "`svc` is an authenticated openeo.Connection" in out
        out = await k.run(
            "import os\nprint('JOA_TEST_SERVICE_SECRET' in os.environ, type(svc.auth).__name__, dict(os.environ))"
        )
        # Kernels inherit the server's environment: the server took the secret out of it before they started.
        assert out.startswith("False ServerTokenAuth") and SERVICE_SECRET not in out


async def test_magic_password_login_asks_with_getpass(stack, jp_serverapp, broker):
    async with kernel(jp_serverapp) as k:
        out = await k.run(
            f"%load_ext jupyter_openeo_auth\n%openeo_login {stack.backend.url} --password alice --var pw",
            stdin="alice-password",
        )
        assert "`pw` is an authenticated openeo.Connection" in out and "alice-password" not in out
        out = await k.run("print(pw.describe_account()['user_id'])\nprint(_ih, _oh, globals().keys())")
        assert out.startswith("alice") and "alice-password" not in out


async def test_widget_offers_a_provider_picker(stack, two_provider_backend, jp_serverapp, broker, alice):
    async with kernel(jp_serverapp) as k:
        out = await k.run(
            f"import jupyter_openeo_auth as joa\nw = joa.login({two_provider_backend.url!r})\n"
            "print(w.picker in w.children, w.picker.options)\nw.picker.value = 'other'\nw.start()"
        )
        assert out.startswith("True (('Local demo provider', 'local'), ('Second local provider', 'other'))")
        await approve_pending(broker, alice)
        assert (await k.run("print(w.wait(60))")).strip() == "logged_in"
        out = await k.run(
            f"tok = joa.get_token({two_provider_backend.url!r}); print(tok.provider_id)\n"
            f"print(joa.connect({two_provider_backend.url!r}, provider_id='other').describe_account()['user_id'])"
        )
        assert out.split() == ["other", "alice"]


async def test_kernel_outputs_and_environment_hold_no_secret(stack, jp_serverapp, broker, alice, issued_secrets):
    async with kernel(jp_serverapp) as k:
        await widget_login(k, stack.backend.url, broker, alice)
        out = await k.run(
            f"con = joa.connect({stack.backend.url!r})\n"
            "import os\nprint(dict(os.environ))\nprint(repr(con), con.auth, w, w.get_state())\n"
            f"tok = joa.get_token({stack.backend.url!r}); print(tok, str(tok), repr(tok))\n"
            "print(joa.kernel.client.server())"
        )
        key = jp_serverapp.web_app.settings["openeo_auth_kernel_key"].key
        assert [c for c in issued_secrets() + [key] if c in out] == []
        assert "JPY_PARENT_PID" in out  # the environment really was printed


async def test_denied_login_shows_why_and_retry_starts_a_new_one(stack, jp_serverapp, broker):
    async with kernel(jp_serverapp) as k:
        first = await k.run(
            f"import jupyter_openeo_auth as joa\nw = joa.login({stack.backend.url!r})\nw.start()\nprint(w.code.value)"
        )
        await approve_pending(broker, ProviderUser("bob"), deny=True)
        out = await k.run("print(w.wait(60)); print(w.status.value); print(w.retry_button in w.children)")
        assert out.startswith("denied\n") and "The login was denied at the provider" in out and out.endswith("True\n")
        out = await k.run("w.retry_button.click(); print(w.state); print(w.code.value)")
        assert out.startswith("pending") and out.split("\n", 1)[1] != first  # a new code
        await approve_pending(broker, ProviderUser("bob"))
        assert (await k.run("print(w.wait(60), w.logout_button in w.children)")).split() == ["logged_in", "True"]


async def test_malicious_verification_uri_is_refused(malicious_backend, jp_serverapp, broker):
    async with kernel(jp_serverapp) as k:
        out = await k.run(
            f"import jupyter_openeo_auth as joa\nw = joa.login({malicious_backend.url!r})\nw.start()\n"
            "print(w.state); print(w.message); print(w.code.value, w.status.value)"
        )
        assert out.startswith("failed\nThe OpenID provider sent a verification address that is not an http(s) link")
        assert "javascript:" not in out
        assert not any(login.pending for login in broker.logins.values())  # the login was cancelled


async def test_kernel_without_a_server_says_so(monkeypatch):
    from jupyter_openeo_auth.kernel.client import NoServer, find_server

    for name in ("JPY_PARENT_PID", "JUPYTER_SERVER_URL", "JUPYTER_OPENEO_AUTH_SERVER"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(NoServer, match="No running Jupyter server with jupyter-openeo-auth was found"):
        find_server(parent_pid="", runtime_dir="/nonexistent")
    with pytest.raises(NoServer, match="does not run jupyter-openeo-auth"):
        find_server(parent_pid="1", runtime_dir="/nonexistent")


async def test_an_error_for_the_user_shows_as_its_sentence(stack, jp_serverapp, broker):
    """connect() before logging in: the one useful sentence, not a traceback through the package's frames."""
    async with kernel(jp_serverapp) as k:
        reply = await k.execute(f"import jupyter_openeo_auth as joa\njoa.connect({stack.backend.url!r})")
        assert reply["ename"] == "NotLoggedIn"
        assert len(reply["traceback"]) == 1 and reply["traceback"][0].startswith("NotLoggedIn: Not logged in to")


async def test_a_widget_follows_a_login_made_elsewhere(stack, jp_serverapp, broker, api, alice):
    async with kernel(jp_serverapp) as k:
        out = await k.run(f"import jupyter_openeo_auth as joa\nw = joa.login({stack.backend.url!r})\nprint(w.state)")
        assert out.strip() == "new"
        await api.login(stack.backend.url, alice)  # in the JupyterLab dialog, say
        out = await k.run(
            "import time\nfor _ in range(30):\n    if w.state != 'new': break\n    time.sleep(0.1)\n"
            "print(w.state, w.logout_button in w.children)"
        )
        assert out.split() == ["logged_in", "True"]


async def test_an_account_the_backend_refuses_is_not_shown_as_logged_in(stack, jp_serverapp, broker, api):
    mark = ProviderUser("mark")
    await api.login(stack.backend.url, mark)
    _, sessions = await api.get("sessions")
    assert "No access for Mark." in sessions["sessions"][0]["account_problem"]
    code, refused = await api.post("token", backend=stack.backend.url)
    assert code == 403 and refused["reason"] == "account_refused" and "virtual organization" in refused["message"]
    async with kernel(jp_serverapp) as k:
        out = await k.run(
            f"import jupyter_openeo_auth as joa\nw = joa.login({stack.backend.url!r})\n"
            "print(w.state); print(w.status.value)"
        )
        assert "does not accept this account yet" in out and "renewed automatically" not in out
        assert "<img" not in out and "&lt;img" in out  # the name is HTML that must not run
        reply = await k.execute(f"joa.connect({stack.backend.url!r}).describe_account()")
        assert "does not accept this account yet" in reply["evalue"]


async def test_widget_escapes_what_it_shows(jp_serverapp, broker):
    async with kernel(jp_serverapp) as k:
        out = await k.run(
            "import jupyter_openeo_auth as joa\nw = joa.login('http://127.0.0.1:9/<script>alert(1)</script>')\n"
            "print(w.state); print(w.title.value); print(w.status.value)"
        )
        assert out.startswith("failed") and "<script>" not in out and "&lt;script&gt;" in out


async def test_a_provider_behind_the_servers_proxy_is_linked_as_a_path_on_the_server(
    stack,
    jp_serverapp,
    broker,
    jp_base_url,
    jp_fetch,
):
    """Binder's case: the provider serves under `{base_url}proxy/absolute/PORT/` on loopback, where
    jupyter-server-proxy forwards the browser's requests unchanged. The login link is then a path on the
    server (the browser's own address of it), flagged as made by the server, and without a QR code; the server
    and the back-end still talk to the provider on 127.0.0.1."""
    import asyncio
    import json

    from jupyter_openeo_auth.devstack import backend_service, free_port, provider_service
    from jupyter_openeo_auth.kernel.client import safe_link

    port = free_port()
    prefix = f"{jp_base_url.rstrip('/')}/proxy/absolute/{port}"
    provider = await asyncio.to_thread(provider_service(port, base_path=prefix).start)
    backend = await asyncio.to_thread(backend_service(provider.issuer).start)
    try:
        resp = await jp_fetch("openeo-auth", "api", "logins", method="POST", body=json.dumps({"backend": backend.url}))
        login = json.loads(resp.body)
        assert login["through_server"] is True and "qr_svg" not in login
        assert login["verification_uri_complete"].startswith(f"{prefix}/device?user_code=")
        async with kernel(jp_serverapp) as k:
            shown = await k.run(
                f"import jupyter_openeo_auth as joa\nw = joa.login({backend.url!r})\nw.start()\nprint(w.code.value)"
            )
            assert f'href="{prefix}/device?user_code=' in shown
            # The person's browser at the page the server's proxy forwards to the provider as it is.
            await asyncio.to_thread(
                ProviderUser("alice").approve, provider.url + login["verification_uri_complete"], login["user_code"]
            )
            assert (await k.run("print(w.wait(60))")).strip() == "logged_in"
            account = await k.run(f"print(joa.connect({backend.url!r}).describe_account()['user_id'])")
            assert account.strip() == "alice"
    finally:
        backend.cleanup()
        provider.cleanup()
    # A path is a link only when the server says it made it; never a path of a provider's choosing, and never
    # another site dressed as a path.
    assert safe_link("/user/x/proxy/absolute/1/device", on_server=True) == "/user/x/proxy/absolute/1/device"
    assert safe_link("/user/x/proxy/absolute/1/device") is None
    for bad in ("//evil.example/device", "/\\evil.example/device", "javascript:alert(1)", "/a b", "http:/x"):
        assert safe_link(bad, on_server=True) is None, bad
    assert safe_link("https://aai.egi.eu/device?user_code=AB") == "https://aai.egi.eu/device?user_code=AB"


async def test_an_unknown_provider_gets_a_sentence_not_a_trait_error(stack, jp_serverapp, broker):
    async with kernel(jp_serverapp) as k:
        out = await k.run(
            f"import jupyter_openeo_auth as joa\nw = joa.login({stack.backend.url!r}, provider_id='x', var=None)\n"
            "print(w.state); print(w.message)"
        )
        magic = await k.run(f"%openeo_login {stack.backend.url} --provider x", allow_error=True)
    expected = "Requested OIDC provider 'x' not available. Should be one of ['local']."
    assert out.split("\n")[:2] == ["failed", expected]
    assert "'x'" in magic and "local" in magic and "TraitError" not in magic  # a sentence naming the listed


async def test_a_kernel_that_never_uses_openeo_loads_little_at_start(jp_serverapp, broker):
    """Every kernel of the server loads the kernel side at start: only what the magic and the import hook need
    (benchmarks/kernel_start.py measures it: 11 modules more than without the extension here, 351 before)."""
    heavy = ("requests", "httpx", "ipywidgets", "openeo", "jupyter_openeo_auth.oidc.discovery")
    async with kernel(jp_serverapp) as k:
        out = await k.run(
            f"import sys\nprint([m for m in {heavy!r} if m in sys.modules])\n"
            "print('openeo_login' in get_ipython().magics_manager.magics['line'])"
        )
    assert out.split("\n")[:2] == ["[]", "True"]


async def test_a_logout_reaches_a_kernels_cached_token_within_seconds(stack, jp_serverapp, broker, alice, api):
    """A connection whose token would still be valid long enough (min_valid=1, tokens of 10 s here) stops using
    it within RECHECK seconds of a logout: no request with a token of an ended login leaves the kernel."""
    from jupyter_openeo_auth.kernel.auth import RECHECK

    async with kernel(jp_serverapp) as k:
        await widget_login(k, stack.backend.url, broker, alice)
        # A token fresh from the provider (valid at least 9 of its 10 s), then kept while it lasts 1 s more.
        await k.run(f"con = joa.connect({stack.backend.url!r}, min_valid=9); con.auth.min_valid = 1")
        await api.delete("sessions", backend=stack.backend.url)
        await asyncio.sleep(RECHECK + 0.5)
        out = await k.run("con.describe_account()", allow_error=True)
    assert out.startswith("NotLoggedIn: Not logged in to"), out
