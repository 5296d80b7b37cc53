"""The token broker: logins, sessions and persistence for one Jupyter server. No HTTP handlers here."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Iterable
from typing import NamedTuple

from ..flows import SHARED, STARTABLE, flow_of
from ..oidc import (
    AsyncHttpClient,
    BackendInfo,
    NotLoggedIn,
    OpenEOAuthError,
    TokenSet,
    normalize_url,
)
from ..wire import EventAction, Flow
from .accounts import ACCOUNT_RECHECK, AccountRefused, check_account
from .backends import Backends
from .bus import Bus
from .first_tokens import FirstTokens
from .hub_sessions import HubSessions
from .hub_tokens import HubTokens
from .keeper import Keeper
from .login_runner import MAX_PENDING_LOGINS, LoginRunner
from .logins import Login
from .new_sessions import NewSessions
from .revoke import revoke
from .service_accounts import ServiceAccount
from .session_table import Found, SessionTable
from .sessions import Served, Session, SessionKey, SessionSettings
from .store import MemoryStore, SessionStore

#: A caller that asked about a pending login this recently still waits for it (clients ask every few seconds).
STILL_WAITING = 15.0
#: What a logout at a Keycloak realm also did (its revocation endpoint ends every login of the account with that
#: client, not just this one). Said rather than avoided: Keycloak's logout endpoint would end the browser's
#: single sign-on the code was approved in (wider), and a logout must leave no refresh token alive (README).
KEYCLOAK_REVOKED = (
    "The provider (Keycloak) revoked the login, which also ends your other logins with the client {client!r}: "
    "other Jupyter servers and the openeo client on other machines that use it must log in again."
)


class Grant(NamedTuple):
    """What `TokenBroker.token` hands out: fresh tokens, and the session and back-end they are for."""

    session: Session
    served: Served
    tokens: TokenSet


class TokenBroker:
    """Runs logins on the event loop (scheduled polls, non-blocking HTTP), keeps one session per
    (back-end, provider, flow, owner), and hands out access tokens."""

    def __init__(
        self,
        *,
        settings: SessionSettings | None = None,
        http_timeout: float = 10.0,
        store: SessionStore | None = None,
        service_accounts: Iterable[ServiceAccount] = (),
        allowed_backends: Iterable[str] = (),
        owner: str | None = None,
        log: logging.Logger | None = None,
        hub: HubTokens | None = None,
        max_pending_logins: int = MAX_PENDING_LOGINS,
        default_backend: str = "",
        on_event: Callable[[dict], None] | None = None,
        http: AsyncHttpClient | None = None,
    ):
        self.settings = settings or SessionSettings()
        self.http = http or AsyncHttpClient(timeout=http_timeout)
        self.store: SessionStore = store or MemoryStore()
        self.keeper = Keeper(self.store)
        self.default_backend = default_backend
        #: Every login start and end, session renewal, sharing and end: the rooms publish, `on_event` hears each
        #: as a dict without any secret.
        self.log = log or logging.getLogger("jupyter_openeo_auth")
        self.bus = Bus(self.log)
        if on_event is not None:
            self.bus.subscribe(lambda event: on_event(event.as_dict()))
        self.service_accounts = list(service_accounts)
        self.backends = Backends(self.http, allowed_backends)
        self.owner = os.environ.get("JUPYTERHUB_USER", "") if owner is None else owner
        #: The sessions' room: which login serves which back-end.
        self.table = SessionTable(self.owner, self.http, self.log, self.bus)
        #: JupyterHub's login, when the server runs on a hub that hands it out (see `use_hub`).
        self.hub: HubSessions | None = None
        self.use_hub(hub)
        #: How each flow gets its first tokens at the provider.
        self.first_tokens = FirstTokens(self.http, self.service_accounts, self.store.timeout, self.log)
        #: Where new tokens become sessions (logins, the hub's login, restore).
        self.new_sessions = NewSessions(
            self.http, self.settings, self.keeper, self.table, self.first_tokens, self.bus, self.log
        )
        #: The logins' room: start, poll, cancel, forget.
        self.runner = LoginRunner(self.new_sessions, self.bus, self.log, max_pending_logins)
        #: Set while `restore()` runs: requests that look for sessions wait for it.
        self._restoring: asyncio.Future | None = None
        #: Set once the server started on a hub: the hub's login for the default back-end being made.
        self._hub_started: asyncio.Future | None = None

    def use_hub(self, hub: HubTokens | None) -> None:
        """Serve JupyterHub's own login (its tokens asked with the broker's HTTP client), or none."""
        self.hub = HubSessions(hub, self.table, self.new_sessions, self.http, self.log) if hub is not None else None

    def __repr__(self) -> str:
        return f"<TokenBroker sessions={len(self.table)} logins={len(self.logins)}>"

    @property
    def sessions(self) -> dict[SessionKey, Session]:
        """Every session of the server by key (see `SessionTable`)."""
        return self.table.by_key

    # --- discovery ----------------------------------------------------------------------------------

    async def backend(self, url: str) -> BackendInfo:
        """What the back-end says about itself (see `Backends.info`)."""
        return await self.backends.info(url)

    async def flows(self, info: BackendInfo) -> dict[str, list[str]]:
        """Per provider id, the flows it really offers (see `Backends.flows`)."""
        return await self.backends.flows(info)

    def public_settings(self) -> dict:
        """The configuration the login dialog shows: the default back-end and where service accounts are."""
        return {
            "default_backend": self.default_backend,
            "service_account_backends": sorted({normalize_url(a.backend) for a in self.service_accounts}),
            "allowed_backends": self.backends.allowed,
        }

    # --- logins ---------------------------------------------------------------------------------------

    @property
    def logins(self) -> dict[str, Login]:
        """The server's logins by id (see `LoginRunner`)."""
        return self.runner.logins

    async def start_login(
        self,
        backend: str,
        provider_id: str | None = None,
        client_id: str | None = None,
        flow: str = Flow.DEVICE,
        username: str | None = None,
        password: str | None = None,
        client_secret: str | None = None,
    ) -> Login:
        """Start (or reuse) a login. Returns a logged-in Login at once when a usable session exists or a
        non-interactive flow succeeded; a pending one for the device flow. `client_secret` is the secret of the
        user's own confidential client `client_id` (as `openeo-auth add-oidc` saves them)."""
        if flow not in STARTABLE:
            raise OpenEOAuthError(f"Unknown login flow {flow!r}; use one of: {', '.join(STARTABLE)}.")
        if client_secret and not client_id:
            raise OpenEOAuthError("A client secret needs the client id it belongs to (client_id).")
        flow = Flow(flow)
        await self._restored()
        info = await self.backend(backend)
        provider_id = info.provider(provider_id).id
        key = SessionKey(info.api_url, provider_id, flow, self.owner)
        found = await self._usable(info, key, client_id)
        if found is not None:
            session, served = found
            return self.runner.done(self.runner.new(key._replace(flow=session.key.flow), info.url), session, served)
        pending = self.runner.pending(key, client_id)
        if pending is not None:
            return pending
        if not flow_of(flow).interactive:
            client, tokens = await self.first_tokens.direct(info, key, client_id, username, password, client_secret)
            login = self.runner.new(key, info.url)
            return self.runner.done(login, await self.new_sessions.adopt(login, client, tokens))
        self.runner.make_room()
        authorization = await self.first_tokens.device(info, provider_id, client_id, client_secret)
        login = self.runner.start_device(key, info.url, authorization)
        self.bus.publish(EventAction.LOGIN_STARTED, key, info.url, login_id=login.id)
        return login

    async def _usable(self, info: BackendInfo, key: SessionKey, client_id: str | None) -> Found | None:
        """A usable login for this back-end: its own (with the client asked for, when one is named), or for the
        device flow the same account's login at this provider and client, or JupyterHub's."""
        rules = flow_of(key.flow)
        reusable = (key.flow, *rules.reuses)
        serving = self.table.serving(info, key.provider_id)
        found = next(
            ((s, v) for s, v in serving if s.usable and s.key.flow in reusable and s.has_client(client_id)), None
        )
        if found is None and rules.reuses:  # the same account's login elsewhere, or the hub's
            found = await self.table.share(info, key.provider_id, client_id) or await self._hub_session(
                info, key.provider_id
            )
        return found

    def pending_logins(self) -> list[Login]:
        """The owner's logins waiting for approval (a JupyterLab tab opened since, or reloaded, picks them up)."""
        return [login for login in self.runner.logins.values() if login.pending and login.key.owner == self.owner]

    def login(self, login_id: str) -> Login:
        """A login by id (`LoginNotFound`)."""
        return self.runner.get(login_id)

    def cancel_login(self, login_id: str, leaving: str | None = None) -> Login:
        """Cancel a pending login; an ended login is left as it is. With `leaving` (a caller that stops waiting),
        only when nobody else asked about it lately."""
        login = self.runner.get(login_id)
        if leaving is not None:
            login.waiters.pop(leaving, None)
            if login.pending and login.waited_for(STILL_WAITING):
                return login
        return self.runner.cancel(login_id)

    def kernel_gone(self, kernel_id: str) -> list[Login]:
        """A kernel of the server was restarted or shut down: the pending logins it started or waited for are
        cancelled, unless someone else (JupyterLab, another kernel, the CLI) asked about them lately."""
        caller, cancelled = f"kernel:{kernel_id}", []
        for login in list(self.runner.logins.values()):
            if login.pending and caller in login.waiters:
                message = "The kernel that waited for this login was restarted or shut down, so it was cancelled."
                login.waiters.pop(caller)
                if not login.waited_for(STILL_WAITING):
                    cancelled.append(self.runner.cancel(login.id, message))
        return cancelled

    # --- sessions ---------------------------------------------------------------------------------------

    async def restore(self) -> int:
        """Bring back the sessions saved in the store; their first token request refreshes. Returns how many.
        Requests arriving meanwhile (the server listens before its extensions start) wait for it."""
        self._restoring = asyncio.get_running_loop().create_future()
        try:
            restored = await self.keeper.saved(self.owner, self.http, self.log)
            for saved in restored:
                self.table.add(self.new_sessions.make(*saved, saved.client.refresh))
            if restored:
                self.log.info("Restored %d openEO login(s) from the keyring.", len(restored))
            return len(restored)
        finally:
            self._restoring.set_result(None)
            if self.hub is not None and self.default_backend:
                self._hub_started = asyncio.ensure_future(self._hub_default())

    async def _hub_default(self) -> None:
        """On a hub whose login serves the default back-end, that session is there from the start: the status
        bar shows it before anyone asked for a token."""
        try:
            await self._hub_session(await self.backend(self.default_backend))
        except OpenEOAuthError as e:
            self.log.debug("JupyterHub's login does not serve %s: %s", self.default_backend, e)
        except Exception:  # noqa: BLE001 - GET sessions waits for this: it must end, whatever happened
            self.log.exception("Making the session of JupyterHub's login for %s failed.", self.default_backend)

    async def _restored(self) -> None:
        if self._restoring is not None:
            await asyncio.shield(self._restoring)

    async def find_session(self, backend: str, provider_id: str | None = None, flow: str | None = None) -> Found:
        """The login serving a back-end (and provider, and flow when named), and that back-end as it serves it:
        one made for it, else one of the same account at the same provider and client, else JupyterHub's;
        `NotLoggedIn` when none."""
        await self._restored()
        info = await self.backend(backend)
        candidates = self.table.serving(info, provider_id, flow)
        default = info.providers[0].id
        candidates.sort(key=lambda found: (not found[0].usable, found[1].provider_id != default))
        if flow in (None, *SHARED) and not any(session.usable for session, _ in candidates):
            found = await self.table.share(info, provider_id, flows=(flow,) if flow else SHARED)
            if found is None and (flow is None or flow_of(flow).from_the_hub):
                found = await self._hub_session(info, provider_id)
            candidates = [found] if found is not None else candidates
        if not candidates:
            raise NotLoggedIn(
                f"Not logged in to {info.url}. Log in first: %openeo_login {info.url} "
                "(or jupyter_openeo_auth.login(...) in a notebook)."
            )
        return candidates[0]

    async def _hub_session(self, info: BackendInfo, provider_id: str | None = None) -> Found | None:
        """JupyterHub's login for this back-end (see `HubSessions`); None off a hub."""
        return await self.hub.find(info, provider_id) if self.hub is not None else None

    async def token(
        self, backend: str, provider_id: str | None = None, min_valid: float | None = None, flow: str | None = None
    ) -> Grant:
        """Tokens valid for at least `min_valid` seconds (from a login of that flow, when named), with the
        session and back-end they serve."""
        session, served = await self.find_session(backend, provider_id, flow)
        tokens = await session.access_token(min_valid)
        if served.account_problem:
            if time.monotonic() - served.account_checked_at > ACCOUNT_RECHECK:
                await check_account(self.http, session, tokens, self.log, served)
            if served.account_problem:
                raise AccountRefused(served.account_problem)
        return Grant(session, served, tokens)

    async def session_list(self, backend: str | None = None) -> list[dict]:
        """Summaries of this owner's sessions, one per back-end a login serves: no tokens. With `backend`, a
        login that could serve it (same account at the same provider and client, or the hub's) is listed for it
        too, without being attached to it: this answers GET, and a GET sends no token anywhere (SECURITY.md).
        On a hub, the hub's login of the default back-end is made when the server starts (`restore`)."""
        await self._restored()
        if self._hub_started is not None:
            await asyncio.shield(self._hub_started)
        listed = self.table.summaries()
        if backend:
            normalize_url(backend)  # a URL that is none is the caller's mistake: 400
            try:
                info = await self.backend(backend)
            except OpenEOAuthError:
                return listed  # the back-end does not answer: the list says what there is
            if not any(s["backend"] == info.url for s in listed):
                listed += self.table.could_serve(info)[:1]
        return listed

    async def logout(self, backend: str, provider_id: str | None = None) -> dict:
        """End the logins serving a back-end (and provider) — for every back-end each serves —, delete what was
        persisted and revoke their refresh tokens: `{"logged_out": N, "revoked": bool, "backends": [...],
        "message"?}`; the message says which other back-ends shared the login, and when revocation failed."""
        await self._restored()
        info = await self.backend(backend)
        gone = [session for session, _ in self.table.serving(info, provider_id)]
        problems, backends, said = [], [], []
        for session in gone:
            self.table.remove(session)
            session.end()  # first: a refresh that finishes later writes nothing back
            await self.keeper.forget(session.key)
            problem = await revoke(session, self.log)
            if problem:
                problems.append(problem)
            elif session.tokens.refresh_token and "/realms/" in session.client.metadata.issuer:
                # Keycloak revokes a refresh token by ending this client's logins of the account everywhere.
                said.append(KEYCLOAK_REVOKED.format(client=session.client.client_id))
            for served in session.served.values():
                backends.append(served.backend_url)
                self.log.info(
                    "Logged out of %s (provider %s) as %s.", served.backend_url, served.provider_id, session.who
                )
                self.bus.publish(
                    EventAction.SESSION_ENDED, session.key, served.backend_url, state="logged_out", user=session.user
                )
        backends = list(dict.fromkeys(backends))
        waiting = [
            login
            for login in list(self.runner.logins.values())
            if login.pending
            and login.key.owner == self.owner
            and login.key.api_url == info.api_url
            and provider_id in (None, login.key.provider_id)
        ]
        for login in waiting:  # a login approved after the logout would log the user in again
            self.runner.cancel(login.id, f"Cancelled by the logout of {info.url}.")
        if waiting:
            said.append("The login waiting for approval was cancelled too.")
        result: dict = {"logged_out": len(gone), "revoked": bool(gone) and not problems, "backends": backends}
        others = [b for b in backends if b != info.url]
        notes = [f"Logged out of {info.url} and of {', '.join(others)}, which shared the login."] if others else []
        if problems or notes or said:
            result["message"] = " ".join(dict.fromkeys(notes + problems + said))
        return result

    def stop(self) -> None:
        """Stop every timer (server shutdown)."""
        if self._hub_started is not None:
            self._hub_started.cancel()
        self.table.stop()
        self.runner.stop()

    async def aclose(self) -> None:
        """Stop everything and close the HTTP connections."""
        self.stop()
        await self.http.aclose()
