"""Making sessions of new tokens: who logged in, how the login renews, stored before anyone gets a token, an
older login of the same key replaced (and revoked), and the back-end's word on the account. The login runner,
JupyterHub's room and `restore` all make their sessions here, a room below them: none calls back up."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from ..flows import flow_of
from ..oidc import AsyncHttpClient, AsyncOidcClient, TokenSet
from ..wire import EventAction
from .accounts import check_account
from .bus import Bus
from .first_tokens import FirstTokens
from .keeper import Keeper
from .logins import Login
from .renewals import SessionSettings
from .revoke import revoke
from .session_key import SessionKey
from .session_table import SessionTable
from .sessions import Session

Renew = Callable[[TokenSet], Awaitable[TokenSet]]


class NewSessions:
    """Makes and adopts sessions with the broker's settings, store, table and bus."""

    def __init__(
        self,
        http: AsyncHttpClient,
        settings: SessionSettings,
        keeper: Keeper,
        table: SessionTable,
        first_tokens: FirstTokens,
        bus: Bus,
        log: logging.Logger,
    ):
        self._http, self._settings, self._keeper, self._table = http, settings, keeper, table
        self._first_tokens, self._bus, self._log = first_tokens, bus, log

    def make(
        self, key: SessionKey, backend_url: str, client: AsyncOidcClient, tokens: TokenSet, renew: Renew
    ) -> Session:
        """A session of tokens had elsewhere (restored from the store, JupyterHub's): kept as they are."""
        return Session(key, backend_url, client, tokens, renew, self._settings, self._log, self._keeper, self._bus)

    async def adopt(self, login: Login, client: AsyncOidcClient, tokens: TokenSet) -> Session:
        """The session of a login that just got its first tokens, ready to hand them out."""
        key = login.key
        rules = flow_of(key.flow)
        if rules.has_a_person:
            tokens = await self._first_tokens.with_user(client, tokens)
        renew: Renew = client.refresh
        if rules.renews_by_logging_in_again:  # a service account logs in again rather than refreshing
            renew = lambda _tokens: client.client_credentials()  # noqa: E731
        session = self.make(key, login.backend_url, client, tokens, renew)
        await session.save(tokens)  # stored before anyone receives its access token
        replaced = self._table.add(session)
        session.renewals.schedule()
        if replaced is not None:
            await self._revoke_replaced(replaced, session)
        await check_account(self._http, session, tokens, self._log)
        return session

    async def _revoke_replaced(self, old: Session, new: Session) -> None:
        """A new login of the same back-end, provider and flow (another client, say) replaced `old`: its refresh
        token is revoked as a logout would, so that nothing of it stays valid at the provider; the new login's
        message says so."""
        same_client = (old.client.client_id, old.client.metadata.issuer) == (
            new.client.client_id,
            new.client.metadata.issuer,
        )
        if not old.tokens.refresh_token or same_client:
            return  # the same client's: Keycloak would end the new login with it (token_broker.KEYCLOAK_REVOKED)
        problem = await revoke(old, self._log)
        said = (
            problem
            or f"Your earlier login to {old.backend_url} (client {old.client.client_id!r}) was replaced by this one "
            "and revoked at the provider."
        )
        new.notice = said
        self._log.info("The openEO login to %s as %s replaced an earlier one: %s", new.backend_url, new.who, said)
        self._bus.publish(EventAction.SESSION_ENDED, old.key, old.backend_url, state="replaced", user=old.user)
