"""A session: the tokens of one login, kept fresh by one refresh at a time (its timers: `renewals`)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ..flows import flow_of
from ..oidc import AsyncOidcClient, LoginRequired, OpenEOAuthError, TokenSet
from .bus import Bus
from .keeper import Keeper
from .login_end import LoginEnd
from .renewals import Renewals, SessionSettings
from .session_key import SessionKey
from .store import MemoryStore

__all__ = ["Served", "Session", "SessionKey", "SessionSettings"]


@dataclass
class Served:
    """One back-end a login serves: how the user names it, its id for the login's provider, and whether it
    accepts the account (`GET /me`), which each back-end decides for itself."""

    api_url: str
    backend_url: str
    provider_id: str
    account_problem: str | None = None
    account_checked_at: float = float("-inf")


class Session:
    """Tokens for (back-end, provider, flow, owner). `renew` gets new tokens (refresh grant, or client
    credentials again) without blocking the loop; one renewal runs at a time."""

    def __init__(
        self,
        key: SessionKey,
        backend_url: str,
        client: AsyncOidcClient,
        tokens: TokenSet,
        renew: Callable[[TokenSet], Awaitable[TokenSet]],
        settings: SessionSettings,
        log: logging.Logger,
        keeper: Keeper | None = None,
        bus: Bus | None = None,
    ):
        self.key = key
        self.backend_url = backend_url
        self.client = client
        self.tokens = tokens
        self.login_required: str | None = None
        #: Set by logout: nothing may write this session back or renew it any more.
        self.ended = False
        #: The back-ends this login serves, by API URL: its own first, then every back-end that lists the same
        #: issuer and client (one login per account at a provider, as the openeo client's refresh-token store).
        self.served: dict[str, Served] = {key.api_url: Served(key.api_url, backend_url, key.provider_id)}
        self._renew = renew
        self._settings = settings
        self._log = log
        self._keeper = keeper or Keeper(MemoryStore())
        self._inflight: asyncio.Future[TokenSet] | None = None
        self.refresh_count = 0
        #: A sentence for the login that made this session (it replaced and revoked an earlier one), said once.
        self.notice: str | None = None
        #: When the login ends however often it is renewed (a provider's session maximum), once known.
        self.login_end = LoginEnd()
        self.login_end.note(tokens)
        #: The timers: background renewal, retries, and the login's end; what they bring about goes on `bus`.
        self.renewals = Renewals(self, settings, log, bus or Bus(log))

    def __repr__(self) -> str:
        return f"<Session {self.backend_url} provider={self.key.provider_id} flow={self.key.flow} {self.tokens!r}>"

    @property
    def user(self) -> dict:
        """Who is logged in: the id token's claims; a service account (no id token) is its client id."""
        if not flow_of(self.key.flow).has_a_person and not self.tokens.user:
            return {"sub": self.client.client_id}
        return self.tokens.user

    @property
    def who(self) -> str:
        """For log lines: the user's sub, or the client id of a service account."""
        return self.user.get("sub", "an unnamed user")

    @property
    def own(self) -> Served:
        """The back-end this login was made for."""
        return self.served[self.key.api_url]

    def serve(self, api_url: str, backend_url: str, provider_id: str) -> Served:
        """Let this login serve one more back-end (same issuer, same client)."""
        return self.served.setdefault(api_url, Served(api_url, backend_url, provider_id))

    def has_client(self, client_id: str | None) -> bool:
        """Was this login made with the client named (any, when none is)? JupyterHub's login is the hub's
        client, whatever a notebook names."""
        return client_id in (None, self.client.client_id) or flow_of(self.key.flow).any_client

    @property
    def renewable(self) -> bool:
        """Can new tokens be had without the user: a refresh token, or a service account's credentials."""
        return self.tokens.refresh_token is not None or flow_of(self.key.flow).renews_without_refresh_token

    @property
    def usable(self) -> bool:
        """Can this session still hand out tokens (now or after a refresh)?"""
        return not self.ended and not self.login_required and (self.tokens.remaining() > 0 or self.renewable)

    async def access_token(self, min_valid: float | None = None) -> TokenSet:
        """Tokens valid for at least `min_valid` s, refreshing (once, shared) when needed. Raises
        `LoginRequired`; a transient failure still hands out a token that has not expired yet. While renewals
        fail and the next try is not due, the provider is not asked again (however often kernels ask): the token
        the session has while it is valid, else `ProviderUnavailable` saying when the next try is."""
        if self.login_required:
            raise LoginRequired(self.login_required)
        if self.tokens.remaining() > self._settings.needed(self.tokens, min_valid):
            return self.tokens
        if self.renewals.waiting_to_retry() and self._inflight is None:
            if self.tokens.remaining() > 0:
                return self.tokens
            raise self.renewals.retry_later()
        try:
            return await self.refresh()
        except OpenEOAuthError as e:
            if e.transient and self.tokens.remaining() > 0:
                return self.tokens
            if self.login_required and not isinstance(e, LoginRequired):
                raise LoginRequired(self.login_required) from None
            raise

    async def refresh(self) -> TokenSet:
        """Renew the tokens; concurrent callers share one request to the provider (single flight)."""
        if self._inflight is None:

            async def once() -> TokenSet:
                try:
                    return await self._renew_and_store()
                finally:
                    self._inflight = None

            self._inflight = asyncio.ensure_future(once())
        return await asyncio.shield(self._inflight)

    async def save(self, tokens: TokenSet) -> None:
        """Store the newest refresh token (not after logout: nothing may write an ended login back)."""
        if not self.ended:
            await self._keeper.save(self.key, self.backend_url, self.client, tokens)

    async def _renew_and_store(self) -> TokenSet:
        if self.ended:
            raise _gone(self.backend_url)
        try:
            async with self._keeper.lock(self.key):
                # Another process (a second Jupyter server on the same keyring) may have rotated the refresh
                # token: spending ours again would look like token theft to the provider (RFC 9700 4.14.2).
                stored = await self._keeper.stored_refresh_token(self.key)
                if stored and stored != self.tokens.refresh_token:
                    self._log.info("Using the newer refresh token another process stored for %s.", self.backend_url)
                    self.tokens = self.tokens.with_refresh_token(stored)
                tokens = await self._renew(self.tokens)
                if not tokens.id_claims:  # who logged in was verified once, at the login
                    tokens = dataclasses.replace(tokens, id_claims=self.tokens.id_claims)
                if self.ended:  # logged out while the provider answered: write nothing back
                    raise _gone(self.backend_url)
                # The newest refresh token is stored before anyone gets the new access token.
                await self.save(tokens)
        except OpenEOAuthError as e:
            self.renewals.failed(e)
            raise
        if self.ended:
            raise _gone(self.backend_url)
        self.tokens = tokens
        self.refresh_count += 1
        self.renewals.succeeded(tokens)
        return tokens

    def end(self) -> None:
        """Logout: stop renewals; a renewal in flight writes nothing back."""
        self.ended = True
        self.renewals.stop()


def _gone(backend_url: str) -> LoginRequired:
    return LoginRequired(f"You logged out of {backend_url}. Log in again.")
