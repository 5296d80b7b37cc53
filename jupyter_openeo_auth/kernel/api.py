"""The public kernel API: `login()`, `connect()`, `get_token()`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..wire import NOT_STARTED, LoginState
from .auth import AccessToken, ServerTokenAuth, fetch_token, for_openeo
from .client import server
from .widget import LoginWidget

if TYPE_CHECKING:
    import openeo

    from .models import Logout


def get_token(backend: str, provider_id: str | None = None, min_valid: float = 60) -> AccessToken:
    """An access token for `backend` valid for at least `min_valid` seconds (raises `NotLoggedIn`)."""
    return fetch_token(server(), backend, provider_id, min_valid)


def connect(
    backend: str, provider_id: str | None = None, min_valid: float = 60, flow: str | None = None
) -> openeo.Connection:
    """An `openeo.Connection` whose every request carries a token from the server valid for at least
    `min_valid` seconds. Raises `NotLoggedIn` (saying how to log in) when the server has no login."""
    auth = ServerTokenAuth(server(), backend, provider_id, min_valid, flow)
    auth.token()  # fail now, with a sentence, rather than at the first request
    return _connection(backend, auth)


def logout(backend: str, provider_id: str | None = None) -> Logout:
    """Log out of `backend` on the server (it forgets and revokes the login): the next `authenticate_oidc()`
    or `login()` makes a fresh one. Returns the server's answer (`logged_out`, `revoked`, `message`?)."""
    return server().logout(backend, provider_id)


def connect_when_logged_in(widget: LoginWidget, min_valid: float = 60) -> openeo.Connection:
    """An `openeo.Connection` for a widget's login that may still be pending: its first request waits until
    the login ends, then proceeds, or raises the login's sentence (`LoginEnded`). So "Run All" goes on past
    the login cell while the user approves."""
    auth = ServerTokenAuth(widget.client, widget.backend, widget.provider_id, min_valid, before_first=widget.outcome)
    return _connection(widget.backend, auth)


def _connection(backend: str, auth: ServerTokenAuth) -> openeo.Connection:
    import openeo

    connection = openeo.connect(backend)
    connection.auth = for_openeo(auth)
    return connection


def bind_connection(widget: LoginWidget, namespace: dict, var: str) -> None:
    """Bind `var` in the notebook to an `openeo.Connection` for the widget's login, at once: authenticated when
    the server is logged in, else the login starts and the connection's first request waits for it (see
    `connect_when_logged_in`), so that "Run All" goes on. What `%openeo_login` and a displayed `login()` do.
    Nothing is bound, and the back-end not contacted, when the server could not use it (the widget says why)."""
    note = f"`{var}` is an authenticated openeo.Connection to {widget.backend}."
    state = widget.state  # the server's first answer about the back-end
    if state == LoginState.LOGGED_IN:
        namespace[var] = connect(widget.backend, widget.provider_id)
        print(f"Logged in: {note}")  # in this cell's output, not a later one's
        return
    if state != NOT_STARTED:  # the back-end cannot be reached, or has no such provider: the widget says so
        return
    # The widget shows the note once logged in (printing from its thread would land in another cell). Asked for
    # before the login starts: the code is on screen at once, and the user may approve it while this cell still
    # binds the connection (which it does before the cell ends, so before any later cell can use it).
    bound: list[bool] = []
    widget.on_login(lambda _login: note if bound != [False] else None)
    widget.start()
    if widget.state not in (LoginState.PENDING, LoginState.LOGGED_IN):
        return
    try:
        namespace[var] = connect_when_logged_in(widget)
    except Exception as e:  # noqa: BLE001 - openeo.connect could not reach the back-end: say so, bind nothing
        bound.append(False)
        print(f"Could not connect to {widget.backend}: {e}")


def login(backend: str | None = None, provider_id: str | None = None, var: str | None = "connection") -> LoginWidget:
    """A `LoginWidget` for `backend` (default: the server's `OpenEOAuth.default_backend`). Displayed (the last
    line of a cell), it starts the login and binds `var` in the notebook as `%openeo_login` does; `var=None`
    binds nothing (then click the button, or call `.start()`)."""
    widget = LoginWidget(backend or default_backend(), provider_id)
    if var:
        widget.when_displayed(lambda: bind_connection(widget, _notebook_namespace(), var))
    return widget


def _notebook_namespace() -> dict:
    from IPython import get_ipython

    shell = get_ipython()
    return shell.user_ns if shell is not None else {}


def default_backend() -> str:
    """The back-end used when none is named: the server's `OpenEOAuth.default_backend` (which defaults to
    the server's $OPENEO_BACKEND, else https://openeo.cloud)."""
    return server().default_backend or "https://openeo.cloud"
