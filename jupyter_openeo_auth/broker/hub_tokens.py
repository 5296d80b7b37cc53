"""Sessions from JupyterHub's own login: when the hub logs users in with OpenID Connect at the issuer an
openEO back-end lists, the user's server asks the hub for the user's access token (auth_state) instead of
running a login of its own. Another source of sessions beside the device, password and service-account
flows: the broker asks it for tokens, and asks again when a caller needs more validity than is left."""

from __future__ import annotations

import time
from urllib.parse import quote

from ..errors import HubUnavailable
from ..oidc import AsyncHttpClient, LoginRequired, OpenEOAuthError, TokenSet
from ..oidc.tokens import decode_claims
from ..oidc.transport import get

#: After the hub said it holds no login for this user, do not ask again for this long (seconds): the status
#: bar and waiting widgets list the sessions often, and a hub without auth_state will not change its mind.
ABSENT_FOR = 60.0


class HubTokens:
    """The hub user's tokens, asked with the server's own API token. With `service_url` (the hub's token service,
    `python -m jupyter_openeo_auth.hub`; recommended), from `GET {service_url}token`, which hands out the access
    token only. Without, from `GET $JUPYTERHUB_API_URL/users/$JUPYTERHUB_USER` (the token then needs the
    `admin:auth_state!user` scope; `/hub/api/user` returns no auth_state): that auth_state also holds the
    refresh token, which is read into memory for a moment, never kept, used or logged."""

    def __init__(self, api_url: str, user: str, api_token: str, http: AsyncHttpClient, service_url: str | None = None):
        if service_url:
            self.url, self._in_auth_state = service_url.rstrip("/") + "/token", False
        else:
            self.url, self._in_auth_state = f"{api_url.rstrip('/')}/users/{quote(user, safe='')}", True
        self.user = user
        self._headers = {"Authorization": f"token {api_token}"}
        self.http = http
        self._absent_until = 0.0
        #: The `iss` of the hub's last id token, decoded unverified: only where to ask who it is (`HubSessions`).
        self.issuer_hint = ""

    def __repr__(self) -> str:
        return f"<HubTokens {self.url}>"

    async def tokens(self, _previous: TokenSet | None = None) -> TokenSet:
        """The user's current access token from the hub (the hub renews it; see jupyter_openeo_auth.hub).
        Raises `LoginRequired` when the hub holds none for this user."""
        if time.monotonic() < self._absent_until:
            raise self._absent()
        try:
            status, model = await self.http.send(get(self.url, self._headers, unavailable=HubUnavailable))
        except OpenEOAuthError as e:
            if e.transient:
                raise
            status, model = getattr(e, "status", 0), {}
        state = (model.get("auth_state") if self._in_auth_state else model) if status == 200 else None
        if not isinstance(state, dict) or not isinstance(state.get("access_token"), str):
            self._absent_until = time.monotonic() + ABSENT_FOR
            raise self._absent()
        self.issuer_hint = str(decode_claims(state.get("id_token")).get("iss", ""))
        return _token_set(state)

    @staticmethod
    def _absent() -> LoginRequired:
        return LoginRequired(
            "JupyterHub holds no OpenID login for you that this server may read (no auth_state, or its API "
            "token may not ask for it: see the README's JupyterHub section). Log in to openEO here instead."
        )


def _token_set(state: dict) -> TokenSet:
    """A TokenSet from auth_state: the access token and its expiry; never the refresh token. Who logged in is
    asked at the issuer's userinfo endpoint (`HubSessions`), not read from the unverified id token."""
    now, mono = time.time(), time.monotonic()
    expires_at, lifetime = state.get("expires_at"), state.get("expires_in")
    response: dict = state["token_response"] if isinstance(state.get("token_response"), dict) else {}
    if not isinstance(expires_at, (int, float)):  # the hub's hooks are not installed: count from now
        lifetime = response.get("expires_in")
        expires_at = now + float(lifetime) if isinstance(lifetime, (int, float)) else None
    issued_at = expires_at - float(lifetime) if expires_at is not None and isinstance(lifetime, (int, float)) else None
    return TokenSet(
        access_token=state["access_token"],
        expires_at=expires_at,
        refresh_token=None,
        scope=" ".join(state.get("scope") or []) if isinstance(state.get("scope"), list) else "",
        issued_at=issued_at,
        expires_mono=mono + (expires_at - now) if expires_at is not None else None,
    )
