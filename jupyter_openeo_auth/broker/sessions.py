"""A session: the tokens of one login, kept fresh by one refresh at a time."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ..oidc import AsyncOidcClient, LoginRequired, OpenEOAuthError, ProviderUnavailable, TokenSet
from .flows import flow_of
from .keeper import Keeper
from .login_end import LoginEnd
from .session_key import SessionKey
from .store import MemoryStore

#: Never refresh in the background sooner than this after the last attempt (seconds).
MIN_REFRESH_DELAY = 1.0
#: After failed background refreshes: the first retry after RETRY_DELAY, doubling up to MAX_RETRY_DELAY.
RETRY_DELAY = 5.0
MAX_RETRY_DELAY = 300.0


@dataclass
class SessionSettings:
    """The broker's timing policy."""

    min_valid: float = 60.0
    refresh_margin: float = 300.0

    def needed(self, tokens: TokenSet, min_valid: float | None) -> float:
        """Seconds of validity to insist on: what was asked, whenever a fresh token can give it. When more is
        asked than a token lives, the freshest token serves, renewed at most once per `slack` seconds."""
        asked = self.min_valid if min_valid is None else min_valid
        return min(max(0.0, asked), tokens.lifetime - self.slack(tokens))

    @staticmethod
    def slack(tokens: TokenSet) -> float:
        """How much younger than a brand-new token a token may be and still count as the freshest."""
        return min(10.0, tokens.lifetime / 10)

    def margin(self, tokens: TokenSet) -> float:
        """How long before expiry the background refresh runs: the margin, at most a third of the lifetime."""
        return min(self.refresh_margin, tokens.lifetime / 3)


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
        notify: Callable[[Session, str, str], None] | None = None,
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
        #: Told (session, action, state) when the session is renewed or can no longer be renewed.
        self._notify = notify or (lambda session, action, state: None)
        self._inflight: asyncio.Task | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._failures = 0
        self.refresh_count = 0
        #: A sentence for the login that made this session (it replaced and revoked an earlier one), said once.
        self.notice: str | None = None
        #: The planned gap before the next background renewal (s), and, while renewals fail, when the next try
        #: is due (monotonic): until then a token request does not ask the provider again.
        self.retry_delay = 0.0
        self.retry_at: float | None = None
        self._last_error = ""
        #: When the login ends however often it is renewed (a provider's session maximum), once known.
        self.login_end = LoginEnd()
        self.login_end.note(tokens)
        self._end_timers: list[asyncio.TimerHandle] = []

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

    @property
    def account_problem(self) -> str | None:
        """What the login's own back-end says against the account (`GET /me`), else None."""
        return self.own.account_problem

    def serve(self, api_url: str, backend_url: str, provider_id: str) -> Served:
        """Let this login serve one more back-end (same issuer, same client)."""
        return self.served.setdefault(api_url, Served(api_url, backend_url, provider_id))

    @property
    def login_id(self) -> str:
        """A stable, non-secret name of this login, the same for every back-end it serves."""
        return hashlib.sha256(repr(tuple(self.key)).encode()).hexdigest()[:12]

    def summaries(self) -> list[dict]:
        """The public description (`GET sessions`), one per back-end served: never a token."""
        return [self.summary(served) for served in self.served.values()]

    def summary(self, served: Served) -> dict:
        """The public description for one back-end (one it serves, or one it could serve): never a token."""
        serves = list(dict.fromkeys([*(s.backend_url for s in self.served.values()), served.backend_url]))
        return {
            "backend": served.backend_url,
            "provider_id": served.provider_id,
            "flow": self.key.flow,
            "user": self.user,
            "access_expires_at": self.tokens.expires_at,
            "refreshable": self.renewable,
            "login_required": self.login_required is not None,
            "account_problem": served.account_problem,
            "login": self.login_id,
            "issuer": self.client.metadata.issuer,
            "client_id": self.client.client_id,
            "serves": serves,
            "login_expires_at": self.login_end.expires_at,
            "login_ending": self.login_end.ending() and not self.login_required,
        }

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
        if self.retry_at is not None and time.monotonic() < self.retry_at and self._inflight is None:
            if self.tokens.remaining() > 0:
                return self.tokens
            raise self._retry_later()
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
            self._inflight = asyncio.ensure_future(self._refresh())
        return await asyncio.shield(self._inflight)

    async def _refresh(self) -> TokenSet:
        try:
            return await self._renew_and_store()
        finally:
            self._inflight = None

    async def save(self, tokens: TokenSet) -> None:
        """Store the newest refresh token (not after logout: nothing may write an ended login back)."""
        if not self.ended:
            await self._keeper.save(self.key, self.backend_url, self.client, tokens)

    def _retry_later(self) -> ProviderUnavailable:
        wait = max(1, round((self.retry_at or 0) - time.monotonic()))
        at = time.strftime("%H:%M:%S", time.localtime(time.time() + wait))
        error = ProviderUnavailable(
            f"Renewing the openEO login to {self.backend_url} failed ({self._last_error.rstrip('.')}). The server "
            f"tries again in {wait} s (at {at}) and keeps your login meanwhile; try again then."
        )
        error.retry_after = wait
        return error

    def _gone(self) -> LoginRequired:
        return LoginRequired(f"You logged out of {self.backend_url}. Log in again.")

    async def _renew_and_store(self) -> TokenSet:
        if self.ended:
            raise self._gone()
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
                    raise self._gone()
                # The newest refresh token is stored before anyone gets the new access token.
                await self.save(tokens)
        except OpenEOAuthError as e:
            self._failed(e)
            raise
        if self.ended:
            raise self._gone()
        self.tokens = tokens
        self.refresh_count += 1
        if self._failures:
            self._log.info("Renewing the openEO login to %s works again.", self.backend_url)
        self._failures = 0
        self._log.info(
            "Renewed the openEO login to %s as %s; valid for %.0f s.", self.backend_url, self.who, tokens.remaining()
        )
        self.schedule()
        self._notify(self, "session_renewed", "")
        if self.login_end.note(tokens):
            self._plan_login_end()
        return tokens

    def _plan_login_end(self) -> None:
        """The end of the login became known: say so once when it is near, and end it then with a sentence."""
        for timer in self._end_timers:
            timer.cancel()
        end, warn_at = self.login_end.expires_at, self.login_end.warn_at()
        if end is None or warn_at is None:
            return
        self._log.info(
            "The openEO login to %s as %s ends at %s (the provider's session maximum).",
            self.backend_url,
            self.who,
            time.strftime("%H:%M:%S", time.localtime(end)),
        )
        loop, now = asyncio.get_running_loop(), time.time()
        self._end_timers = [
            loop.call_later(max(0.0, warn_at - now), self._warn_login_ending),
            loop.call_later(max(0.0, end - now), self._login_over),
        ]

    def _warn_login_ending(self) -> None:
        if not (self.login_end.warned or self.ended or self.login_required):
            self.login_end.warned = True
            self._notify(self, "login_ending", "")

    def _login_over(self) -> None:
        if self.ended or self.login_required or self.login_end.expires_at is None:
            return
        at = time.strftime("%H:%M", time.localtime(self.login_end.expires_at))
        self.login_required = (
            f"Your openEO login to {self.backend_url} ended at {at}: {self.client.metadata.issuer} lets one login "
            "last only so long, however often it is renewed. Log in again."
        )
        self._log.info("The openEO login to %s as %s reached its end.", self.backend_url, self.who)
        self.cancel_timer()
        self._notify(self, "session_ended", "login_required")

    def _failed(self, error: OpenEOAuthError) -> None:
        """A renewal failed: permanent refusals end the session's renewals with a sentence; passing trouble
        retries later, with growing gaps, and one warning per streak of failures."""
        if self.ended:
            return
        if not error.transient:
            self.login_required = (
                error.message if isinstance(error, LoginRequired) else f"{error.message} Log in again."
            )
            self._log.info("openEO login to %s as %s can no longer be renewed: %s", self.backend_url, self.who, error)
            self.cancel_timer()
            self._notify(self, "session_ended", "login_required")
            return
        self._failures += 1
        self._last_error = error.message
        log = self._log.warning if self._failures == 1 else self._log.debug
        log("Renewing the openEO login to %s as %s failed (%s); retrying later.", self.backend_url, self.who, error)
        self.schedule(retry_after=getattr(error, "retry_after", None))

    def schedule(self, retry_after: float | None = None) -> None:
        """Plan the next background refresh: `margin` before expiry, or later after failures (growing
        gaps, at least what the provider asked for with `Retry-After`)."""
        self.cancel_timer()
        if self.ended or self.login_required or self.tokens.expires_at is None:
            return
        if self._failures:
            delay = min(MAX_RETRY_DELAY, RETRY_DELAY * 2 ** (self._failures - 1))
            delay = max(delay, min(retry_after or 0.0, 3600.0))
        else:
            delay = max(MIN_REFRESH_DELAY, self.tokens.remaining() - self._settings.margin(self.tokens))
            delay = min(delay, self._keep_refresh_token_alive())
        self.retry_delay = delay
        self.retry_at = time.monotonic() + delay if self._failures else None
        self._timer = asyncio.get_running_loop().call_later(delay, self._background_refresh)

    def _keep_refresh_token_alive(self) -> float:
        """Seconds until a renewal must run so that the refresh token does not lapse unused (when the provider
        says how long it lives, and that is shorter than the access token); infinite otherwise."""
        tokens, end = self.tokens, self.login_end.expires_at
        lapses, life = tokens.refresh_expires_at, tokens.refresh_lifetime
        if lapses is None or life is None or not tokens.refresh_token or (end is not None and lapses >= end - 1):
            return float("inf")  # nothing said, or it lapses when the login ends anyway: renewing cannot help
        return max(MIN_REFRESH_DELAY, lapses - time.time() - min(self._settings.refresh_margin, life / 3))

    def _background_refresh(self) -> None:
        task = asyncio.ensure_future(self.refresh())
        # Errors are logged in _failed; retrieve them so asyncio does not warn.
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

    async def revoke(self) -> str | None:
        """Revoke the refresh token at the provider (logout): None when done or nothing lives on, else a
        sentence saying the login stays valid there."""
        token = self.tokens.refresh_token
        if not token:
            return None  # a service account or password login without refresh token: nothing lives on
        issuer = self.client.metadata.issuer
        if not self.client.metadata.revocation_endpoint:
            return f"Logged out here; {issuer} offers no revocation, so the login stays valid there until it expires."
        try:
            if await self.client.revoke(token):
                return None
            problem = f"{issuer} refused to revoke the login"
        except OpenEOAuthError as e:
            problem = f"{issuer} could not be asked to revoke the login ({e.message})"
        self._log.warning("Could not revoke the openEO login to %s at its provider: %s", self.backend_url, problem)
        return f"Logged out here; {problem}, so it may stay valid there until it expires."

    def end(self) -> None:
        """Logout: stop renewals; a renewal in flight writes nothing back."""
        self.ended = True
        self.stop_timers()

    def cancel_timer(self) -> None:
        """Stop background refreshes."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def stop_timers(self) -> None:
        """Stop everything planned: refreshes, and the warning and end of the login (logout, shutdown)."""
        self.cancel_timer()
        for timer in self._end_timers:
            timer.cancel()
        self._end_timers = []
