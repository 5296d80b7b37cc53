"""The logins of one server: start a device login and poll it on the event loop until it ends, record direct
logins, cancel, look up and forget. It knows logins only: whoever runs it makes the session of an approved
login (`approved`) and tells the world (`finished`)."""

from __future__ import annotations

import asyncio
import logging
import time

from ..oidc import AsyncDeviceAuthorization, OpenEOAuthError
from ..wire import EventAction, Reason
from .bus import Bus
from .logins import Login, LoginState
from .new_sessions import NewSessions
from .sessions import Served, Session, SessionKey

#: How long finished logins are kept (seconds).
FINISHED_LOGIN_TTL = 3600.0
#: Ended logins kept for their callers to read (the newest): a script asking POST logins in a loop, each
#: answered from the session at once, must not grow the server's memory.
MAX_ENDED_LOGINS = 200
#: Pending device logins per server: one user needs a handful; more is a script gone wrong, or abuse.
MAX_PENDING_LOGINS = 20


class LoginNotFound(OpenEOAuthError):
    reason = Reason.NOT_FOUND


class TooManyLogins(OpenEOAuthError):
    reason = Reason.TOO_MANY_LOGINS


class LoginCancelled(OpenEOAuthError):
    """GET logins/ID of a login cancelled with DELETE: the resource is gone (410), and says how it ended."""

    reason = Reason.CANCELLED


class LoginRunner:
    """`logins` by id; `start_device()` polls until the login ends, then `NewSessions.adopt` makes its
    session; every ended login goes on the bus (`login_finished`)."""

    def __init__(
        self,
        new_sessions: NewSessions,
        bus: Bus,
        log: logging.Logger,
        max_pending: int = MAX_PENDING_LOGINS,
    ):
        self.logins: dict[str, Login] = {}
        #: Logins deleted (cancelled) by a caller: id -> how it ended, for whoever still follows them (bounded).
        self._deleted: dict[str, str] = {}
        self._new_sessions, self._bus, self.log, self.max_pending = new_sessions, bus, log, max_pending

    def __repr__(self) -> str:
        return f"<LoginRunner logins={len(self.logins)}>"

    def new(self, key: SessionKey, backend_url: str, auth: AsyncDeviceAuthorization | None = None) -> Login:
        """A login, announced when it ends (not yet kept: `done()` and `start_device()` keep it)."""
        login = Login(key, backend_url, auth)
        login.on_finish = self._finished
        return login

    def _finished(self, login: Login) -> None:
        self._bus.publish(
            EventAction.LOGIN_FINISHED,
            login.key,
            login.backend_url,
            login_id=login.id,
            state=login.state.value,
            user=login.user,
        )

    def pending(self, key: SessionKey, client_id: str | None = None) -> Login | None:
        """The pending login for this key (with this client, when one is named), to rejoin instead of starting
        another."""
        return next(
            (
                login
                for login in self.logins.values()
                if login.key == key
                and login.pending
                and login.auth
                and client_id in (None, login.auth.client.client_id)
            ),
            None,
        )

    def make_room(self) -> None:
        """Forget long-ended logins; `TooManyLogins` when the pending ones are at the cap."""
        self._forget_old()
        pending = sum(1 for login in self.logins.values() if login.pending)
        if pending >= self.max_pending:
            raise TooManyLogins(
                f"{pending} logins are already waiting for approval on this Jupyter server. Finish or cancel "
                "one of them (or wait until their codes expire), then start a new one."
            )

    def start_device(self, key: SessionKey, backend_url: str, auth: AsyncDeviceAuthorization) -> Login:
        """Keep a pending device login and poll it when the provider allows, until it ends."""
        login = self.new(key, backend_url, auth)
        self.logins[login.id] = login
        self.log.info(
            "openEO login %s to %s (provider %s) started; waiting for the user.", login.id, backend_url, key.provider_id
        )
        self._schedule_poll(login)
        return login

    def done(self, login: Login, session: Session, served: Served | None = None) -> Login:
        """End a login as logged in to this session (and back-end, when another than its own), and keep it."""
        said = (served or session.own).account_problem or session.notice
        session.notice = None  # said once, by the login that replaced the earlier one
        login.finish(LoginState.LOGGED_IN, said, user=session.user)
        self.logins.setdefault(login.id, login)
        self._forget_old()
        return login

    def _forget_old(self) -> None:
        """Forget logins that ended over an hour ago, and the oldest ended ones beyond `MAX_ENDED_LOGINS`."""
        cutoff = time.monotonic() - FINISHED_LOGIN_TTL
        ended = sorted((one.finished_at, i) for i, one in self.logins.items() if one.finished_at)
        drop = len(ended) - MAX_ENDED_LOGINS
        for n, (finished_at, login_id) in enumerate(ended):
            if n < drop or finished_at < cutoff:
                del self.logins[login_id]

    def _schedule_poll(self, login: Login) -> None:
        if login.auth is None:  # ended meanwhile
            return
        loop = asyncio.get_running_loop()
        login.timer = loop.call_later(
            login.auth.seconds_to_next_poll(), lambda: asyncio.ensure_future(self._poll(login))
        )

    async def _poll(self, login: Login) -> None:
        """One scheduled poll of a device login; schedules the next one while it stays pending."""
        auth = login.auth
        if not login.pending or auth is None:
            return
        try:
            tokens = await auth.poll()
        except Exception as e:  # noqa: BLE001 - a login must end in a state, whatever went wrong
            if login.pending:
                error = (
                    e
                    if isinstance(e, OpenEOAuthError)
                    else OpenEOAuthError(f"The login failed unexpectedly ({type(e).__name__}). Start a new login.")
                )
                login.fail(error)
                self.log.info(
                    "openEO login %s to %s ended: %s (%s)", login.id, login.backend_url, login.state.value, error
                )
            return
        if not login.pending:  # cancelled while the poll was on its way
            return
        if tokens is None:
            self._schedule_poll(login)
            return
        session = await self._new_sessions.adopt(login, auth.client, tokens)
        self.done(login, session)
        self.log.info("openEO login %s to %s approved as %s.", login.id, login.backend_url, session.who)

    def get(self, login_id: str) -> Login:
        """A login by id; `LoginCancelled` when it was deleted, `LoginNotFound` when there is none."""
        try:
            return self.logins[login_id]
        except KeyError:
            if login_id in self._deleted:
                raise LoginCancelled(self._deleted[login_id]) from None
            raise LoginNotFound(
                f"There is no login {login_id[:40]!r} (it may have ended long ago). Start a new login."
            ) from None

    def cancel(self, login_id: str, message: str = "The login was cancelled.") -> Login:
        """DELETE logins/ID: cancel a pending login (an ended one keeps its end) and forget it; a later GET
        answers 410 with how it ended. Returns the login as it ended."""
        login = self.get(login_id)
        if login.pending:
            login.finish(LoginState.CANCELLED, message)
            self.log.info("openEO login %s to %s cancelled.", login.id, login.backend_url)
        del self.logins[login_id]
        ended = login.state == LoginState.CANCELLED
        self._deleted[login_id] = (
            login.message or "The login was cancelled."
            if ended
            else f"This login was deleted after it ended ({login.state.value})."
        )
        while len(self._deleted) > MAX_ENDED_LOGINS:
            del self._deleted[next(iter(self._deleted))]
        return login

    def stop(self) -> None:
        """Cancel every pending login (server shutdown)."""
        for login in self.logins.values():
            if login.pending:
                login.finish(LoginState.CANCELLED, "The Jupyter server stopped.")
