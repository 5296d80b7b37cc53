"""Sessions in a store: what a stored record holds, how it is saved, re-read and brought back."""

from __future__ import annotations

import dataclasses
import logging
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import NamedTuple

from ..flows import flow_of
from ..oidc import AsyncHttpClient, AsyncOidcClient, IssuerMetadata, TokenSet
from ..wire import Flow
from .session_key import SessionKey
from .store import SessionStore

#: The id token claims worth keeping (to show who is logged in); the rest would only grow the entry.
KEPT_CLAIMS = ("sub", "name", "email", "preferred_username")


class SavedLogin(NamedTuple):
    """A login brought back from the store: its access token expired, so its first use refreshes."""

    key: SessionKey
    backend_url: str
    client: AsyncOidcClient
    tokens: TokenSet


class Keeper:
    """Keeps the newest refresh token of each session in a `SessionStore`, and reads what another process of
    this user may have stored since. Service accounts and JupyterHub's logins are never stored (their secret is
    configured, or the hub keeps it)."""

    def __init__(self, store: SessionStore):
        self.store = store

    def _kept(self, key: SessionKey) -> bool:
        return self.store.persistent and flow_of(key.flow).stored

    def lock(self, key: SessionKey) -> AbstractAsyncContextManager:
        """Held around refresh-and-store, across this user's processes where the platform allows."""
        return self.store.lock(key.entry_name) if self._kept(key) else nullcontext()

    async def stored_refresh_token(self, key: SessionKey) -> str | None:
        """The refresh token another process may have stored for this session since we last did."""
        if not self._kept(key):
            return None
        record = await self.store.load_one(key.entry_name)
        token = (record or {}).get("refresh_token")
        return token if isinstance(token, str) else None

    async def save(self, key: SessionKey, backend_url: str, client: AsyncOidcClient, tokens: TokenSet) -> None:
        """Store a session's refresh token, with what is needed to use it after a restart."""
        if not self._kept(key):
            return
        record = {
            "key": list(key),
            "backend_url": backend_url,
            # The provider's endpoints too, so that a restart restores without asking the provider.
            "metadata": dataclasses.asdict(client.metadata),
            "client_id": client.client_id,
            "scopes": list(client.scopes),
            "refresh_token": tokens.refresh_token,
            "id_claims": {k: v for k, v in tokens.id_claims.items() if k in KEPT_CLAIMS},
        }
        if client.client_secret:  # a confidential client of the user's own (auth-config.json): renewing needs it
            record["client_secret"] = client.client_secret
        await self.store.save(key.entry_name, record)

    async def forget(self, key: SessionKey) -> None:
        """Remove a session from the store (logout)."""
        await self.store.delete(key.entry_name)

    async def saved(self, owner: str, http: AsyncHttpClient, log: logging.Logger) -> list[SavedLogin]:
        """The logins saved for this owner; a record that cannot be read is skipped with a warning."""
        found = []
        for record in await self.store.load():
            try:
                key = SessionKey(*record["key"])
                if key.owner != owner or not record.get("refresh_token"):
                    continue
                key = key._replace(flow=Flow(key.flow))
                saved = dict(record["metadata"])
                saved["token_endpoint_auth_methods"] = tuple(saved["token_endpoint_auth_methods"])
                if saved.get("grant_types") is not None:
                    saved["grant_types"] = tuple(saved["grant_types"])
                metadata = IssuerMetadata(**saved)
            except (KeyError, TypeError, ValueError) as e:
                log.warning("A saved openEO login could not be restored (incomplete record: %s). Log in again.", e)
                continue
            secret = record.get("client_secret") if isinstance(record.get("client_secret"), str) else None
            client = AsyncOidcClient(
                metadata, record["client_id"], client_secret=secret, scopes=tuple(record["scopes"]), http=http
            )
            tokens = TokenSet("", expires_at=0.0, refresh_token=record["refresh_token"], id_claims=record["id_claims"])
            found.append(SavedLogin(key, record["backend_url"], client, tokens))
        return found
