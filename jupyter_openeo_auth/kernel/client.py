"""How a kernel talks to the Jupyter server that started it."""

from __future__ import annotations

import getpass
import http.client
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlencode, urlsplit

from ..errors import LoginRequired, NotLoggedIn, OpenEOAuthError
from ..flows import FLOWS
from ..urls import same_url
from ..wire import (
    API_PREFIX,
    KERNEL_ID_HEADER,
    KERNEL_SCHEME,
    KEY_FILE_GLOB,
    LOOPBACK_HOSTS,
    ClientReason,
    LoginState,
    Reason,
    key_file,
)

if TYPE_CHECKING:
    from .models import Login, Logout, Providers, Session, Settings, Token

SCHEME = KERNEL_SCHEME


class NoServer(OpenEOAuthError):
    reason = ClientReason.NO_SERVER


class SeveralServers(NoServer):
    """More than one server could be meant (the demo's and the user's own JupyterLab, say): the caller names one."""

    reason = ClientReason.SEVERAL_SERVERS


def safe_link(uri: str | None, on_server: bool = False) -> str | None:
    """A login link fit to show: an http(s) URI or, when the server says it made it (`on_server`: a provider
    reached through the server's proxy, see `server.handlers.through_this_server`), a path on the Jupyter
    server itself; else None. A provider must not make us show `javascript:`, a path of its choosing, or a link
    to another site dressed as a path (`//host`, `/\\host`)."""
    if not isinstance(uri, str):
        return None
    uri = uri.strip()
    if not uri or any(c.isspace() or ord(c) < 32 or c == "\\" for c in uri):
        return None
    parts = urlsplit(uri)
    if parts.scheme in ("http", "https") and parts.netloc:
        return uri
    if on_server and not parts.scheme and not parts.netloc and uri.startswith("/") and not uri.startswith("//"):
        return uri
    return None


def login_link(login: Login) -> str | None:
    """The link a pending login's JSON offers (the complete one first), fit to show; None when it has none."""
    on_server = login.get("through_server") is True
    return safe_link(login.get("verification_uri_complete"), on_server) or safe_link(
        login.get("verification_uri"), on_server
    )


def ended_by(error: OpenEOAuthError, login_id: str) -> Login:
    """How a login ended when asking about it failed: cancelled (410: by the page, or a logout), else failed
    (the server is gone)."""
    state = LoginState.CANCELLED if error.reason == Reason.CANCELLED else LoginState.FAILED
    return {"id": login_id, "state": state, "message": error.message}


def _any_client(flow: str) -> bool:
    """Does a login of this flow serve a notebook whatever client it names (JupyterHub's login)?"""
    rules = FLOWS.get(flow)
    return rules is not None and rules.any_client


def session_for(
    sessions: list[Session], backend: str, provider_id: str | None = None, client_id: str | None = None
) -> Session | None:
    """The session (as `GET sessions` lists it) for this back-end, through this provider and made with this
    client when they are named (JupyterHub's login is the hub's client, whatever is named); else None."""
    for session in sessions:
        if (
            same_url(session["backend"], backend)
            and provider_id in (None, session["provider_id"])
            and (client_id in (None, session.get("client_id")) or _any_client(session["flow"]))
        ):
            return session
    return None


def _runtime_dir(runtime_dir: str | Path | None) -> Path:
    if runtime_dir is None:
        from jupyter_core.paths import jupyter_runtime_dir

        runtime_dir = jupyter_runtime_dir()
    return Path(runtime_dir)


def _read(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text())
        return {
            "url": data["url"],
            "key": data["key"],
            "default_backend": data.get("default_backend"),
            "pid": data.get("pid"),
            "root_dir": data.get("root_dir") or "",
        }
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _alive(pid: Any) -> bool:
    try:
        os.kill(int(pid), 0)
    except (OSError, TypeError, ValueError):
        return False
    return True


def running_servers(runtime_dir: str | Path | None = None) -> list[dict]:
    """The running Jupyter servers of this user with this extension (from their key files)."""
    found = [_read(p) for p in sorted(_runtime_dir(runtime_dir).glob(KEY_FILE_GLOB))]
    return [s for s in found if s is not None and _alive(s["pid"])]


def _same_server(a: str, b: str) -> bool:
    """Do two URLs name the same local server (localhost and 127.0.0.1 alike, base path included)?"""
    pa, pb = urlsplit(a), urlsplit(b)
    local = (*LOOPBACK_HOSTS, "0.0.0.0", "")
    hosts_match = pa.hostname == pb.hostname or (pa.hostname in local and pb.hostname in local)
    return hosts_match and pa.port == pb.port and pa.path.rstrip("/") == pb.path.rstrip("/")


def find_server(runtime_dir: str | None = None, parent_pid: str | None = None) -> dict:
    """{url, key, default_backend} of the Jupyter server to ask: `JUPYTER_OPENEO_AUTH_SERVER` when set; else
    the server that started this kernel (`JPY_PARENT_PID`); else the server of this terminal
    (`JUPYTER_SERVER_URL`); else the one running server of this user with the extension, or the one whose
    root directory holds the current directory. Raises `NoServer` with a sentence that says how to choose."""
    chosen = os.environ.get("JUPYTER_OPENEO_AUTH_SERVER") or ""
    parent_pid = parent_pid or os.environ.get("JPY_PARENT_PID")  # a kernel's own server wins over the variable
    folder = _runtime_dir(runtime_dir)
    if parent_pid:
        found = _read(key_file(folder, parent_pid))
        if found is not None:
            return found
        # Started by something else than a server with this extension (papermill or nbclient in a terminal,
        # say): look further, and say so if nothing is found.
    servers = running_servers(folder)
    if parent_pid and not servers:
        raise NoServer(
            "The Jupyter server that started this kernel does not run jupyter-openeo-auth (no key file at "
            f"{key_file(folder, parent_pid)}). Install it where the server runs and "
            "restart the server."
        )
    wanted = chosen or os.environ.get("JUPYTER_SERVER_URL") or ""
    if wanted:
        matching = [s for s in servers if _same_server(s["url"], wanted)]
        if matching:
            return matching[0]
        if chosen:
            return _server_by_token(chosen, servers)
    if len(servers) == 1:
        return servers[0]
    here = Path.cwd().resolve()
    inside = [
        s for s in servers if s["root_dir"] and (here == Path(s["root_dir"]) or Path(s["root_dir"]) in here.parents)
    ]
    if len(inside) == 1:
        return inside[0]
    if not servers:
        raise NoServer(
            "No running Jupyter server with jupyter-openeo-auth was found for this user. Start JupyterLab (or "
            "run this from its terminal or a notebook), or name one with JUPYTER_OPENEO_AUTH_SERVER=URL."
        )
    raise SeveralServers(
        f"Several Jupyter servers with jupyter-openeo-auth are running ({_names(servers)}); choose one with "
        "JUPYTER_OPENEO_AUTH_SERVER=URL, or run this from a folder inside one's root."
    )


#: The explicit flag that lets the server's token go to a Jupyter server on another machine (over https only).
REMOTE_SERVER_ENV = "JUPYTER_OPENEO_AUTH_REMOTE_SERVER"


def check_token_destination(url: str) -> None:
    """The server's token (full access to it) goes over plain http to this machine only; to another machine
    over https and only with JUPYTER_OPENEO_AUTH_REMOTE_SERVER=1 (or `jupyter openeo-auth --remote`). Says on
    stderr which host receives it. Raises `NoServer` with a sentence otherwise."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise NoServer(f"JUPYTER_OPENEO_AUTH_SERVER={url[:200]!r} is not an http(s) URL of a Jupyter server.")
    if host not in LOOPBACK_HOSTS:
        if parts.scheme != "https":
            raise NoServer(
                f"The Jupyter server at {url} is on another machine ({host}) and not reached over https: its "
                "token would cross the network in clear text, so it is not sent. Use its https address."
            )
        if os.environ.get(REMOTE_SERVER_ENV) != "1":
            raise NoServer(
                f"The Jupyter server at {url} is on another machine ({host}); its token is sent there only when "
                f"you say so: set {REMOTE_SERVER_ENV}=1 (or run jupyter openeo-auth --remote)."
            )
    print(
        f"jupyter-openeo-auth: sending the Jupyter server's token to {host} (JUPYTER_OPENEO_AUTH_SERVER).",
        file=sys.stderr,
    )


def _server_by_token(url: str, servers: list[dict]) -> dict:
    """A server named by URL whose key file is not here (another machine's, a container's, another runtime
    folder's): reached with the server's own token, from JUPYTER_TOKEN, else asked for at a terminal."""
    check_token_destination(url)
    token = os.environ.get("JUPYTER_TOKEN", "")
    if not token and sys.stdin.isatty():
        token = getpass.getpass(f"The Jupyter server at {url} has no key file here; its token: ")
    if not token:
        raise NoServer(
            f"No key file of a Jupyter server at {url} (JUPYTER_OPENEO_AUTH_SERVER) is here (running "
            f"here: {_names(servers)}). Give that server's token in JUPYTER_TOKEN."
        )
    return {
        "url": url.rstrip("/"),
        "key": token,
        "scheme": "token",
        "default_backend": None,
        "pid": None,
        "root_dir": "",
    }


def this_kernel_id() -> str | None:
    """The id the Jupyter server knows this kernel by (its connection file is kernel-ID.json); None outside a
    kernel. Reads what ipykernel already loaded; imports nothing."""
    app = getattr(sys.modules.get("ipykernel.kernelapp"), "IPKernelApp", None)
    if app is None or not app.initialized():
        return None
    name = os.path.basename(app.instance().connection_file or "")
    return name[len("kernel-") : -len(".json")] if name.startswith("kernel-") and name.endswith(".json") else None


def _names(servers: list[dict]) -> str:
    return ", ".join(f"{s['url']} (root {s['root_dir'] or '?'})" for s in servers) or "none"


class ServerClient:
    """The server's openeo-auth REST API, authenticated with the kernel key. The key is kept in this
    object only (not in os.environ) and never shown."""

    def __init__(self, url: str | None = None, key: str | None = None, timeout: float = 15.0):
        self.default_backend: str | None = None
        scheme = SCHEME
        if url is None or key is None:
            found = find_server()
            url, key, self.default_backend = found["url"], found["key"], found["default_backend"]
            scheme = found.get("scheme", SCHEME)  # "token": the server's own token (JUPYTER_TOKEN)
        self.api = f"{url.rstrip('/')}/{API_PREFIX}/"
        self._headers = {"Authorization": f"{scheme} {key}"}
        kernel_id = this_kernel_id() if scheme == SCHEME else None
        if kernel_id:
            self._headers[KERNEL_ID_HEADER] = kernel_id
        self.timeout = timeout
        if self.default_backend is None and scheme != SCHEME:
            self.default_backend = self.settings().get("default_backend")

    def __repr__(self) -> str:
        return f"<ServerClient {self.api}>"

    def call(self, method: str, path: str, body: dict | None = None, params: dict | None = None) -> dict:
        """One request; an error answer raises with the server's sentence."""
        status, data = self._send(method, path, body, params)
        if status >= 400:
            message = data.get("message") or f"The Jupyter server answered HTTP {status}."
            reason = data.get("reason")
            if reason == Reason.NOT_LOGGED_IN:
                raise NotLoggedIn(message)
            if reason == Reason.LOGIN_REQUIRED:
                raise LoginRequired(message)
            error = OpenEOAuthError(message)
            error.reason = reason or Reason.ERROR
            raise error
        return data

    def _send(self, method: str, path: str, body: dict | None, params: dict | None) -> tuple[int, dict]:
        """(status, JSON object) of one request, with the standard library's http.client: not through
        `requests`, whose mocks in a user's tests (requests_mock, responses) would catch this package's own
        calls to its server, and would see them. `NoServer` when the server cannot be reached."""
        url = urlsplit(self.api)
        query = urlencode({k: v for k, v in (params or {}).items() if v})
        target = url.path + path + (f"?{query}" if query else "")
        kind = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
        connection = kind(url.hostname or "127.0.0.1", url.port, timeout=self.timeout)
        headers = {**self._headers, "Accept": "application/json"}
        payload = None
        if body is not None:
            payload, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        try:
            connection.request(method, target, payload, headers)
            response = connection.getresponse()
            status, raw = response.status, response.read()
        except (OSError, http.client.HTTPException):
            raise NoServer(f"Cannot reach the Jupyter server at {self.api}; is it still running?") from None
        finally:
            connection.close()
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            data = {}
        return status, data if isinstance(data, dict) else {}

    def token(
        self, backend: str, provider_id: str | None = None, min_valid: float = 60, flow: str | None = None
    ) -> Token:
        """POST token: {access_token, expires_at, provider_id, bearer, user} (from a login of `flow`, if named)."""
        body = {
            "backend": backend,
            "provider_id": provider_id,
            "min_valid": min_valid,
            **({"flow": flow} if flow else {}),
        }
        return cast("Token", self.call("POST", "token", body))

    def settings(self) -> Settings:
        """GET settings: the default back-end and the back-ends with a service account (never a secret)."""
        return cast("Settings", self.call("GET", "settings"))

    def start_login(self, backend: str, provider_id: str | None = None, **extra: str) -> Login:
        """POST logins."""
        return cast("Login", self.call("POST", "logins", {"backend": backend, "provider_id": provider_id, **extra}))

    def login(self, login_id: str) -> Login:
        return cast("Login", self.call("GET", f"logins/{login_id}"))

    def follow(self, login: Login, every: float, tick: Callable[[Login], None] | None = None) -> Login:
        """Ask about a pending login every `every` seconds until it ends; `tick(login)` after each answer while
        it waits. The one follower of a login on the Python side (the widget's thread, the CLI)."""
        while login["state"] == LoginState.PENDING:
            time.sleep(every)
            try:
                login = self.login(login["id"])
            except OpenEOAuthError as e:
                login = ended_by(e, login["id"])
            if tick is not None and login["state"] == LoginState.PENDING:
                tick(login)
        return login

    def cancel(self, login_id: str, unless_waited_for: bool = False) -> Login:
        """DELETE logins/ID; `unless_waited_for`: this caller stops waiting (the login is cancelled only when
        nobody else, the JupyterLab dialog say, waits for it)."""
        params = {"unless_waited_for": "true"} if unless_waited_for else None
        return cast("Login", self.call("DELETE", f"logins/{login_id}", params=params))

    def providers(self, backend: str) -> Providers:
        return cast("Providers", self.call("GET", "providers", params={"backend": backend}))

    def sessions(self, backend: str | None = None) -> list[Session]:
        """GET sessions, one per back-end a login serves; with `backend`, a login that can serve it is listed
        for it too (the same account at the same provider and client, or JupyterHub's)."""
        answer = self.call("GET", "sessions", params={"backend": backend} if backend else None)
        return cast("list[Session]", answer["sessions"])

    def pending_logins(self) -> list[Login]:
        """GET logins: the logins waiting for approval (a notebook's, the dialog's, another terminal's)."""
        return cast("list[Login]", self.call("GET", "logins")["logins"])

    def logout(self, backend: str, provider_id: str | None = None) -> Logout:
        params = {"backend": backend, **({"provider_id": provider_id} if provider_id else {})}
        return cast("Logout", self.call("DELETE", "sessions", params=params))


_default: ServerClient | None = None


def server() -> ServerClient:
    """The client for this kernel's server (found once)."""
    global _default
    if _default is None:
        _default = ServerClient()
    return _default
