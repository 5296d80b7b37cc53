"""The test JupyterHub (tests/hub/jupyterhub_config.py) as a process, for the hub tests and the hub benchmark."""

from __future__ import annotations

import sys
from pathlib import Path

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
