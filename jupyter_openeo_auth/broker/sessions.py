"""A session: the tokens of one login, kept fresh by one refresh at a time."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Awaitable, Callable, NamedTuple, Optional

from ..oidc import LoginRequired, OidcClient, OpenEOAuthError, TokenSet

#: Never refresh in the background sooner than this after the last attempt (seconds).
MIN_REFRESH_DELAY = 1.0
#: After a failed background refresh, wait at least this long before the next one (seconds).
RETRY_DELAY = 5.0


class SessionKey(NamedTuple):
    """What a session is keyed by. `owner` is the JupyterHub user ('' outside a hub)."""

    api_url: str
    provider_id: str
    flow: str
    owner: str


@dataclass
class SessionSettings:
    """The broker's timing policy."""

    min_valid: float = 60.0
    refresh_margin: float = 300.0

    def needed(self, tokens: TokenSet, min_valid: Optional[float]) -> float:
        """Seconds of validity to insist on: what was asked, but never more than half a token's lifetime
        (a provider issuing 30 s tokens cannot satisfy 60 s, and refreshing on every call helps nobody)."""
        asked = self.min_valid if min_valid is None else min_valid
        return min(max(0.0, asked), tokens.lifetime / 2)

    def margin(self, tokens: TokenSet) -> float:
        """How long before expiry the background refresh runs: the margin, at most a third of the lifetime."""
        return min(self.refresh_margin, tokens.lifetime / 3)


class Session:
    """Tokens for (back-end, provider, flow, owner). `renew` is the blocking call that gets new tokens
    (refresh grant, or client credentials again); it runs off the event loop, one call at a time."""

    def __init__(
        self,
        key: SessionKey,
        backend_url: str,
        client: OidcClient,
        tokens: TokenSet,
        renew: Callable[[TokenSet], TokenSet],
        settings: SessionSettings,
        log: logging.Logger,
        on_renewed: Callable[["Session"], Awaitable[None]],
    ):
        self.key = key
        self.backend_url = backend_url
        self.client = client
        self.tokens = tokens
        self.login_required: Optional[str] = None
        self._renew = renew
        self._settings = settings
        self._log = log
        self._on_renewed = on_renewed
        self._inflight: Optional[asyncio.Task] = None
        self._timer: Optional[asyncio.TimerHandle] = None
        self.refresh_count = 0

    def __repr__(self) -> str:
        return f"<Session {self.backend_url} provider={self.key.provider_id} flow={self.key.flow} {self.tokens!r}>"

    @property
    def user(self) -> dict:
        """Who is logged in: the id token's claims; a service account (no id token) is its client id."""
        if self.key.flow == "client_credentials" and not self.tokens.user:
            return {"sub": self.client.client_id}
        return self.tokens.user

    @property
    def who(self) -> str:
        """For log lines: the user's sub, or the client id of a service account."""
        return self.user.get("sub", "an unnamed user")

    def summary(self) -> dict:
        """The public description (`GET sessions`): never a token."""
        return {
            "backend": self.backend_url,
            "provider_id": self.key.provider_id,
            "flow": self.key.flow,
            "user": self.user,
            "access_expires_at": self.tokens.expires_at,
            "refreshable": self.renewable,
            "login_required": self.login_required is not None,
        }

    @property
    def renewable(self) -> bool:
        """Can new tokens be had without the user: a refresh token, or a service account's credentials."""
        return self.tokens.refresh_token is not None or self.key.flow == "client_credentials"

    @property
    def usable(self) -> bool:
        """Can this session still hand out tokens (now or after a refresh)?"""
        return not self.login_required and (self.tokens.remaining() > 0 or self.renewable)

    async def access_token(self, min_valid: Optional[float] = None) -> TokenSet:
        """Tokens valid for at least `min_valid` s, refreshing (once, shared) when needed. Raises
        `LoginRequired`; a transient failure still hands out a token that has not expired yet."""
        if self.login_required:
            raise LoginRequired(self.login_required)
        needed = self._settings.needed(self.tokens, min_valid)
        if self.tokens.remaining() > needed:
            return self.tokens
        try:
            return await self.refresh()
        except OpenEOAuthError as e:
            if e.transient and self.tokens.remaining() > 0:
                return self.tokens
            raise

    async def refresh(self) -> TokenSet:
        """Renew the tokens; concurrent callers share one request to the provider (single flight)."""
        if self._inflight is None:
            self._inflight = asyncio.ensure_future(self._refresh())
        return await asyncio.shield(self._inflight)

    async def _refresh(self) -> TokenSet:
        try:
            return await self._renew_and_store()
        finally:
            self._inflight = None

    async def _renew_and_store(self) -> TokenSet:
        loop = asyncio.get_running_loop()
        try:
            tokens = await loop.run_in_executor(None, self._renew, self.tokens)
        except LoginRequired as e:
            self.login_required = e.message
            self._log.info("openEO login to %s as %s can no longer be renewed: %s", self.backend_url, self.who, e)
            self.cancel_timer()
            raise
        except OpenEOAuthError as e:
            self._log.warning("Renewing the openEO login to %s as %s failed: %s", self.backend_url, self.who, e)
            self.schedule(retry=True)
            raise
        self.tokens = tokens
        self.refresh_count += 1
        # The newest refresh token is stored before anyone gets the new access token.
        await self._on_renewed(self)
        self._log.info(
            "Renewed the openEO login to %s as %s; valid for %.0f s.", self.backend_url, self.who, tokens.remaining()
        )
        self.schedule()
        return tokens

    def schedule(self, retry: bool = False) -> None:
        """Plan the next background refresh: `margin` before expiry, or a bit later after a failure."""
        self.cancel_timer()
        if self.login_required or self.tokens.expires_at is None:
            return
        if retry:
            delay = max(RETRY_DELAY, min(30.0, self.tokens.remaining() / 2))
        else:
            delay = max(MIN_REFRESH_DELAY, self.tokens.remaining() - self._settings.margin(self.tokens))
        self._timer = asyncio.get_running_loop().call_later(delay, self._background_refresh)

    def _background_refresh(self) -> None:
        task = asyncio.ensure_future(self.refresh())
        # Errors are logged in _refresh; retrieve them so asyncio does not warn.
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

    def cancel_timer(self) -> None:
        """Stop background refreshes (logout, shutdown)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
