"""OAuth grants against one OpenID provider: device code (RFC 8628, with PKCE), refresh, client
credentials, password, and revocation (RFC 7009). Step-wise (nothing here sleeps) and written once as
exchanges, with two typed faces over them: `OidcClient` and `DeviceAuthorization` block (scripts, tests),
`AsyncOidcClient` and `AsyncDeviceAuthorization` are awaited (the Jupyter server's event loop)."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus

from ..errors import (
    BadResponse,
    DeviceCodeExpired,
    FlowNotSupported,
    LoginDenied,
    LoginRequired,
    OpenEOAuthError,
    ProviderUnavailable,
    TokenRequestFailed,
)
from ..flows import DEVICE
from .discovery import IssuerMetadata
from .tokens import TokenSet
from .transport import AsyncHttpClient, Exchange, HttpClient, get, post_form

DEFAULT_INTERVAL = 5.0  # RFC 8628 section 3.2, when the provider gives none
MAX_INTERVAL = 60.0  # an absurd interval from a provider would stall the login
DEFAULT_CODE_LIFETIME = 600.0
MAX_CODE_LIFETIME = 1800.0  # a device code is a bearer credential: no longer than 30 minutes
SLOW_DOWN_STEP = 5.0
MAX_BACKOFF = 60.0


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge): a fresh 86-character verifier from `secrets` (RFC 7636 allows 43-128)."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _describe(body: dict) -> str:
    text = body.get("error_description") or body.get("error") or "no reason given"
    return str(text)[:200]


class Grants:
    """One OAuth client (id, optional secret) at one provider, as exchanges; its faces `OidcClient` and
    `AsyncOidcClient` run them. The secret is never shown.

    `clock` is monotonic: poll spacing and a device code's expiry do not follow jumps of the host's clock."""

    def __init__(
        self,
        metadata: IssuerMetadata,
        client_id: str,
        *,
        client_secret: str | None = None,
        scopes: tuple[str, ...] = ("openid",),
        clock: Callable[[], float] = time.monotonic,
    ):
        self.metadata = metadata
        self.client_id = client_id
        self._client_secret = client_secret
        self.scopes = tuple(dict.fromkeys(("openid",) + tuple(scopes)))
        self.clock = clock

    def __repr__(self) -> str:
        return f"{type(self).__name__}(issuer={self.metadata.issuer!r}, client_id={self.client_id!r})"

    @property
    def client_secret(self) -> str | None:
        """The confidential client's secret (for the session store, beside the refresh token it renews)."""
        return self._client_secret

    def _auth(self, data: dict) -> tuple[str, str] | None:
        """Client authentication: HTTP Basic for a confidential client unless only client_secret_post works."""
        if self._client_secret is None:
            data["client_id"] = self.client_id
            return None
        methods = self.metadata.token_endpoint_auth_methods
        if "client_secret_basic" not in methods and "client_secret_post" in methods:
            data.update(client_id=self.client_id, client_secret=self._client_secret)
            return None
        # RFC 6749 section 2.3.1: both parts are form-urlencoded before Basic (providers decode them).
        return (quote_plus(self.client_id), quote_plus(self._client_secret))

    def token_request(self, data: dict) -> Exchange[tuple[int, dict, tuple[float, float]]]:
        """POST to the token endpoint: (status, body, (wall time, monotonic time) sent). Transport errors raise."""
        auth = self._auth(data)
        sent = (time.time(), time.monotonic())
        status, body = yield post_form(self.metadata.token_endpoint, data, auth)
        return status, body, sent

    def _tokens(self, data: dict, what: str) -> Exchange[TokenSet]:
        status, body, sent = yield from self.token_request(data)
        if status == 200 and "access_token" in body:
            return TokenSet.from_response(body, sent, source=self.metadata.issuer)
        if body.get("error") == "invalid_grant" and data.get("grant_type") == "refresh_token":
            raise LoginRequired(
                f"The login to {self.metadata.issuer} is no longer valid ({_describe(body)}). Log in again."
            )
        raise TokenRequestFailed(
            f"{self.metadata.issuer} refused the {what} ({_describe(body)}).", error=str(body.get("error", ""))
        )

    def _start_device_authorization(self, pkce: bool) -> Exchange[tuple[dict, str | None, float]]:
        endpoint = self.metadata.device_authorization_endpoint
        if not endpoint:
            raise FlowNotSupported(f"{self.metadata.issuer} does not offer the device login flow.")
        data = {"scope": " ".join(self.scopes)}
        verifier = None
        if pkce:
            verifier, challenge = pkce_pair()
            data.update(code_challenge=challenge, code_challenge_method="S256")
        auth = self._auth(data)
        started = self.clock()
        status, body = yield post_form(endpoint, data, auth)
        if status != 200 or not isinstance(body.get("device_code"), str) or not isinstance(body.get("user_code"), str):
            raise TokenRequestFailed(f"{self.metadata.issuer} refused to start a device login ({_describe(body)}).")
        return body, verifier, started

    def _refresh(self, tokens: TokenSet) -> Exchange[TokenSet]:
        if not tokens.refresh_token:
            raise LoginRequired("This login cannot be renewed (no refresh token). Log in again.")
        data = {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token}
        newer = yield from self._tokens(data, "token refresh")
        return tokens.updated_by(newer)

    def _client_credentials(self) -> Exchange[TokenSet]:
        if self._client_secret is None:
            raise FlowNotSupported("The client credentials flow needs a client secret; none is configured.")
        data = {"grant_type": "client_credentials", "scope": " ".join(self.scopes)}
        return (yield from self._tokens(data, "service login"))

    def _password(self, username: str, password: str) -> Exchange[TokenSet]:
        data = {"grant_type": "password", "username": username, "password": password, "scope": " ".join(self.scopes)}
        return (yield from self._tokens(data, "password login"))

    def _userinfo(self, access_token: str) -> Exchange[dict]:
        if not self.metadata.userinfo_endpoint:
            return {}
        try:
            status, claims = yield get(self.metadata.userinfo_endpoint, {"Authorization": f"Bearer {access_token}"})
        except (BadResponse, ProviderUnavailable):  # only the name to show: the login stands without it
            return {}
        return claims if status == 200 and "sub" in claims else {}

    def _revoke(self, token: str, hint: str) -> Exchange[bool]:
        if not self.metadata.revocation_endpoint:
            return False
        data = {"token": token, "token_type_hint": hint}
        auth = self._auth(data)
        status, _ = yield post_form(self.metadata.revocation_endpoint, data, auth)
        return status == 200


class OidcClient(Grants):
    """The blocking face: each grant returns its result (scripts, tests)."""

    def __init__(
        self, metadata: IssuerMetadata, client_id: str, *, http: HttpClient | None = None, **options: Any
    ) -> None:
        super().__init__(metadata, client_id, **options)
        self.http = http or HttpClient()

    def start_device_authorization(self, pkce: bool = True) -> DeviceAuthorization:
        """Ask for a user code (RFC 8628 section 3.1); poll the answer when `seconds_to_next_poll()` is 0."""
        return DeviceAuthorization(self, *self.http.run(self._start_device_authorization(pkce)))

    def refresh(self, tokens: TokenSet) -> TokenSet:
        """New tokens from the refresh token; the newest refresh token wins, the old one stays if none came."""
        return self.http.run(self._refresh(tokens))

    def client_credentials(self) -> TokenSet:
        """Tokens for the client itself (a service account); needs a client secret."""
        return self.http.run(self._client_credentials())

    def password(self, username: str, password: str) -> TokenSet:
        """Resource-owner password grant (Terrascope's Keycloak); the password is sent once, kept nowhere."""
        return self.http.run(self._password(username, password))

    def userinfo(self, access_token: str) -> dict:
        """The userinfo claims (`sub`, `name`, `email`) for display when a login brought no id token; {} when
        the provider offers no userinfo endpoint or refuses."""
        return self.http.run(self._userinfo(access_token))

    def revoke(self, token: str, hint: str = "refresh_token") -> bool:
        """Revoke a token (RFC 7009) when the provider offers it: True when the provider confirmed."""
        return self.http.run(self._revoke(token, hint))


class AsyncOidcClient(Grants):
    """The face for the event loop: each grant is awaited, and a hanging provider costs a socket, not a thread."""

    def __init__(self, metadata: IssuerMetadata, client_id: str, *, http: AsyncHttpClient, **options: Any) -> None:
        super().__init__(metadata, client_id, **options)
        self.http = http

    async def start_device_authorization(self, pkce: bool = True) -> AsyncDeviceAuthorization:
        """Ask for a user code (RFC 8628 section 3.1); poll the answer when `seconds_to_next_poll()` is 0."""
        return AsyncDeviceAuthorization(self, *await self.http.run(self._start_device_authorization(pkce)))

    async def refresh(self, tokens: TokenSet) -> TokenSet:
        """New tokens from the refresh token; the newest refresh token wins, the old one stays if none came."""
        return await self.http.run(self._refresh(tokens))

    async def client_credentials(self) -> TokenSet:
        """Tokens for the client itself (a service account); needs a client secret."""
        return await self.http.run(self._client_credentials())

    async def password(self, username: str, password: str) -> TokenSet:
        """Resource-owner password grant; the password is sent once, kept nowhere."""
        return await self.http.run(self._password(username, password))

    async def userinfo(self, access_token: str) -> dict:
        """The userinfo claims for display when a login brought no id token; {} when there are none."""
        return await self.http.run(self._userinfo(access_token))

    async def revoke(self, token: str, hint: str = "refresh_token") -> bool:
        """Revoke a token (RFC 7009) when the provider offers it: True when the provider confirmed."""
        return await self.http.run(self._revoke(token, hint))


def _seconds(value: Any, default: float, cap: float) -> float:
    """A duration from the provider, sanitised: missing, zero, negative or not a number -> `default`; never
    more than `cap` (an absurd poll interval would stall the login; a device code lives 30 minutes at most)."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return default
    if not seconds > 0 or seconds != seconds:
        return default
    return min(seconds, cap)


#: Bounds of what a provider's device answer may show a user (RFC 8628 sets none): a user code is typed by a
#: person (RFC 8628 section 6.1 suggests 8 characters), a link is opened from a page, a terminal or a QR code.
MAX_USER_CODE = 64
MAX_LINK = 2048


def _fit(text: object, limit: int) -> bool:
    """Is this a non-empty string of at most `limit` printable characters (no control or format characters)?"""
    return isinstance(text, str) and 0 < len(text) <= limit and text.isprintable()


class DeviceLogin:
    """A device login in progress; its faces `DeviceAuthorization` and `AsyncDeviceAuthorization` poll. A poll
    asks the provider at most once per interval; nothing sleeps. Times (`expires_at`, `next_poll_at`) are on
    the client's monotonic clock; `expires_in()` converts."""

    def __init__(self, client: Grants, body: dict, code_verifier: str | None, started: float):
        self.client = client
        issuer = client.metadata.issuer
        self.user_code: str = body["user_code"]
        if not _fit(self.user_code, MAX_USER_CODE):
            raise TokenRequestFailed(
                f"{issuer} answered the device login with an unusable user code (empty, over {MAX_USER_CODE} "
                "characters, or with control characters). Try again; tell the provider's operators if it persists."
            )
        uri = body.get("verification_uri") or body.get("verification_url") or ""
        if not _fit(uri, MAX_LINK):
            raise TokenRequestFailed(
                f"{issuer} answered the device login without a usable verification link (at most {MAX_LINK} "
                "printable characters). Try again; tell the provider's operators if it persists."
            )
        if not uri.lower().startswith(("https://", "http://")):
            raise TokenRequestFailed(
                "The OpenID provider sent a verification address that is not an http(s) link, so the login was "
                f"not started. Tell the operators of {issuer}."
            )
        self.verification_uri: str = uri
        complete = body.get("verification_uri_complete")
        # Optional (RFC 8628 section 3.2): one that does not fit is left out; the plain link and the code serve.
        usable = _fit(complete, MAX_LINK) and str(complete).lower().startswith(("https://", "http://"))
        self.verification_uri_complete: str | None = complete if usable else None
        self.expires_at: float = started + _seconds(body.get("expires_in"), DEFAULT_CODE_LIFETIME, MAX_CODE_LIFETIME)
        self.interval: float = _seconds(body.get("interval"), DEFAULT_INTERVAL, MAX_INTERVAL)
        self.next_poll_at: float = started + self.interval
        self.last_error: str | None = None
        self._device_code: str = body["device_code"]
        self._code_verifier = code_verifier
        self._backoff = 0.0

    def __repr__(self) -> str:
        return f"<DeviceAuthorization user_code={self.user_code!r} interval={self.interval:g}s>"

    @property
    def expired(self) -> bool:
        """True once the user code can no longer be used."""
        return self.client.clock() >= self.expires_at

    def expires_in(self) -> float:
        """Seconds until the user code expires."""
        return max(0.0, self.expires_at - self.client.clock())

    def seconds_to_next_poll(self) -> float:
        """How long the caller should wait before calling `poll()` (0 when due)."""
        return max(0.0, min(self.next_poll_at, self.expires_at) - self.client.clock())

    def _poll(self) -> Exchange[TokenSet | None]:
        now = self.client.clock()
        if now >= self.expires_at:
            raise DeviceCodeExpired(self._expired_message())
        if now < self.next_poll_at:
            return None
        data = {"grant_type": DEVICE, "device_code": self._device_code}
        if self._code_verifier:
            data["code_verifier"] = self._code_verifier
        try:
            status, body, sent = yield from self.client.token_request(data)
            if status == 200 and "access_token" in body:
                tokens = TokenSet.from_response(body, sent, source=self.client.metadata.issuer)
            else:
                tokens = None
        except OpenEOAuthError as e:
            if not e.transient:
                raise
            wait = getattr(e, "retry_after", None)
            self._backoff = min(MAX_BACKOFF, max(self.interval, self._backoff * 2, wait or 0.0))
            self.next_poll_at = self.client.clock() + self._backoff
            self.last_error = e.message
            return None
        self._backoff = 0.0
        self.last_error = None
        if tokens is not None:
            return tokens
        self._not_yet(body.get("error"), body)
        return None

    def _not_yet(self, error: str | None, body: dict) -> None:
        if error == "slow_down":
            self.interval = min(MAX_INTERVAL, self.interval + SLOW_DOWN_STEP)
        if error in ("authorization_pending", "slow_down"):
            self.next_poll_at = self.client.clock() + self.interval
            return None
        if error == "access_denied":
            raise LoginDenied("The login was denied at the provider. Start a new login if that was a mistake.")
        if error == "expired_token":
            raise DeviceCodeExpired(self._expired_message())
        raise TokenRequestFailed(f"The device login failed: {_describe(body)}. Start a new login.", error=str(error))

    def _expired_message(self) -> str:
        return "The login code expired before it was approved. Start a new login."


class DeviceAuthorization(DeviceLogin):
    """A device login polled with blocking I/O."""

    client: OidcClient

    def poll(self) -> TokenSet | None:
        """One poll if due: TokenSet when approved, None while pending. Raises `LoginDenied`,
        `DeviceCodeExpired`, or `TokenRequestFailed`; network trouble backs off and returns None."""
        return self.client.http.run(self._poll())


class AsyncDeviceAuthorization(DeviceLogin):
    """A device login polled on the event loop."""

    client: AsyncOidcClient

    async def poll(self) -> TokenSet | None:
        """One poll if due (see `DeviceAuthorization.poll`)."""
        return await self.client.http.run(self._poll())
