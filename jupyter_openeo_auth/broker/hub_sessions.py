"""Sessions from JupyterHub's own login (see `hub_tokens`): when the hub logged the user in at an issuer an
openEO back-end lists, that login serves the back-end with no login of the server's own."""

from __future__ import annotations

import dataclasses
import logging

from ..oidc import (
    AsyncHttpClient,
    AsyncOidcClient,
    BackendInfo,
    IssuerMetadata,
    OpenEOAuthError,
    issuer_cache,
)
from ..wire import Flow
from .accounts import check_account
from .hub_tokens import HubTokens
from .new_sessions import NewSessions
from .session_key import SessionKey
from .session_table import Found, SessionTable
from .sharing import same_issuer


class HubSessions:
    """Finds or makes the session of JupyterHub's login for a back-end."""

    def __init__(
        self,
        hub: HubTokens,
        table: SessionTable,
        new_sessions: NewSessions,
        http: AsyncHttpClient,
        log: logging.Logger,
    ):
        self.hub = hub
        self._table = table
        self._new_sessions = new_sessions
        self._http = http
        self._log = log

    async def find(self, info: BackendInfo, provider_id: str | None = None) -> Found | None:
        """The hub's login for this back-end (the issuer its id token names, asked at that issuer who it is): one
        already made, one serving another back-end of the same issuer, else a new one; None when the hub holds
        no login or it is for another issuer."""
        for session, served in self._table.serving(info, provider_id, Flow.HUB):
            if session.usable:
                return session, served
        found = await self._table.share(info, provider_id, flows=(Flow.HUB,))
        if found is not None:
            return found
        try:
            tokens = await self.hub.tokens()
        except OpenEOAuthError as e:
            self._log.debug("No openEO login from JupyterHub for %s: %s", info.url, e)
            return None
        issuer = self.hub.issuer_hint  # unverified: where to ask, and the token goes only to that issuer
        provider = next(
            (p for p in info.providers if same_issuer(p.issuer, issuer) and provider_id in (None, p.id)), None
        )
        if provider is None:
            return None
        key = SessionKey(info.api_url, provider.id, Flow.HUB, self._table.owner)
        metadata = await issuer_cache.get(provider.issuer, self._http)  # it must name itself (check_issuer)
        # The hub's client: only userinfo is asked with it; the hub renews its own tokens.
        hub_view = IssuerMetadata(metadata.issuer, token_endpoint="", userinfo_endpoint=metadata.userinfo_endpoint)
        client = AsyncOidcClient(hub_view, "jupyterhub", http=self._http)
        try:  # who it is, from the issuer itself
            tokens = dataclasses.replace(tokens, id_claims=await client.userinfo(tokens.access_token))
        except OpenEOAuthError as e:
            self._log.info("Could not ask %s who JupyterHub's login is: %s", issuer, e)
        session = self._new_sessions.make(key, info.url, client, tokens, self.hub.tokens)
        self._table.add(session)
        self._log.info("openEO login to %s through JupyterHub as %s.", info.url, session.who)
        await check_account(self._http, session, tokens, self._log)
        return session, session.own
