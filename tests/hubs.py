"""The test JupyterHub (tests/hub/jupyterhub_config.py) as a process, for the hub tests and the hub benchmark."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import requests

from jupyter_openeo_auth.devstack import Service, free_port

HUB_DIR = Path(__file__).parent / "hub"


def hub_service(state: Path, port: int, token: str, *args: str, **env: str) -> Service:
    """Start the hub on `port` with its state in `state` and `token` as its admin service's token; `env` sets
    what the config reads (HUB_ISSUER and so on), `args` go to `jupyterhub`. `.headers` authenticate as admin."""
    env = {
        "HUB_STATE_DIR": str(state),
        "HUB_PORT": str(port),
        "HUB_API_PORT": str(free_port()),
        "HUB_PROXY_API_PORT": str(free_port()),
        "HUB_SERVICE_TOKEN": token,
        **env,
    }
    hub = Service(
        "JupyterHub",
        [sys.executable, "-m", "jupyterhub", "-f", str(HUB_DIR / "jupyterhub_config.py"), *args],
        port,
        env=env,
        cwd=state,
        ready_path="/hub/health",
        ready_status=200,
    ).start(timeout=120)
    hub.headers = {"Authorization": f"token {token}"}
    return hub


def start_server(hub, user: str) -> str:
    """Create the hub user, start their server, return its URL through the proxy."""
    api = f"{hub.url}/hub/api"
    requests.post(f"{api}/users/{user}", headers=hub.headers, timeout=30)
    requests.post(f"{api}/users/{user}/server", headers=hub.headers, timeout=120)
    deadline = time.time() + 120
    while time.time() < deadline:
        model = requests.get(f"{api}/users/{user}", headers=hub.headers, timeout=30).json()
        if model.get("servers", {}).get("", {}).get("ready"):
            return f"{hub.url}/user/{user}"
        time.sleep(0.5)
    raise AssertionError(f"{user}'s server did not start:\n{hub.log_tail(40)}")


def user_token(hub, user: str) -> dict:
    """Headers with a hub API token of `user` (what the user's browser session amounts to)."""
    resp = requests.post(
        f"{hub.url}/hub/api/users/{user}/tokens", json={"note": "openeo test"}, headers=hub.headers, timeout=30
    )
    assert resp.status_code in (200, 201), resp.text
    return {"Authorization": f"token {resp.json()['token']}"}


def stop_server(hub, user: str) -> None:
    """Stop the user's server (the hub's culler, or File > Hub Control Panel > Stop My Server) and wait."""
    requests.delete(f"{hub.url}/hub/api/users/{user}/server", headers=hub.headers, timeout=120)
    deadline = time.time() + 60
    while requests.get(f"{hub.url}/hub/api/users/{user}", headers=hub.headers, timeout=30).json().get("servers"):
        assert time.time() < deadline, f"{user}'s server did not stop"
        time.sleep(0.5)
