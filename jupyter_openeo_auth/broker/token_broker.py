"""The token broker: logins, sessions and persistence for one Jupyter server. No HTTP handlers here."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import time
from functools import partial
from typing import Dict, Iterable, List, Optional, Tuple

from ..oidc import (
    BackendInfo,
    HttpClient,
    IssuerMetadata,
    NotLoggedIn,
    OidcClient,
    OpenEOAuthError,
    TokenSet,
    discover_backend,
    issuer_cache,
    normalize_url,
)
from .logins import Login, LoginState
from .service_accounts import ServiceAccount, find_account
from .sessions import Session, SessionKey, SessionSettings
from .store import KeyringStore, MemoryStore

FLOWS = ("device", "client_credentials", "password")
#: How long discovery results and finished logins are kept (seconds).
DISCOVERY_TTL = 600.0
FINISHED_LOGIN_TTL = 3600.0


class BackendNotAllowed(OpenEOAuthError):
    reason = "not_allowed"


class LoginNotFound(OpenEOAuthError):
    reason = "not_found"


class TokenBroker:
    """Runs logins on the event loop (scheduled polls, blocking HTTP in the default executor), keeps one
    session per (back-end, provider, flow, owner), and hands out access tokens."""

    def __init__(
        self,
        *,
        settings: Optional[SessionSettings] = None,
        http_timeout: float = 10.0,
        store: Optional[MemoryStore] = None,
        service_accounts: Iterable[ServiceAccount] = (),
        allowed_backends: Iterable[str] = (),
        owner: Optional[str] = None,
        log: Optional[logging.Logger] = None,
    ):
        self.settings = settings or SessionSettings()
        self.http = HttpClient(timeout=http_timeout)
        self.store = store or MemoryStore()
        self.service_accounts = list(service_accounts)
        self.allowed = [normalize_url(u) for u in allowed_backends]
        self.owner = os.environ.get("JUPYTERHUB_USER", "") if owner is None else owner
        self.log = log or logging.getLogger("jupyter_openeo_auth")
        self.sessions: Dict[SessionKey, Session] = {}
        self.logins: Dict[str, Login] = {}
        self._backends: Dict[str, Tuple[float, BackendInfo]] = {}
        #: Set while `restore()` runs: requests that look for sessions wait for it.
        self._restoring: Optional[asyncio.Future] = None

    def __repr__(self) -> str:
        return f"<TokenBroker sessions={len(self.sessions)} logins={len(self.logins)}>"

    # --- discovery ----------------------------------------------------------------------------------

    async def _blocking(self, fn, *args, **kwargs):
        return await asyncio.get_running_loop().run_in_executor(None, partial(fn, *args, **kwargs))

    def _check_allowed(self, url: str) -> str:
        url = normalize_url(url)
        if self.allowed and not any(url == a or url.startswith(a + "/") for a in self.allowed):
            raise BackendNotAllowed(
                f"This Jupyter server only logs in to {', '.join(self.allowed)}; {url} is not allowed here."
            )
        return url

    async def backend(self, url: str) -> BackendInfo:
        """What the back-end says about itself (cached for a while; discovery runs off the event loop).
        When a refresh of a cached entry fails for a passing reason, the cached entry still serves, so a
        back-end that is down for a moment does not stop the tokens of its sessions."""
        url = self._check_allowed(url)
        hit = self._backends.get(url)
        if hit and time.time() - hit[0] < DISCOVERY_TTL:
            return hit[1]
        try:
            info = await self._blocking(discover_backend, url, self.http)
        except OpenEOAuthError as e:
            if hit and e.transient:
                return hit[1]
            raise
        self._backends[url] = (time.time(), info)
        return info

    async def _client(self, info: BackendInfo, provider_id, flow, client_id=None, secret=None):
        """(OidcClient, use PKCE) for a flow at one of the back-end's providers."""
        provider = info.provider(provider_id)
        client_id, pkce = (client_id, False) if secret else provider.choose_client(flow, client_id)
        metadata = await self._blocking(issuer_cache.get, provider.issuer, self.http)
        client = OidcClient(metadata, client_id, client_secret=secret, scopes=provider.scopes, http=self.http)
        return client, pkce

    # --- logins ---------------------------------------------------------------------------------------

    async def start_login(
        self, backend: str, provider_id=None, client_id=None, flow="device", username=None, password=None
    ) -> Login:
        """Start (or reuse) a login. Returns a logged-in Login at once when a usable session exists or a
        non-interactive flow succeeded; a pending one for the device flow."""
        if flow not in FLOWS:
            raise OpenEOAuthError(f"Unknown login flow {flow!r}; use one of: {', '.join(FLOWS)}.")
        await self._restored()
        info = await self.backend(backend)
        provider_id = info.provider(provider_id).id
        key = SessionKey(info.api_url, provider_id, flow, self.owner)
        session = self.sessions.get(key)
        if session is not None and session.usable:
            return self._login_done(Login(key, info.url), session)
        for login in self.logins.values():
            if login.key == key and login.pending:
                return login
        self._forget_old_logins()
        if flow == "device":
            return await self._start_device_login(info, key, client_id)
        return await self._direct_login(info, key, client_id, username, password)

    async def _start_device_login(self, info: BackendInfo, key: SessionKey, client_id) -> Login:
        client, pkce = await self._client(info, key.provider_id, "device", client_id)
        auth = await self._blocking(client.start_device_authorization, pkce)
        login = Login(key, info.url, auth)
        self.logins[login.id] = login
        self.log.info("openEO login %s to %s (provider %s) started; waiting for the user.", login.id, info.url, key.provider_id)
        self._schedule_poll(login)
        return login

    async def _direct_login(self, info: BackendInfo, key: SessionKey, client_id, username, password) -> Login:
        """Client credentials or password: one token request, no polling. The password is not kept."""
        secret = None
        if key.flow == "client_credentials":
            account = find_account(self.service_accounts, info.url, info.api_url, key.provider_id)
            client_id = account.client_id
            secret = await self._blocking(account.read_secret)
        elif not username or not password:
            raise OpenEOAuthError("The password flow needs a username and a password.")
        client, _ = await self._client(info, key.provider_id, key.flow, client_id, secret)
        if key.flow == "client_credentials":
            tokens = await self._blocking(client.client_credentials)
        else:
            tokens = await self._blocking(client.password, username, password)
        login = Login(key, info.url)
        self.logins[login.id] = login
        return self._login_done(login, await self._new_session(login, client, tokens))

    def _login_done(self, login: Login, session: Session) -> Login:
        login.finish(LoginState.LOGGED_IN, user=session.user)
        self.logins.setdefault(login.id, login)
        return login

    def _schedule_poll(self, login: Login) -> None:
        loop = asyncio.get_running_loop()
        login.timer = loop.call_later(login.auth.seconds_to_next_poll(), lambda: asyncio.ensure_future(self._poll(login)))

    async def _poll(self, login: Login) -> None:
        """One scheduled poll of a device login; schedules the next one while it stays pending."""
        if not login.pending or login.auth is None:
            return
        auth = login.auth
        try:
            tokens = await self._blocking(auth.poll)
        except Exception as e:  # noqa: BLE001 - a login must end in a state, whatever went wrong
            if login.pending:
                error = e if isinstance(e, OpenEOAuthError) else OpenEOAuthError(
                    f"The login failed unexpectedly ({type(e).__name__}). Start a new login."
                )
                login.fail(error)
                self.log.info("openEO login %s to %s ended: %s (%s)", login.id, login.backend_url, login.state.value, error)
            return
        if not login.pending:  # cancelled while the poll was on its way
            return
        if tokens is None:
            self._schedule_poll(login)
            return
        session = await self._new_session(login, auth.client, tokens)
        self._login_done(login, session)
        self.log.info("openEO login %s to %s approved as %s.", login.id, login.backend_url, session.who)

    def login(self, login_id: str) -> Login:
        """A login by id."""
        try:
            return self.logins[login_id]
        except KeyError:
            raise LoginNotFound(f"There is no login {login_id!r} (it may have ended long ago). Start a new login.") from None

    def cancel_login(self, login_id: str) -> Login:
        """Cancel a pending login; an ended login is left as it is."""
        login = self.login(login_id)
        if login.pending:
            login.finish(LoginState.CANCELLED, "The login was cancelled.")
            self.log.info("openEO login %s to %s cancelled.", login.id, login.backend_url)
        return login

    def _forget_old_logins(self) -> None:
        cutoff = time.time() - FINISHED_LOGIN_TTL
        for login_id in [i for i, l in self.logins.items() if l.finished_at and l.finished_at < cutoff]:
            del self.logins[login_id]

    # --- sessions ---------------------------------------------------------------------------------------

    async def _new_session(self, login: Login, client: OidcClient, tokens: TokenSet) -> Session:
        key = login.key
        if not tokens.user and key.flow != "client_credentials":
            tokens = await self._with_userinfo(client, tokens)
        old = self.sessions.pop(key, None)
        if old is not None:
            old.cancel_timer()
        renew = (lambda _tokens: client.client_credentials()) if key.flow == "client_credentials" else client.refresh
        session = Session(key, login.backend_url, client, tokens, renew, self.settings, self.log, self._persist)
        self.sessions[key] = session
        await self._persist(session)
        session.schedule()
        return session

    async def _with_userinfo(self, client: OidcClient, tokens: TokenSet) -> TokenSet:
        """No id token came (some password grants): ask userinfo who logged in, to show a name."""
        try:
            claims = await self._blocking(client.userinfo, tokens.access_token)
        except OpenEOAuthError as e:
            self.log.info("Could not ask %s who logged in: %s", client.metadata.issuer, e)
            return tokens
        return dataclasses.replace(tokens, id_claims=claims)

    async def _persist(self, session: Session) -> None:
        if not self.store.persistent or session.key.flow == "client_credentials":
            return
        record = {
            "key": list(session.key),
            "backend_url": session.backend_url,
            # The provider's endpoints too, so that a restart restores without asking the provider.
            "metadata": dataclasses.asdict(session.client.metadata),
            "client_id": session.client.client_id,
            "scopes": list(session.client.scopes),
            "refresh_token": session.tokens.refresh_token,
            "id_claims": session.tokens.id_claims,
        }
        await self.store.save(KeyringStore.entry_name(session.key), record)

    async def restore(self) -> int:
        """Bring back the sessions saved in the store; their first token request refreshes. Returns how many.
        Requests arriving meanwhile (the server listens before its extensions start) wait for it."""
        self._restoring = asyncio.get_running_loop().create_future()
        try:
            return await self._restore()
        finally:
            self._restoring.set_result(None)

    async def _restored(self) -> None:
        if self._restoring is not None:
            await asyncio.shield(self._restoring)

    async def _restore(self) -> int:
        restored = 0
        for record in await self.store.load():
            try:
                key = SessionKey(*record["key"])
                if key.owner != self.owner or not record.get("refresh_token"):
                    continue
                saved = dict(record["metadata"])
                saved["token_endpoint_auth_methods"] = tuple(saved["token_endpoint_auth_methods"])
                metadata = IssuerMetadata(**saved)
            except (KeyError, TypeError) as e:
                self.log.warning("A saved openEO login could not be restored (incomplete record: %s). Log in again.", e)
                continue
            client = OidcClient(metadata, record["client_id"], scopes=tuple(record["scopes"]), http=self.http)
            tokens = TokenSet("", expires_at=0.0, refresh_token=record["refresh_token"], id_claims=record["id_claims"])
            session = Session(key, record["backend_url"], client, tokens, client.refresh, self.settings, self.log, self._persist)
            self.sessions[key] = session
            restored += 1
        if restored:
            self.log.info("Restored %d openEO login(s) from the keyring.", restored)
        return restored

    async def find_session(self, backend: str, provider_id: Optional[str] = None) -> Session:
        """The session for a back-end (and provider); `NotLoggedIn` when there is none."""
        await self._restored()
        info = await self.backend(backend)
        candidates = [
            s for s in self.sessions.values()
            if s.key.api_url == info.api_url and s.key.owner == self.owner
            and (provider_id is None or s.key.provider_id == provider_id)
        ]
        default = info.providers[0].id
        candidates.sort(key=lambda s: (not s.usable, s.key.provider_id != default))
        if not candidates:
            raise NotLoggedIn(
                f"Not logged in to {info.url}. Log in first: %openeo_login {info.url} "
                "(or jupyter_openeo_auth.login(...) in a notebook)."
            )
        return candidates[0]

    async def token(self, backend: str, provider_id: Optional[str] = None, min_valid: Optional[float] = None):
        """(session, tokens) with an access token valid for at least `min_valid` seconds."""
        session = await self.find_session(backend, provider_id)
        return session, await session.access_token(min_valid)

    async def session_list(self) -> List[dict]:
        """Summaries of this owner's sessions: no tokens."""
        await self._restored()
        return [s.summary() for s in self.sessions.values() if s.key.owner == self.owner]

    async def logout(self, backend: str, provider_id: Optional[str] = None) -> int:
        """Forget the sessions for a back-end (and provider), revoke refresh tokens, delete persisted data."""
        await self._restored()
        info = await self.backend(backend)
        gone = [
            k for k in self.sessions
            if k.api_url == info.api_url and k.owner == self.owner and provider_id in (None, k.provider_id)
        ]
        for key in gone:
            session = self.sessions.pop(key)
            session.cancel_timer()
            await self.store.delete(KeyringStore.entry_name(key))
            if session.tokens.refresh_token:
                try:
                    await self._blocking(session.client.revoke, session.tokens.refresh_token)
                except OpenEOAuthError as e:
                    self.log.warning("Could not revoke the openEO login to %s at its provider: %s", info.url, e)
            self.log.info("Logged out of %s (provider %s) as %s.", info.url, key.provider_id, session.who)
        return len(gone)

    def stop(self) -> None:
        """Stop every timer (server shutdown)."""
        for session in self.sessions.values():
            session.cancel_timer()
        for login in self.logins.values():
            if login.pending:
                login.finish(LoginState.CANCELLED, "The Jupyter server stopped.")
