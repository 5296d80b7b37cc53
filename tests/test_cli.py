"""`jupyter openeo-auth` from a shell of the same user, and scripts that were not started by the server: they
find the running server (JUPYTER_SERVER_URL as a JupyterLab terminal has it, or the runtime directory) and
use its login."""

from __future__ import annotations

import os
import pty
import re
import secrets
import subprocess
import sys
import sysconfig
import threading
import time

import pytest

from jupyter_openeo_auth.devstack import jupyter_service
from jupyter_openeo_auth.devstack.user import ProviderUser
from jupyter_openeo_auth.oidc import discover_backend

pytestmark = pytest.mark.slow


def test_a_wrong_command_line_is_not_mistaken_for_not_logged_in(tmp_path):
    # argparse exits 2 on a usage error; here 2 means "not logged in", which a script would act on.
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path)}
    for args in (["tokn"], ["token", "--min-valid", "soon"], ["status", "--verbose"]):
        wrong = cli(env, *args)
        assert wrong.returncode == 1 and "usage: jupyter openeo-auth" in wrong.stderr, args
    assert cli(env, "token", "--help").returncode == 0
    said = " ".join(cli(env, "--help").stdout.split())
    assert (
        "Exit codes: 0 ok, 2 not logged in, 3 log in again, 4 no server found, 5 several servers (name one), 1 any"
        in said
    )


@pytest.fixture
def server(stack, tmp_path):
    (tmp_path / "root").mkdir()
    token = secrets.token_hex(16)
    service = jupyter_service(
        tmp_path / "root", token, config={"OpenEOAuth": {"persist": "never", "default_backend": stack.backend.url}}
    ).start()
    service.token = token
    yield service
    service.cleanup()


def shell_env(server, **extra) -> dict:
    """The environment of a JupyterLab terminal of `server` (no JPY_PARENT_PID: not a kernel)."""
    env = {k: v for k, v in os.environ.items() if k not in ("JPY_PARENT_PID", "JUPYTER_SERVER_URL")}
    env.update(JUPYTER_RUNTIME_DIR=str(server.runtime_dir), JUPYTER_SERVER_URL=server.url + "/", **extra)
    env["PATH"] = sysconfig.get_path("scripts") + os.pathsep + env.get("PATH", os.defpath)  # this environment's
    return env


def wait_logged_in(server, login_id: str, timeout: float = 30) -> None:
    """Until the server has seen the approval (it polls the provider every second)."""

    import requests

    deadline = time.time() + timeout
    while time.time() < deadline:
        state = requests.get(
            f"{server.url}/openeo-auth/api/logins/{login_id}",
            headers={"Authorization": f"token {server.token}"},
            timeout=30,
        ).json()["state"]
        if state != "pending":
            assert state == "logged_in"
            return
        time.sleep(0.2)
    raise AssertionError("the login did not finish")


def cli(env, *args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["jupyter", "openeo-auth", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_terminal_login_status_token_and_logout(stack, server, issued_secrets):
    env = shell_env(server)
    assert cli(env, "status").returncode == 2
    login = subprocess.Popen(
        ["jupyter", "openeo-auth", "login"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    shown, waiting = [], []

    def approve():
        for line in login.stdout:
            shown.append(line)
            if "enter the code:" in line:
                code = line.split()[-1]
                link = next(said for said in shown if said.startswith("Open ")).split()[1]
                waiting.append((cli(env, "status"), link, code))  # as another terminal sees it meanwhile
                time.sleep(3)  # the user takes a moment: the command waits several seconds
                ProviderUser("alice").approve(link, code)
                break

    watcher = threading.Thread(target=approve)
    watcher.start()
    assert login.wait(90) == 0, login.stderr.read()
    watcher.join(5)
    [(status, link, code)] = waiting  # the login waiting, and where to approve it
    assert status.returncode == 2 and "Not logged in to openEO." in status.stdout, status.stderr
    assert f"{stack.backend.url} (local): waiting for approval — open {link}" in status.stdout
    assert f"enter the code {code} by " in status.stdout
    rest = login.stdout.read()
    assert "Logged in to" in rest and "Alice Liddell" in rest
    assert any(block in rest for block in "█▀▄")  # the QR code, drawn in the terminal
    assert rest.count("Waiting for the login") == 1  # to a pipe once, not a countdown line a second

    status = cli(env, "status")
    assert status.returncode == 0 and f"{stack.backend.url} (local): Alice Liddell" in status.stdout
    api = discover_backend(stack.backend.url).api_url  # the versioned API, where /me is
    curl = subprocess.run(
        ["bash", "-c", f'curl -fsS -H "Authorization: Bearer $(jupyter openeo-auth token --bearer)" {api}/me'],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert curl.returncode == 0 and '"user_id":"alice"' in curl.stdout.replace(" ", "")
    script = subprocess.run(
        [
            sys.executable,
            "-c",
            "import jupyter_openeo_auth as joa; "
            f"print(joa.connect({stack.backend.url!r}).describe_account()['user_id'])",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert script.stdout.strip() == "alice", script.stderr

    # To a terminal, the token is not printed unless forced.
    main, secondary = pty.openpty()
    refused = subprocess.run(
        ["jupyter", "openeo-auth", "token"], env=env, stdout=secondary, stderr=subprocess.PIPE, text=True, timeout=120
    )
    os.close(secondary)
    os.close(main)
    assert refused.returncode == 1 and "Not printing a token to a terminal" in refused.stderr
    canaries = issued_secrets()
    said = "".join(shown) + rest + status.stdout + status.stderr + refused.stderr + server.log_tail(100000)
    assert [c for c in canaries if c in said] == []

    assert cli(env, "logout").returncode == 0
    gone = cli(env, "token")
    assert gone.returncode == 2 and "Not logged in" in gone.stderr
    # A terminal's way to log in, not the notebook's (issue 31).
    assert gone.stderr.strip().endswith("Log in: jupyter openeo-auth login") and "%openeo_login" not in gone.stderr


def test_which_server_a_shell_uses(stack, server, tmp_path):
    second_root = tmp_path / "second"
    second_root.mkdir()
    second = jupyter_service(
        second_root,
        secrets.token_hex(16),
        config={"OpenEOAuth": {"persist": "never"}},
        env={"JUPYTER_RUNTIME_DIR": str(server.runtime_dir)},
    ).start()
    try:
        env = shell_env(server)
        del env["JUPYTER_SERVER_URL"]  # a shell outside JupyterLab
        several = cli(env, "status", cwd=tmp_path)
        assert several.returncode == 5 and server.url in several.stderr and second.url in several.stderr
        assert "JUPYTER_OPENEO_AUTH_SERVER" in several.stderr
        inside = cli(env, "status", cwd=second_root)  # the server whose root holds the current directory
        assert f"Jupyter server: {second.url}" in inside.stdout
        chosen = cli({**env, "JUPYTER_OPENEO_AUTH_SERVER": server.url}, "status", cwd=second_root)
        assert f"Jupyter server: {server.url}" in chosen.stdout
        terminal = cli({**env, "JUPYTER_SERVER_URL": second.url + "/"}, "status", cwd=tmp_path)  # its terminal
        assert f"Jupyter server: {second.url}" in terminal.stdout
    finally:
        second.cleanup()
    nothing = cli({**shell_env(server), "JUPYTER_RUNTIME_DIR": str(tmp_path / "empty")}, "status")
    assert nothing.returncode == 4 and "No running Jupyter server" in nothing.stderr
    # A server whose key file is not here, named by URL: reached with its own token.
    elsewhere = {
        **shell_env(server),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "empty"),
        "JUPYTER_OPENEO_AUTH_SERVER": server.url,
    }
    no_token = cli(elsewhere, "status")
    assert no_token.returncode == 4 and "JUPYTER_TOKEN" in no_token.stderr
    by_token = cli({**elsewhere, "JUPYTER_TOKEN": server.token}, "status")
    assert by_token.returncode == 2 and f"Jupyter server: {server.url}" in by_token.stdout
    assert "Not logged in to openEO." in by_token.stdout


@pytest.fixture
def server_of_a_new_user(stack, tmp_path):
    """A server whose user has a home of their own (no profile that finds this environment) and bash."""
    (tmp_path / "root").mkdir()
    (tmp_path / "home").mkdir()
    token = secrets.token_hex(16)
    service = jupyter_service(
        tmp_path / "root",
        token,
        env={"HOME": str(tmp_path / "home"), "SHELL": "/bin/bash"},
        config={"OpenEOAuth": {"persist": "never", "default_backend": stack.backend.url}},
    ).start()
    service.token = token
    yield service
    service.cleanup()


def test_in_a_jupyterlab_terminal(stack, server_of_a_new_user, tmp_path):
    """A terminal opened through the server's terminal API, as JupyterLab opens one: the command finds its
    server through the terminal's environment."""
    import json

    import requests
    import websocket

    server = server_of_a_new_user
    token = server.token
    headers = {"Authorization": f"token {token}"}
    name = requests.post(f"{server.url}/api/terminals", headers=headers, timeout=30).json()["name"]
    ws = websocket.create_connection(
        server.url.replace("http", "ws", 1) + f"/terminals/websocket/{name}",
        header=[f"Authorization: token {token}"],
        timeout=2,
    )
    try:

        def run(command: str, until: str, timeout: float = 60) -> str:
            ws.send(json.dumps(["stdin", command + "\r"]))
            out, deadline = "", time.time() + timeout
            while until not in out and time.time() < deadline:
                try:
                    message = json.loads(ws.recv())
                except websocket.WebSocketTimeoutException:
                    continue
                if message[0] == "stdout":
                    out += message[1]
            assert until in out, out
            return out

        # A terminal runs a login shell when the server's output is not a terminal, and a login shell's profile
        # may reset PATH (Debian's does): the server puts its environment first again.
        out = run("command -v jupyter; echo path=$?", "path=0")
        assert sysconfig.get_path("scripts") + "/jupyter" in out
        run("jupyter openeo-auth status; echo exit=$?", "exit=2")
        login = requests.post(
            f"{server.url}/openeo-auth/api/logins", json={"backend": stack.backend.url}, headers=headers, timeout=30
        ).json()
        ProviderUser("alice").approve(login["verification_uri_complete"], login["user_code"])
        wait_logged_in(server, login["id"])
        out = run("jupyter openeo-auth status; echo exit=$?", "exit=0")
        assert "Alice Liddell" in out
        out = run("jupyter openeo-auth token --bearer | cut -c1-11; echo done=$?", "done=0")
        assert "oidc/local/" in out
        out = run("jupyter openeo-auth token; echo exit=$?", "exit=1")  # the terminal is a TTY
        assert "Not printing a token to a terminal" in out
    finally:
        ws.close()
        requests.delete(f"{server.url}/api/terminals/{name}", headers=headers, timeout=30)


def test_a_notebook_run_with_nbclient_from_a_terminal_uses_the_servers_login(stack, server, tmp_path):
    """nbclient (as papermill does) starts its own kernel: its JPY_PARENT_PID is nbclient's process, not the
    server's; the kernel finds the server from the terminal's environment."""
    import nbformat
    import requests

    login = requests.post(
        f"{server.url}/openeo-auth/api/logins",
        json={"backend": stack.backend.url},
        headers={"Authorization": f"token {server.token}"},
        timeout=30,
    ).json()
    ProviderUser("alice").approve(login["verification_uri_complete"], login["user_code"])
    wait_logged_in(server, login["id"])
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "import jupyter_openeo_auth as joa\n"
                f"print(joa.connect({stack.backend.url!r}).describe_account()['user_id'])"
            )
        ]
    )
    nbformat.write(nb, tmp_path / "batch.ipynb")
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "import nbformat; from nbclient import NotebookClient; "
            f"nb = nbformat.read({str(tmp_path / 'batch.ipynb')!r}, 4); NotebookClient(nb, timeout=120).execute(); "
            "print(nb.cells[0].outputs[0]['text'])",
        ],
        env=shell_env(server),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "alice"


def test_a_login_serves_the_other_backends_of_its_provider_in_the_terminal(stack, second_backend, server):
    import requests

    env = shell_env(server)
    headers = {"Authorization": f"token {server.token}"}
    login = requests.post(
        f"{server.url}/openeo-auth/api/logins", json={"backend": stack.backend.url}, headers=headers, timeout=30
    ).json()
    ProviderUser("alice").approve(login["verification_uri_complete"], login["user_code"])
    wait_logged_in(server, login["id"])
    second = cli(env, "login", second_backend.url)  # no device flow: the same account at the same provider
    assert second.returncode == 0 and f"Logged in to {second_backend.url} as Alice Liddell" in second.stdout
    status = cli(env, "status")
    lines = status.stdout.splitlines()
    assert (
        f"{second_backend.url} (local): Alice Liddell" in lines[2] and f"one login with {stack.backend.url}" in lines[2]
    )
    assert re.search(r"token valid until \d\d:\d\d \(renewed automatically\)", lines[2])  # as the status bar says
    out = cli(env, "logout", second_backend.url)
    assert out.returncode == 0 and f"and of {stack.backend.url}, which shared the login" in out.stdout
    assert cli(env, "status").returncode == 2


def test_an_unknown_provider_gets_one_sentence_naming_the_listed_ones(stack, server):
    """Issue 29: `--provider x` that the back-end does not list: one sentence, the listed ids, exit 1."""
    wrong = cli(shell_env(server), "login", stack.backend.url, "--provider", "x")
    assert wrong.returncode == 1, wrong
    assert wrong.stderr.strip().endswith(f"{stack.backend.url} has no OpenID provider 'x'; it offers: local.")
    assert "Traceback" not in wrong.stderr + wrong.stdout
