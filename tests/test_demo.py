"""`jupyter openeo-auth demo`: one command starts provider, back-end and JupyterLab; Ctrl-C stops all three."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlsplit

import requests

from jupyter_openeo_auth.devstack import free_port
from jupyter_openeo_auth.devstack.user import ProviderUser

from ws_kernel import WebSocketKernel


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


def test_demo_logs_in_and_stops_cleanly_on_ctrl_c(tmp_path):
    port = free_port()
    log_path = tmp_path / "demo.log"
    with open(log_path, "w") as log:
        demo = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "openeo-auth", "demo", "--no-browser", "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        banner = read_banner(demo, log_path)
        lab_url = re.search(r"JupyterLab:\s+(\S+)", banner).group(1)
        backend = re.search(r"openEO back-end:\s+(\S+)", banner).group(1)
        provider = re.search(r"OpenID provider:\s+(\S+)", banner).group(1)
        pids = [int(p) for p in re.findall(r"pid:?\s+(\d+)", banner)]
        workdir = re.search(r"Notebook folder:\s+(\S+)", banner).group(1)
        user, password = re.search(r"log in as user `(\w+)` with password `([^`]+)`", banner).groups()
        assert len(pids) == 3 and lab_url.startswith(f"http://127.0.0.1:{port}/lab/tree/openeo-login-demo.ipynb")
        token = parse_qs(urlsplit(lab_url).query)["token"][0]
        server = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"token {token}"}
        assert requests.get(f"{provider}/.well-known/openid-configuration", timeout=5).status_code == 200
        assert requests.get(f"{backend}/.well-known/openeo", timeout=5).status_code == 200
        notebook = requests.get(f"{server}/api/contents/openeo-login-demo.ipynb", headers=headers, timeout=10).json()
        cells = [c["source"] for c in notebook["content"]["cells"] if c["cell_type"] == "code"]
        assert cells[:2] == ["%load_ext jupyter_openeo_auth", f"%openeo_login {backend}"]

        kernel = WebSocketKernel(server, token)
        try:
            kernel.run(cells[0])
            assert "LoginWidget" in kernel.run(cells[1])
            # The person: find the pending login's code (asking again returns the same login) and approve it.
            login = requests.post(f"{server}/openeo-auth/api/logins", json={"backend": backend}, headers=headers, timeout=10).json()
            assert login["state"] == "pending"
            ProviderUser(user, password).approve(login["verification_uri_complete"], login["user_code"])
            out = kernel.run(
                "import time\nfor _ in range(300):\n    if 'connection' in globals(): break\n    time.sleep(0.1)\n"
                + cells[2]
            )
            assert "'user_id': 'alice'" in out
        finally:
            kernel.close()
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(60)
    assert demo.returncode == 0
    assert "Demo stopped" in log_path.read_text()
    deadline = time.time() + 10
    while any(alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.2)
    assert not any(alive(p) for p in pids)
    assert not os.path.exists(workdir)


def test_example_notebook_is_the_demo_notebook_for_openeo_cloud():
    """examples/openeo-login.ipynb is what a user with an account runs; it must not drift from the demo."""
    import nbformat

    from jupyter_openeo_auth.demo import demo_notebook

    example = nbformat.read(os.path.join(os.path.dirname(__file__), "..", "examples", "openeo-login.ipynb"), 4)
    expected = demo_notebook("https://openeo.cloud")
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
            env={**os.environ, "TMPDIR": str(scratch)}, capture_output=True, text=True, timeout=120,
        )
    assert done.returncode == 1
    assert f"port {port} on 127.0.0.1 is taken" in done.stderr and "--port" in done.stderr
    assert list(scratch.iterdir()) == []
