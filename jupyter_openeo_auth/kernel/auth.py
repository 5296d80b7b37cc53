"""Access tokens in the kernel: `AccessToken` (never shown) and the `requests` auth an openeo.Connection
uses to ask the server for a fresh token before each request."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from ..errors import LoginEnded, NotLoggedIn
from .client import ServerClient


class AccessToken:
    """A short-lived access token from the server. repr/str show the expiry, never the token."""

    __slots__ = ("_token", "expires_at", "provider_id", "user")

    def __init__(self, token: str, expires_at: float | None, provider_id: str, user: Mapping[str, Any] | None = None):
        self._token = token
        self.expires_at = expires_at
        self.provider_id = provider_id
        self.user = user or {}

    @property
    def value(self) -> str:
        """The token itself: pass it on, do not print it."""
        return self._token

    @property
    def bearer(self) -> str:
        """openEO's bearer string `oidc/PROVIDER/TOKEN`."""
        return f"oidc/{self.provider_id}/{self._token}"

    def remaining(self) -> float:
        """Seconds until it expires."""
        return float("inf") if self.expires_at is None else self.expires_at - time.time()

    def __repr__(self) -> str:
        return f"<AccessToken provider={self.provider_id!r} valid for {self.remaining():.0f} s>"

    __str__ = __repr__

    def __reduce__(self):
        raise TypeError("An AccessToken is not meant to be pickled or saved.")


#: A cached token is used for at most this long (seconds) before the server is asked again: a logout, a revoked
#: or a replaced login reaches every kernel within it. The server answers from its own cache (a loopback round
#: trip, no provider), so a connection's requests cost the same as with a token held alone.
RECHECK = 5.0


class ServerTokenAuth(requests.auth.AuthBase):
    """Adds `Authorization: Bearer oidc/PID/TOKEN` with a token valid for at least `min_valid` seconds,
    asking the server only when the cached one would not last that long. `before_first` (a pending login's
    wait, so that "Run All" can go on while the user approves) runs before the first token is asked: it returns
    None once logged in, else the login's sentence, raised when the server has no login after all."""

    def __init__(
        self,
        client: ServerClient,
        backend: str,
        provider_id: str | None = None,
        min_valid: float = 60,
        flow: str | None = None,
        before_first: Callable[[], str | None] | None = None,
    ):
        self.client = client
        self.backend = backend
        self.provider_id = provider_id
        self.min_valid = min_valid
        self.flow = flow
        self._before_first = before_first
        self._token: AccessToken | None = None
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<ServerTokenAuth {self.backend} min_valid={self.min_valid:g}s>"

    def token(self) -> AccessToken:
        """The cached token while it is valid long enough, else a fresh one from the server."""
        with self._lock:
            problem = self._before_first() if self._before_first is not None else None
            if problem is None:
                self._before_first = None
            stale = time.monotonic() - self._fetched_at > RECHECK
            if self._token is None or stale or self._token.remaining() < self.min_valid:
                try:
                    self._token = fetch_token(self.client, self.backend, self.provider_id, self.min_valid, self.flow)
                    self._fetched_at = time.monotonic()
                except NotLoggedIn:
                    if problem:  # the login this connection waited for ended, and no other one serves
                        raise LoginEnded(problem) from None
                    raise
            return self._token

    @property
    def bearer(self) -> str:
        """openEO's bearer string `oidc/PROVIDER/TOKEN` of a token valid for at least `min_valid` seconds: what
        the openeo client's own `BearerAuth.bearer` holds, read fresh (job managers start jobs with it)."""
        return self.token().bearer

    def renew(self) -> AccessToken:
        """Ask the server again, whatever is cached (the openeo client's `try_access_token_refresh()`)."""
        with self._lock:
            self._token = None
        return self.token()

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self.bearer}"
        return request


@functools.cache
def _openeo_kind() -> type:
    """`ServerTokenAuth` as the openeo client's own kind of auth, an `OidcBearerAuth` (made on first use:
    importing openeo costs a second that a kernel without openEO should not pay). The openeo client and its
    extras look at `connection.auth` with isinstance: `as_curl`, `try_access_token_refresh`, the job managers'
    job start threads and `openeo.extra.artifacts` take only its own bearer kinds."""
    from openeo.rest.auth.auth import OidcBearerAuth

    return type("ServerTokenAuth", (ServerTokenAuth, OidcBearerAuth), {"__module__": __name__})


def for_openeo(auth: ServerTokenAuth) -> ServerTokenAuth:
    """The same auth, as the openeo client's own kind (see `_openeo_kind`); `OidcBearerAuth.__init__` is not
    run: its fixed `bearer` is the property that asks the server."""
    kind = _openeo_kind()
    if not isinstance(auth, kind):
        auth.__class__ = kind
    return auth


def fetch_token(
    client: ServerClient, backend: str, provider_id: str | None, min_valid: float, flow: str | None = None
) -> AccessToken:
    """Ask the server for a token (raises NotLoggedIn / LoginRequired)."""
    data = client.token(backend, provider_id, min_valid, flow)
    return AccessToken(data["access_token"], data.get("expires_at"), data["provider_id"], data.get("user"))
