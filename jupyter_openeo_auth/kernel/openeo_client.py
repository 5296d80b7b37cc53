"""The openeo client's own login calls, answered by the Jupyter server's login.

Every openEO tutorial says `openeo.connect(url).authenticate_oidc()`. In a kernel where this package is loaded
(`%load_ext jupyter_openeo_auth`), that call, `authenticate_oidc_device()`, `authenticate_oidc_refresh_token()`
without a refresh token and `authenticate_oidc_client_credentials()` without a client id or secret use the
server's login instead of running a device flow in the kernel and writing a refresh token to a plain file.

Why a patch: the openeo client has no plug-in point for where its tokens come from, so the few methods are
replaced on `openeo.rest.connection.Connection`, in the kernel process only, when that module is imported. What
the user spelled out (a secret, a refresh token, an access token, basic auth, `OPENEO_AUTH_METHOD`) goes to the
openeo client untouched; so does every call when no Jupyter server with this extension can be reached. A client
whose signatures this module does not know keeps its own behaviour, with one warning.
Off switch: `JUPYTER_OPENEO_AUTH_OPENEO_CLIENT=off` in the kernel's environment, or `uninstall()`.
"""

from __future__ import annotations

import functools
import importlib.abc
import inspect
import os
import sys
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import LoginRequired, NotLoggedIn, OpenEOAuthError
from ..urls import normalize_url
from ..wire import Flow
from .client import NoServer, ServerClient, session_for

if TYPE_CHECKING:  # importing it at start would cost every kernel
    from .auth import ServerTokenAuth

MODULE = "openeo.rest.connection"
SWITCH = "JUPYTER_OPENEO_AUTH_OPENEO_CLIENT"
#: The methods taken over and the parameters this module knows them by (openeo 0.30 … 0.5x).
KNOWN: dict[str, tuple] = {
    "authenticate_oidc": (
        "self",
        "provider_id",
        "client_id",
        "client_secret",
        "store_refresh_token",
        "use_pkce",
        "display",
        "max_poll_time",
    ),
    "authenticate_oidc_device": (
        "self",
        "client_id",
        "client_secret",
        "provider_id",
        "store_refresh_token",
        "use_pkce",
        "max_poll_time",
        "kwargs",
    ),
    "authenticate_oidc_refresh_token": (
        "self",
        "client_id",
        "refresh_token",
        "client_secret",
        "provider_id",
        "store_refresh_token",
    ),
    "authenticate_oidc_client_credentials": ("self", "client_id", "client_secret", "provider_id"),
}
#: Asked by the openeo client (and its job managers) for a fresh token: answered by the server for its logins.
REFRESH = "try_access_token_refresh"


def enabled() -> bool:
    """Is the take-over switched on (the default)?"""
    return os.environ.get(SWITCH, "").strip().lower() not in ("0", "off", "false", "no")


def install(connection_class: Any = None) -> None:
    """Take over the openeo client's login calls now, or as soon as `openeo.rest.connection` is imported."""
    if not enabled():
        return
    if connection_class is None and MODULE not in sys.modules:
        if not any(isinstance(f, _PatchOnImport) for f in sys.meta_path):
            sys.meta_path.insert(0, _PatchOnImport())
        return
    cls = connection_class or sys.modules[MODULE].Connection
    for name, params in KNOWN.items():
        original = getattr(cls, name, None)
        if original is None or getattr(original, "_joa_original", None) is not None:
            continue
        if tuple(inspect.signature(original).parameters) != params:
            warnings.warn(
                f"jupyter-openeo-auth does not know this openeo client's Connection.{name}(); it keeps "
                "its own login there instead of using the Jupyter server's.",
                stacklevel=2,
            )
            continue
        setattr(cls, name, _take_over(name, original))
    refresh = getattr(cls, REFRESH, None)
    if refresh is not None and getattr(refresh, "_joa_original", None) is None:
        setattr(cls, REFRESH, _refresh_through_server(refresh))


def _refresh_through_server(original: Callable) -> Callable:
    """`Connection.try_access_token_refresh()` of a connection the server logs in asks the server (the client's
    own would look for a refresh token of its own, find none, and answer False: job managers then warn and
    their job start threads fail)."""

    @functools.wraps(original)
    def try_access_token_refresh(self, *args, **kwargs):
        from .auth import ServerTokenAuth

        if not isinstance(self.auth, ServerTokenAuth):
            return original(self, *args, **kwargs)
        try:
            self.auth.renew()
        except OpenEOAuthError:
            return False
        return True

    try_access_token_refresh._joa_original = original  # type: ignore[attr-defined]
    return try_access_token_refresh


def uninstall(connection_class: Any = None) -> None:
    """Give the openeo client its own login calls back."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _PatchOnImport)]
    cls = connection_class or getattr(sys.modules.get(MODULE), "Connection", None)
    for name in (*KNOWN, REFRESH):
        original = getattr(getattr(cls, name, None), "_joa_original", None)
        if original is not None:
            setattr(cls, name, original)


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Patches `openeo.rest.connection` right after it is imported (importing openeo takes a second, which a
    kernel that never uses it should not pay)."""

    def find_spec(self, name, path, target=None):
        if name != MODULE:
            return None
        for finder in sys.meta_path:
            spec = None if finder is self else getattr(finder, "find_spec", lambda *a: None)(name, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _Loader(spec.loader)
                return spec
        return None


class _Loader(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        install(module.Connection)


def _take_over(name: str, original: Callable) -> Callable:
    signature = inspect.signature(original)

    @functools.wraps(original)
    def method(*args, **kwargs):
        try:
            call = signature.bind(*args, **kwargs)
        except TypeError:  # the openeo client says what is wrong with the call
            return original(*args, **kwargs)
        call.apply_defaults()
        given = call.arguments
        if _spelled_out(name, given) or not enabled():
            return original(*args, **kwargs)
        try:
            connection = _use_server(given["self"], name, given)
        except NoServer:  # a kernel started elsewhere, or a plain script
            connection = None
        return original(*args, **kwargs) if connection is None else connection

    method._joa_original = original  # type: ignore[attr-defined]
    return method


def _spelled_out(name: str, given: dict) -> bool:
    """Did the user name a secret, a token or an auth method of their own? Then it is theirs to use."""
    if given.get("client_secret") or given.get("refresh_token"):
        return True
    if name == "authenticate_oidc":
        return bool(os.environ.get("OPENEO_AUTH_METHOD"))
    if name == "authenticate_oidc_client_credentials":
        return bool(given.get("client_id") or "OPENEO_AUTH_CLIENT_ID" in os.environ)
    return False


_said: set[str] = set()


def _say_once(sentence: str) -> None:
    """Print a sentence once per kernel (a notebook calls authenticate_oidc() in many cells)."""
    if sentence not in _said:
        _said.add(sentence)
        print(sentence)


def _backend(connection: Any) -> str:
    return getattr(connection, "_orig_url", None) or connection.root_url


def _use_server(connection: Any, name: str, given: dict) -> Any:
    """The connection, authenticated through the server's login; None to leave the call to the openeo client."""
    from .auth import ServerTokenAuth
    from .client import server

    client = server()  # raises NoServer when there is none
    backend, provider_id = _backend(connection), given.get("provider_id")
    if given.get("store_refresh_token"):
        _say_once(
            "store_refresh_token: the Jupyter server keeps this login and renews it; the openeo client stores "
            f"no refresh token here. For a fresh login, call jupyter_openeo_auth.logout({backend!r}) first."
        )
    if name == "authenticate_oidc_client_credentials":
        configured = client.settings().get("service_account_backends") or []
        if normalize_url(backend) not in configured:
            return None  # no service account on the server: the openeo client's own flow and its message
        client.start_login(backend, provider_id, flow=Flow.CLIENT_CREDENTIALS)
        return _authenticated(connection, ServerTokenAuth(client, backend, provider_id, flow=Flow.CLIENT_CREDENTIALS))
    provider_id, client_id, secret = _as_configured(connection, provider_id, given.get("client_id"))
    auth = ServerTokenAuth(client, backend, provider_id)
    if not _logged_in(client, auth, client_id):
        wait = given.get("max_poll_time") or 300
        _log_in_on_the_server(client, backend, provider_id, client_id, wait, client_secret=secret)
    return _authenticated(connection, auth)


def _as_configured(
    connection: Any, provider_id: str | None, client_id: str | None
) -> tuple[str | None, str | None, str | None]:
    """(provider id, client id, client secret) as the openeo client itself would choose them: the provider
    named, else `OPENEO_AUTH_PROVIDER_ID`, else the one provider of its config file for this back-end, else the
    back-end's first; the client named, else the one (and its secret) `openeo-auth add-oidc` saved in its
    auth-config.json. The server's login is made with them. A provider the back-end does not list raises the
    openeo client's own error. An older client without these helpers leaves the choice to the server."""
    choose = getattr(connection, "_get_oidc_provider", None)
    config = getattr(connection, "_get_auth_config", None)
    if choose is None or config is None:
        return provider_id, client_id, None
    provider_id, _ = choose(provider_id, parse_info=False)
    secret = None
    if client_id is None:
        client_id, secret = config().get_oidc_client_configs(backend=_backend(connection), provider_id=provider_id)
    return provider_id, client_id, secret or None


def _logged_in(client: ServerClient, auth: ServerTokenAuth, client_id: str | None) -> bool:
    """Does the server hold a usable login for this back-end (made with the client named, when one is)?"""
    if client_id and session_for(client.sessions(auth.backend), auth.backend, auth.provider_id, client_id) is None:
        return False
    try:
        auth.token()
    except (NotLoggedIn, LoginRequired):
        return False
    return True


def _log_in_on_the_server(
    client: ServerClient,
    backend: str,
    provider_id: str | None,
    client_id: str | None,
    max_poll_time: float,
    client_secret: str | None = None,
) -> None:
    """Show the login widget in this cell, start the login on the server, and wait as the openeo client would."""
    from .widget import LoginWidget

    widget = LoginWidget(backend, provider_id, client=client, client_id=client_id, client_secret=client_secret)
    try:
        widget.display()
        widget.start()
        widget.result(max_poll_time)  # raises LoginEnded with the login's sentence
    except KeyboardInterrupt:  # the kernel's Interrupt, whenever it comes: nothing waits for the login any more
        widget.cancel(unless_waited_for=True)
        raise


def _authenticated(connection, auth):
    from .auth import for_openeo
    from .describe import name_of

    token = auth.token()
    connection.auth = for_openeo(auth)
    print(f"Authenticated as {name_of(token.user)} with the Jupyter server's openEO login (jupyter-openeo-auth).")
    return connection
