"""The wheel, not the checkout: built from this repository and installed in a fresh virtual environment
with no Node on the PATH, it enables the server extension and the prebuilt JupyterLab extension."""

from __future__ import annotations

import os
import re
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


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(REPO)])
    [built] = dist.glob("jupyter_openeo_auth-*.whl")
    return built


def test_the_wheel_ships_the_demo_provider_without_its_npm_packages(wheel):
    """The demo's provider lives in the package (devstack/oidc_provider), not in tests/; its npm packages are
    installed on first use, into a cache folder, never shipped."""
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    folder = "jupyter_openeo_auth/devstack/oidc_provider/"
    assert {folder + name for name in ("provider.mjs", "package.json", "package-lock.json")} <= names
    assert not [name for name in names if "node_modules" in name or name.startswith("tests/")]


def test_the_wheel_ships_the_labextension_prebuilt(tmp_path, wheel):
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    bin_dir = venv / "bin"
    run([str(bin_dir / "python"), "-m", "pip", "install", "-q", str(wheel), "jupyterlab>=4"])
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
    import json
    import secrets
    import time

    import requests

    from jupyter_openeo_auth.devstack import free_port

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
        config = json.loads(
            re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S).group(1)
        )
        [ours] = [e for e in config["federated_extensions"] if e["name"] == "jupyter-openeo-auth"]
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
    venv = tmp_path / "hub-venv"
    run([sys.executable, "-m", "venv", str(venv)])
    python = str(venv / "bin" / "python")
    run([python, "-m", "pip", "install", "-q", "jupyterhub>=5"])
    run([python, "-m", "pip", "install", "-q", "--no-deps", str(wheel)])
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
