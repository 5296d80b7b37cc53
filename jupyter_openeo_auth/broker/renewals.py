"""When a session renews: the background renewal ahead of expiry, growing gaps after failures, and the end of a
login the provider limits. A `Session` holds the tokens; its `Renewals` holds the timers and what they say."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Protocol

from ..oidc import AsyncOidcClient, LoginRequired, OpenEOAuthError, ProviderUnavailable, TokenSet
from ..wire import EventAction
from .bus import Bus
from .login_end import LoginEnd
from .session_key import SessionKey

#: Never refresh in the background sooner than this after the last attempt (seconds).
MIN_REFRESH_DELAY = 1.0
#: After failed background refreshes: the first retry after RETRY_DELAY, doubling up to MAX_RETRY_DELAY.
RETRY_DELAY = 5.0
MAX_RETRY_DELAY = 300.0


class Renewing(Protocol):
    """What renewals read of their session (a `sessions.Session`)."""

    key: SessionKey
    backend_url: str
    client: AsyncOidcClient
    tokens: TokenSet
    ended: bool
    login_required: str | None
    login_end: LoginEnd

    @property
    def user(self) -> dict: ...

    @property
    def who(self) -> str: ...

    async def refresh(self) -> TokenSet: ...


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


class Renewals:
    """The timers of one session: the next background renewal, and the warning and end of its login. What they
    bring about goes on the bus: `session_renewed`, `login_ending`, `session_ended`."""

    def __init__(self, session: Renewing, settings: SessionSettings, log: logging.Logger, bus: Bus):
        self._session = session
        self._settings = settings
        self._log = log
        self._bus = bus
        self.timer: asyncio.TimerHandle | None = None
        self._end_timers: list[asyncio.TimerHandle] = []
        self.failures = 0
        self._last_error = ""
        #: The planned gap before the next background renewal (s), and, while renewals fail, when the next try
        #: is due (monotonic): until then a token request does not ask the provider again.
        self.retry_delay = 0.0
        self.retry_at: float | None = None

    def waiting_to_retry(self) -> bool:
        """Renewals failed and the next try is not due yet."""
        return self.retry_at is not None and time.monotonic() < self.retry_at

    def retry_later(self) -> ProviderUnavailable:
        """The sentence for a token request while renewals fail: when the server tries again."""
        wait = max(1, round((self.retry_at or 0) - time.monotonic()))
        at = time.strftime("%H:%M:%S", time.localtime(time.time() + wait))
        error = ProviderUnavailable(
            f"Renewing the openEO login to {self._session.backend_url} failed ({self._last_error.rstrip('.')}). "
            f"The server tries again in {wait} s (at {at}) and keeps your login meanwhile; try again then."
        )
        error.retry_after = wait
        return error

    def succeeded(self, tokens: TokenSet) -> None:
        """A renewal gave `tokens` (already the session's): plan the next, say so, learn the login's end."""
        session = self._session
        if self.failures:
            self._log.info("Renewing the openEO login to %s works again.", session.backend_url)
        self.failures = 0
        self._log.info(
            "Renewed the openEO login to %s as %s; valid for %.0f s.",
            session.backend_url,
            session.who,
            tokens.remaining(),
        )
        self.schedule()
        self._bus.publish(
            EventAction.SESSION_RENEWED,
            session.key,
            session.backend_url,
            user=session.user,
            access_expires_at=tokens.expires_at,
        )
        if session.login_end.note(tokens):
            self.plan_login_end()

    def failed(self, error: OpenEOAuthError) -> None:
        """A renewal failed: permanent refusals end the session's renewals with a sentence; passing trouble
        retries later, with growing gaps, and one warning per streak of failures."""
        session = self._session
        if session.ended:
            return
        if not error.transient:
            session.login_required = (
                error.message if isinstance(error, LoginRequired) else f"{error.message} Log in again."
            )
            self._log.info(
                "openEO login to %s as %s can no longer be renewed: %s", session.backend_url, session.who, error
            )
            self.cancel()
            self._ended(session)
            return
        self.failures += 1
        self._last_error = error.message
        log = self._log.warning if self.failures == 1 else self._log.debug
        log(
            "Renewing the openEO login to %s as %s failed (%s); retrying later.",
            session.backend_url,
            session.who,
            error,
        )
        self.schedule(retry_after=getattr(error, "retry_after", None))

    def schedule(self, retry_after: float | None = None) -> None:
        """Plan the next background refresh: `margin` before expiry, or later after failures (growing
        gaps, at least what the provider asked for with `Retry-After`)."""
        self.cancel()
        session = self._session
        if session.ended or session.login_required or session.tokens.expires_at is None:
            return
        if self.failures:
            delay = min(MAX_RETRY_DELAY, RETRY_DELAY * 2 ** (self.failures - 1))
            delay = max(delay, min(retry_after or 0.0, 3600.0))
        else:
            delay = max(MIN_REFRESH_DELAY, session.tokens.remaining() - self._settings.margin(session.tokens))
            delay = min(delay, self._keep_refresh_token_alive())
        self.retry_delay = delay
        self.retry_at = time.monotonic() + delay if self.failures else None
        self.timer = asyncio.get_running_loop().call_later(delay, self._background_refresh)

    def _keep_refresh_token_alive(self) -> float:
        """Seconds until a renewal must run so that the refresh token does not lapse unused (when the provider
        says how long it lives, and that is shorter than the access token); infinite otherwise."""
        tokens, end = self._session.tokens, self._session.login_end.expires_at
        lapses, life = tokens.refresh_expires_at, tokens.refresh_lifetime
        if lapses is None or life is None or not tokens.refresh_token or (end is not None and lapses >= end - 1):
            return float("inf")  # nothing said, or it lapses when the login ends anyway: renewing cannot help
        return max(MIN_REFRESH_DELAY, lapses - time.time() - min(self._settings.refresh_margin, life / 3))

    def _background_refresh(self) -> None:
        task = asyncio.ensure_future(self._session.refresh())
        # Errors are logged in failed(); retrieve them so asyncio does not warn.
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

    def plan_login_end(self) -> None:
        """The end of the login became known: say so once when it is near, and end it then with a sentence."""
        for timer in self._end_timers:
            timer.cancel()
        session = self._session
        end, warn_at = session.login_end.expires_at, session.login_end.warn_at()
        if end is None or warn_at is None:
            return
        self._log.info(
            "The openEO login to %s as %s ends at %s (the provider's session maximum).",
            session.backend_url,
            session.who,
            time.strftime("%H:%M:%S", time.localtime(end)),
        )
        loop, now = asyncio.get_running_loop(), time.time()
        self._end_timers = [
            loop.call_later(max(0.0, warn_at - now), self._warn_login_ending),
            loop.call_later(max(0.0, end - now), self._login_over),
        ]

    def _warn_login_ending(self) -> None:
        session = self._session
        if not (session.login_end.warned or session.ended or session.login_required):
            session.login_end.warned = True
            self._bus.publish(
                EventAction.LOGIN_ENDING,
                session.key,
                session.backend_url,
                user=session.user,
                login_expires_at=session.login_end.expires_at,
            )

    def _login_over(self) -> None:
        session = self._session
        if session.ended or session.login_required or session.login_end.expires_at is None:
            return
        at = time.strftime("%H:%M", time.localtime(session.login_end.expires_at))
        session.login_required = (
            f"Your openEO login to {session.backend_url} ended at {at}: {session.client.metadata.issuer} lets one "
            "login last only so long, however often it is renewed. Log in again."
        )
        self._log.info("The openEO login to %s as %s reached its end.", session.backend_url, session.who)
        self.cancel()
        self._ended(session)

    def _ended(self, session: Renewing) -> None:
        self._bus.publish(
            EventAction.SESSION_ENDED, session.key, session.backend_url, state="login_required", user=session.user
        )

    def cancel(self) -> None:
        """Stop background refreshes."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def stop(self) -> None:
        """Stop everything planned: refreshes, and the warning and end of the login (logout, shutdown)."""
        self.cancel()
        for timer in self._end_timers:
            timer.cancel()
        self._end_timers = []
