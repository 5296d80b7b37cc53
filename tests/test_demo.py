"""`jupyter openeo-auth demo`: one command starts provider, back-end and JupyterLab; Ctrl-C stops all three."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlsplit

import nbformat
import pytest
import requests
from ws_kernel import WebSocketKernel

from jupyter_openeo_auth.devstack import free_port
from jupyter_openeo_auth.devstack.user import ProviderUser

#: The demo's own ports (8780, 8781): with pytest-xdist these tests run one after another, on one worker.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("demo-ports")]


def read_banner(process, log_path, timeout=180) -> str:
    deadline = time.time() + timeout
    while time.time() < deadline:
        text = log_path.read_text()
        if "Press Ctrl-C" in text:
            return text
        assert process.poll() is None, f"the demo exited early:\n{text}"
        time.sleep(0.5)
    raise AssertionError(f"the demo did not start in time:\n{log_path.read_text()}")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purpose; /proc tells.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


class Demo:
    """`jupyter openeo-auth demo` run as a user would, from a folder outside a home folder of its own (HOME and
    TMPDIR are the test's, so that what it leaves there can be checked)."""

    def __init__(self, tmp_path, stdout=None, port: int | None = -1):
        """`port`: JupyterLab's (-1: a free one; None: the demo's own choice, 8888 or the next free one)."""
        self.home, self.cwd, self.tmp = tmp_path / "home", tmp_path / "work", tmp_path / "tmp"
        for folder in (self.home, self.cwd, self.tmp):
            folder.mkdir(parents=True)
        (self.home / ".bashrc").write_text("# the user's\n")
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "JPY", "IPYTHON"))},
            "HOME": str(self.home),
            "TMPDIR": str(self.tmp),
        }
        self.log_path = tmp_path / "demo.log"
        self.port = free_port() if port == -1 else port
        asked = ["--port", str(self.port)] if self.port is not None else []
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "jupyter", "openeo-auth", "demo", "--no-browser", *asked],
                stdout=stdout or log,
                stderr=log if stdout else subprocess.STDOUT,
                cwd=self.cwd,
                env=self.env,
            )
        self.home_before = listing(self.home)

    def banner(self) -> str:
        deadline = time.time() + 180
        while time.time() < deadline:
            text = self.log_path.read_text() if self.process.stdout is None else self.read_pipe()
            if "Press Ctrl-C" in text:
                self.text = text
                self.pids = [int(p) for p in re.findall(r"pid:?\s+(\d+)", text)]
                return text
            assert self.process.poll() is None, f"the demo exited early:\n{text}"
            time.sleep(0.5)
        raise AssertionError(f"the demo did not start in time:\n{self.log_path.read_text()}")

    def read_pipe(self) -> str:
        self.piped = getattr(self, "piped", "") + os.read(self.process.stdout.fileno(), 65536).decode()
        return self.piped

    def stop(self, signum=signal.SIGINT) -> None:
        self.process.send_signal(signum)
        self.process.wait(60)

    def children_gone(self) -> bool:
        deadline = time.time() + 15
        while any(alive(p) for p in self.pids) and time.time() < deadline:
            time.sleep(0.2)
        return not any(alive(p) for p in self.pids)


def listing(folder) -> list:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_demo_logs_in_keeps_the_users_work_and_leaves_nothing_else(tmp_path):
    demo = Demo(tmp_path)
    try:
        banner = demo.banner()
        lab_url = re.search(r"JupyterLab:\s+(\S+)", banner).group(1)
        backend = re.search(r"openEO back-end:\s+(\S+)", banner).group(1)
        provider = re.search(r"OpenID provider:\s+(\S+)", banner).group(1)
        workdir = re.search(r"Notebook folder:\s+(\S+)", banner).group(1)
        user, password = re.search(r"log in as user `(\w+)` with password `([^`]+)`", banner).groups()
        assert len(demo.pids) == 3 and lab_url.startswith(
            f"http://127.0.0.1:{demo.port}/lab/tree/openeo-login-demo.ipynb"
        )
        assert workdir == str(demo.cwd / "openeo-auth-demo") and "kept when the demo stops" in banner
        token = parse_qs(urlsplit(lab_url).query)["token"][0]
        server = f"http://127.0.0.1:{demo.port}"
        headers = {"Authorization": f"token {token}"}
        assert requests.get(f"{provider}/.well-known/openid-configuration", timeout=5).status_code == 200
        assert requests.get(f"{backend}/.well-known/openeo", timeout=5).status_code == 200
        notebook = requests.get(f"{server}/api/contents/openeo-login-demo.ipynb", headers=headers, timeout=10).json()
        cells = [c["source"] for c in notebook["content"]["cells"] if c["cell_type"] == "code"]
        assert cells[0] == "%openeo_login"  # the server's default: the demo's; nothing to %load_ext
        news = f"{server}/lab/api/settings/@jupyterlab/apputils-extension:notification"
        assert requests.get(news, headers=headers, timeout=10).json()["settings"]["fetchNews"] == "false"  # no pop-up

        # Another shell of the same user, with no Jupyter variables, finds the demo's server.
        plain = {"HOME": str(demo.home), "PATH": demo.env["PATH"]}
        status = subprocess.run(
            [sys.executable, "-m", "jupyter_openeo_auth.cli", "status"],
            env=plain,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert status.returncode == 2 and f"Jupyter server: {server}" in status.stdout, status

        kernel = WebSocketKernel(server, token)
        try:
            assert "openEO login to " in kernel.run(cells[0])  # the widget (its text form)
            # The person: find the pending login's code (asking again returns the same login) and approve it.
            login = requests.post(
                f"{server}/openeo-auth/api/logins", json={"backend": backend}, headers=headers, timeout=10
            ).json()
            assert login["state"] == "pending"
            ProviderUser(user, password).approve(login["verification_uri_complete"], login["user_code"])
            assert "'user_id': 'alice'" in kernel.run(cells[1])  # waits for the login
        finally:
            kernel.close()
        mine = {"type": "notebook", "content": nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])}
        assert (
            requests.put(f"{server}/api/contents/mine.ipynb", json=mine, headers=headers, timeout=10).status_code == 201
        )
    finally:
        demo.stop()
    assert demo.process.returncode == 0 and "Demo stopped" in demo.log_path.read_text()
    assert demo.children_gone()
    assert {"mine.ipynb", "openeo-login-demo.ipynb"} <= set(os.listdir(workdir))  # the user's work is kept
    assert listing(demo.home) == demo.home_before  # no settings, workspaces, history or secrets in HOME
    assert list(demo.tmp.iterdir()) == []


@pytest.mark.parametrize("how", ["SIGTERM", "SIGHUP", "closed pipe"])
def test_every_way_of_stopping_the_demo_stops_everything(tmp_path, how):
    demo = Demo(tmp_path, stdout=subprocess.PIPE if how == "closed pipe" else None)
    try:
        demo.banner()
    finally:
        if how == "closed pipe":  # `demo | tee log`, then Ctrl-C: tee is gone before the demo prints again
            demo.process.stdout.close()
            demo.stop(signal.SIGINT)
        else:
            demo.stop(getattr(signal, how))
    assert demo.children_gone()
    assert list(demo.tmp.iterdir()) == []  # the config file with the server's token, logs, Jupyter's state
    assert listing(demo.home) == demo.home_before


def test_a_killed_demo_takes_its_children_with_it(tmp_path):
    demo = Demo(tmp_path)
    try:
        demo.banner()
    finally:
        demo.stop(signal.SIGKILL)
    assert demo.children_gone()


def test_example_notebook_is_the_demo_notebook_for_openeo_cloud():
    """examples/openeo-login.ipynb is what a user with an account runs; it must not drift from the demo."""
    import nbformat

    from jupyter_openeo_auth.demo import demo_notebook

    example = nbformat.read(os.path.join(os.path.dirname(__file__), "..", "examples", "openeo-login.ipynb"), 4)
    expected = demo_notebook("https://openeo.cloud")  # the demo's own names no URL: the server's default
    assert [c.source for c in example.cells] == [c.source for c in expected.cells]
    assert "%openeo_login https://openeo.cloud" in [c.source for c in example.cells]


def test_demo_on_a_taken_port_says_so_and_leaves_nothing_behind(tmp_path):
    """The demo's Jupyter config file holds the server's token: no exit path may leave it (or a log) behind."""
    import socket

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "jupyter", "openeo-auth", "demo", "--no-browser", "--port", str(port)],
            env={**os.environ, "TMPDIR": str(scratch)},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 1
    assert f"port {port} on 127.0.0.1 is taken" in done.stderr and "--port" in done.stderr
    assert list(scratch.iterdir()) == []


def test_the_demo_keeps_its_addresses_and_steps_aside_when_they_are_taken(tmp_path):
    """A kept notebook names the demo's back-end: its URL is the same every run while its port is free. A taken
    port (another JupyterLab on 8888, something on the back-end's) moves that part aside, said aloud."""
    import socket

    from jupyter_openeo_auth.demo import BACKEND_PORT, LAB_PORT, PROVIDER_PORT

    urls = []
    for run in ("first", "second"):
        demo = Demo(tmp_path / run)
        try:
            banner = demo.banner()
        finally:
            demo.stop()
        urls.append(re.findall(r"http://127\.0\.0\.1:\d+", banner.split("openEO back-end:")[1])[:2])
    assert urls[0] == urls[1] == [f"http://127.0.0.1:{BACKEND_PORT}", f"http://127.0.0.1:{PROVIDER_PORT}"]

    taken = []
    for port in (BACKEND_PORT, LAB_PORT):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            s.listen()
        except OSError:  # already taken by something else: just as good
            s.close()
            continue
        taken.append(s)
    try:
        demo = Demo(tmp_path / "aside", port=None)
        try:
            banner = demo.banner()
        finally:
            demo.stop()
    finally:
        for s in taken:
            s.close()
    log = demo.log_path.read_text()
    assert f"Port {BACKEND_PORT} is taken: the demo's openEO back-end is on port" in log, log
    assert f"Port {LAB_PORT} is taken (another JupyterLab?)" in log, log
    lab = re.search(r"JupyterLab:\s+http://127\.0\.0\.1:(\d+)/", banner)
    assert lab and int(lab.group(1)) != LAB_PORT and f"127.0.0.1:{BACKEND_PORT}" not in banner.split("OpenID")[0]
