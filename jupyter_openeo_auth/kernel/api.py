"""The public kernel API: `login()`, `connect()`, `get_token()`."""

from __future__ import annotations

from .auth import AccessToken, ServerTokenAuth, fetch_token
from .client import server
from .widget import LoginWidget


def get_token(backend: str, provider_id: str | None = None, min_valid: float = 60) -> AccessToken:
    """An access token for `backend` valid for at least `min_valid` seconds (raises `NotLoggedIn`)."""
    return fetch_token(server(), backend, provider_id, min_valid)


def connect(backend: str, provider_id: str | None = None, min_valid: float = 60, flow: str | None = None):
    """An `openeo.Connection` whose every request carries a token from the server valid for at least
    `min_valid` seconds. Raises `NotLoggedIn` (saying how to log in) when the server has no login."""
    auth = ServerTokenAuth(server(), backend, provider_id, min_valid, flow)
    auth.token()  # fail now, with a sentence, rather than at the first request
    return _connection(backend, auth)


def connect_when_logged_in(widget: LoginWidget, min_valid: float = 60):
    """An `openeo.Connection` for a widget's login that may still be pending: its first request waits until
    the login ends, then proceeds, or raises the login's sentence (`LoginEnded`). So "Run All" goes on past
    the login cell while the user approves."""
    auth = ServerTokenAuth(widget.client, widget.backend, widget.provider_id, min_valid, before_first=widget.outcome)
    return _connection(widget.backend, auth)


def _connection(backend: str, auth: ServerTokenAuth):
    import openeo

    connection = openeo.connect(backend)
    connection.auth = auth
    return connection


def login(backend: str | None = None, provider_id: str | None = None) -> LoginWidget:
    """A `LoginWidget` for `backend` (default: the server's `OpenEOAuth.default_backend`); display it."""
    return LoginWidget(backend or default_backend(), provider_id)


def default_backend() -> str:
    """The back-end used when none is named: the server's `OpenEOAuth.default_backend` (which defaults to
    the server's $OPENEO_BACKEND, else https://openeo.cloud)."""
    return server().default_backend or "https://openeo.cloud"
