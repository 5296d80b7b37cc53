"""How a kernel talks to the Jupyter server that started it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import requests

from ..oidc import LoginRequired, NotLoggedIn, OpenEOAuthError

SCHEME = "openeo-kernel"


class NoServer(OpenEOAuthError):
    reason = "no_server"


def find_server(runtime_dir: Optional[str] = None, parent_pid: Optional[str] = None) -> dict:
    """{url, key, default_backend} of the server that started this kernel, from its key file."""
    parent_pid = parent_pid or os.environ.get("JPY_PARENT_PID")
    if not parent_pid:
        raise NoServer(
            "This Python was not started by a Jupyter server, so it cannot use the server's openEO login. "
            "Open the notebook in JupyterLab or Jupyter Server with jupyter-openeo-auth installed."
        )
    if runtime_dir is None:
        from jupyter_core.paths import jupyter_runtime_dir

        runtime_dir = jupyter_runtime_dir()
    path = Path(runtime_dir) / f"jupyter-openeo-auth-{parent_pid}.json"
    try:
        data = json.loads(path.read_text())
        return {"url": data["url"], "key": data["key"], "default_backend": data.get("default_backend")}
    except (OSError, ValueError, KeyError, TypeError):
        raise NoServer(
            "The Jupyter server that started this kernel does not run jupyter-openeo-auth (no key file at "
            f"{path}). Install it where the server runs and restart the server."
        ) from None


class ServerClient:
    """The server's openeo-auth REST API, authenticated with the kernel key. The key is kept in this
    object only (not in os.environ) and never shown."""

    def __init__(self, url: Optional[str] = None, key: Optional[str] = None, timeout: float = 15.0):
        self.default_backend: Optional[str] = None
        if url is None or key is None:
            found = find_server()
            url, key, self.default_backend = found["url"], found["key"], found["default_backend"]
        self.api = url.rstrip("/") + "/openeo-auth/api/"
        self._headers = {"Authorization": f"{SCHEME} {key}"}
        self.http = requests.Session()
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"<ServerClient {self.api}>"

    def call(self, method: str, path: str, body: Optional[dict] = None, params: Optional[dict] = None) -> dict:
        """One request; an error answer raises with the server's sentence."""
        try:
            resp = self.http.request(
                method, self.api + path, json=body, params=params, headers=self._headers, timeout=self.timeout
            )
        except requests.RequestException:
            raise NoServer(f"Cannot reach the Jupyter server at {self.api}; is it still running?") from None
        try:
            data = resp.json()
        except ValueError:
            data = {}
        if resp.status_code >= 400:
            message = data.get("message") or f"The Jupyter server answered HTTP {resp.status_code}."
            reason = data.get("reason")
            if reason == "not_logged_in":
                raise NotLoggedIn(message)
            if reason == "login_required":
                raise LoginRequired(message)
            error = OpenEOAuthError(message)
            error.reason = reason or "error"
            raise error
        return data

    def token(self, backend: str, provider_id: Optional[str] = None, min_valid: float = 60) -> dict:
        """POST token: {access_token, expires_at, provider_id, bearer, user}."""
        return self.call("POST", "token", {"backend": backend, "provider_id": provider_id, "min_valid": min_valid})

    def start_login(self, backend: str, provider_id: Optional[str] = None, **extra) -> dict:
        """POST logins."""
        return self.call("POST", "logins", {"backend": backend, "provider_id": provider_id, **extra})

    def login(self, login_id: str) -> dict:
        return self.call("GET", f"logins/{login_id}")

    def cancel(self, login_id: str) -> dict:
        return self.call("DELETE", f"logins/{login_id}")

    def providers(self, backend: str) -> dict:
        return self.call("GET", "providers", params={"backend": backend})

    def sessions(self) -> list:
        return self.call("GET", "sessions")["sessions"]

    def logout(self, backend: str, provider_id: Optional[str] = None) -> dict:
        params = {"backend": backend, **({"provider_id": provider_id} if provider_id else {})}
        return self.call("DELETE", "sessions", params=params)


_default: Optional[ServerClient] = None


def server() -> ServerClient:
    """The client for this kernel's server (found once)."""
    global _default
    if _default is None:
        _default = ServerClient()
    return _default
