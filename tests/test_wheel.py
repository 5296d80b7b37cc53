"""The wheel, not the checkout: built from this repository and installed in a fresh virtual environment
with no Node on the PATH, it enables the server extension and the prebuilt JupyterLab extension."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from jupyter_openeo_auth.devstack import free_port

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]


def run(argv, **kwargs) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=900, **kwargs)
    assert done.returncode == 0, f"{argv} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)  # without colours


def environment(path: Path, *requirements: str, python: str = sys.executable) -> Path:
    """A fresh virtual environment (with pip) holding `requirements`. What it holds matters here, not how it got
    it: uv makes it in seconds where pip takes half a minute. `python` other than the tests' own: its site-packages
    are visible (as in a conda-based hub image, where `pip install --user` works)."""
    argv = [sys.executable, "-m", "uv", "venv", "-q", "--seed", "--python", python, str(path)]
    run(argv + (["--system-site-packages"] if python != sys.executable else []))
    if requirements:
        run(
            [
                sys.executable,
                "-m",
                "uv",
                "pip",
                "install",
                "-q",
                "--python",
                str(path / "bin" / "python"),
                *requirements,
            ]
        )
    return path


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(REPO)])
    [built] = dist.glob("jupyter_openeo_auth-*.whl")
    return built


def page_config(page: str) -> dict:
    """The configuration JupyterLab writes into its page (federated extensions and so on)."""
    found = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S)
    assert found, "not a JupyterLab page"
    return json.loads(found.group(1))


def test_the_wheel_ships_the_demo_provider_without_its_npm_packages(wheel):
    """The demo's provider lives in the package (devstack/oidc_provider), not in tests/; its npm packages are
    installed on first use, into a cache folder, never shipped."""
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    folder = "jupyter_openeo_auth/devstack/oidc_provider/"
    assert {folder + name for name in ("provider.mjs", "package.json", "package-lock.json")} <= names
    assert not [name for name in names if "node_modules" in name or name.startswith("tests/")]


def test_the_wheel_ships_the_labextension_prebuilt(tmp_path, wheel):
    venv = environment(tmp_path / "venv", str(wheel), "jupyterlab>=4")
    bin_dir = venv / "bin"
    # Only the virtual environment on the PATH: no node, no npm, no other Jupyter.
    env = {
        "PATH": str(bin_dir),
        "HOME": str(tmp_path),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
        "JUPYTER_PLATFORM_DIRS": "1",
    }
    assert not any((bin_dir / n).exists() for n in ("node", "npm"))
    labextensions = run([str(bin_dir / "jupyter"), "labextension", "list"], env=env)
    assert re.search(r"jupyter-openeo-auth v0\.1\.0 enabled OK \(python, jupyter-openeo-auth\)", labextensions)
    assert str(venv) in labextensions  # found in the venv's share/jupyter, not elsewhere
    server_extensions = run([str(bin_dir / "jupyter"), "server", "extension", "list"], env=env)
    assert re.search(r"jupyter_openeo_auth enabled", server_extensions)
    assert re.search(r"jupyter_openeo_auth 0\.1\.0 OK", server_extensions)
    assert os.path.isfile(venv / "share" / "jupyter" / "labextensions" / "jupyter-openeo-auth" / "install.json")

    # JupyterLab, started from that environment, serves the extension to the browser: listed in the page's
    # federated extensions, and its entry script downloads. (tests/test_binder.py sees it run in a browser.)
    port, token = free_port(), secrets.token_hex(16)
    lab = subprocess.Popen(
        [
            str(bin_dir / "jupyter-lab"),
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            f"--IdentityProvider.token={token}",
            "--allow-root",
            f"--ServerApp.root_dir={tmp_path}",
        ],
        env={**env, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")},
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        url, page = f"http://127.0.0.1:{port}", None
        deadline = time.time() + 120
        while page is None and time.time() < deadline:
            assert lab.poll() is None, "JupyterLab stopped"
            try:
                resp = requests.get(f"{url}/lab", params={"token": token}, timeout=5)
                page = resp.text if resp.ok else None
            except requests.RequestException:
                time.sleep(0.5)
        assert page, "JupyterLab did not answer"
        [ours] = [e for e in page_config(page)["federated_extensions"] if e["name"] == "jupyter-openeo-auth"]
        entry = requests.get(
            f"{url}/lab/extensions/jupyter-openeo-auth/{ours['load']}", params={"token": token}, timeout=10
        )
        assert entry.ok and "jupyter-openeo-auth" in entry.text
        status = requests.get(
            f"{url}/openeo-auth/api/settings", headers={"Authorization": f"token {token}"}, timeout=10
        )
        assert status.ok  # and the server extension answers
    finally:
        os.killpg(lab.pid, 15)
        lab.wait(30)


def test_the_hub_installs_lean_without_the_openeo_client(tmp_path, wheel):
    """The README's hub install: the package without its dependencies next to JupyterHub. No openeo client
    (and none of geopandas, pandas, numpy, xarray, pyproj) in the hub image; the hub module imports and serves."""
    venv = environment(tmp_path / "hub-venv", "jupyterhub>=5")
    python = str(venv / "bin" / "python")
    run([sys.executable, "-m", "uv", "pip", "install", "-q", "--python", python, "--no-deps", str(wheel)])
    missing = subprocess.run([python, "-c", "import openeo"], capture_output=True, text=True)
    assert missing.returncode != 0 and "No module named 'openeo'" in missing.stderr
    run([python, "-c", "import jupyter_openeo_auth.hub as h; h.stamp_expiry({}); print(h.store_key('00' * 32, 'a'))"])
    port = free_port()
    env = {
        "PATH": str(venv / "bin"),
        "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{port}/",
        "JUPYTERHUB_SERVICE_PREFIX": "/services/openeo-tokens/",
        "JUPYTERHUB_API_URL": "http://127.0.0.1:9/hub/api",
        "JUPYTERHUB_API_TOKEN": "not-a-real-token",
    }
    service = subprocess.Popen(
        [python, "-m", "jupyter_openeo_auth.hub"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        answer = None
        for _ in range(100):
            try:
                answer = requests.get(
                    f"http://127.0.0.1:{port}/services/openeo-tokens/token", timeout=5, allow_redirects=False
                )
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        assert answer is not None and answer.status_code in (302, 403)  # served, and it wants a hub token
    finally:
        service.terminate()
        service.wait(10)


def a_python_without_this_package() -> str:
    """An interpreter to build a hub image from: one where this package is not importable (the tests' own
    Python has it installed), with the venv module."""
    import shutil

    candidates = [os.path.join(sys.base_prefix, "bin", "python3"), shutil.which("python3", path="/usr/bin")]
    for python in filter(None, candidates):
        probe = subprocess.run(
            [python, "-c", "import venv, jupyter_openeo_auth"], capture_output=True, text=True, cwd="/", env={}
        )
        if "No module named 'jupyter_openeo_auth'" in probe.stderr:
            return python
    raise AssertionError(f"no Python without jupyter_openeo_auth among {candidates}: the hub image needs one")


def test_a_user_installs_it_with_pip_user_on_a_hub_someone_else_runs(tmp_path, wheel, stack):
    """The README's "On a JupyterHub you do not run": the hub's image has JupyterLab but not this package; the
    user runs `pip install --user` in their server's terminal, restarts the server from the hub, and then the
    server extension, the JupyterLab extension and the kernels' `openeo.connect` take-over all load from
    ~/.local, with the device login."""
    from hubs import hub_service, start_server, stop_server, user_token
    from openapi_check import unchecked
    from ws_kernel import WebSocketKernel

    from jupyter_openeo_auth.devstack.user import ProviderUser

    image = tmp_path / "image"  # what the admin installed: user site-packages visible, as in conda-based images
    # An openEO hub's image: JupyterLab and the openeo client, not this package.
    environment(image, "jupyterhub>=5", "jupyterlab>=4", "ipykernel", "openeo", python=a_python_without_this_package())
    python = str(image / "bin" / "python")
    (tmp_path / "hub").mkdir()
    hub = hub_service(
        tmp_path / "hub",
        free_port(),
        secrets.token_hex(16),
        HUB_SINGLEUSER_CMD=str(image / "bin" / "jupyterhub-singleuser"),
    )
    try:
        server, alice = start_server(hub, "alice"), user_token(hub, "alice")
        with unchecked():  # not this package's answer: the image's server does not have it yet
            assert requests.get(f"{server}/openeo-auth/api/settings", headers=alice, timeout=30).status_code == 404

        # In her server's terminal: the same HOME and PATH as the server (the hub's spawner set them).
        home = tmp_path / "hub" / "home" / "alice"
        user_env = {"HOME": str(home), "PATH": f"{image / 'bin'}:/usr/bin:/bin"}
        run([python, "-m", "pip", "install", "-q", "--user", str(wheel)], env=user_env)
        assert list((home / ".local" / "etc" / "jupyter" / "jupyter_server_config.d").glob("jupyter_openeo_auth*"))
        missing = subprocess.run(
            [python, "-c", "import jupyter_openeo_auth"], capture_output=True, text=True, cwd="/", env={"HOME": "/"}
        )
        assert "No module named" in missing.stderr  # only in her user site, not in the image
        # Nothing the image serves with was replaced in her user site.
        shadowing = [p.name for p in (home / ".local" / "lib").glob("python3*/site-packages/jupyter_server*")]
        assert not shadowing, shadowing

        # File > Hub Control Panel > Stop My Server, then Start My Server.
        stop_server(hub, "alice")
        server = start_server(hub, "alice")
        assert requests.get(f"{server}/openeo-auth/api/settings", headers=alice, timeout=30).ok, hub.log_tail(40)
        page = requests.get(f"{server}/lab", headers=alice, timeout=30).text
        assert "jupyter-openeo-auth" in [e["name"] for e in page_config(page)["federated_extensions"]]

        login = requests.post(
            f"{server}/openeo-auth/api/logins", json={"backend": stack.backend.url}, headers=alice, timeout=30
        )
        assert login.status_code == 202, login.text
        login = login.json()
        ProviderUser("alice").approve(login["verification_uri_complete"], login["user_code"])
        kernel = WebSocketKernel(server, alice["Authorization"].split()[1])
        try:  # a tutorial's cell, unchanged: the server's login, no second one
            out = kernel.run(
                "import openeo, jupyter_openeo_auth\n"
                f"con = openeo.connect({stack.backend.url!r}).authenticate_oidc(max_poll_time=30)\n"
                "print(con.describe_account()['user_id'], jupyter_openeo_auth.__file__)"
            )
        finally:
            kernel.close()
        user, where = out.split()[-2:]
        assert user == "alice" and where.startswith(str(home / ".local")), out
    finally:
        hub.cleanup()
