"""Sessions in the store: what a keyring entry holds, how a session is saved, re-read and restored."""

from __future__ import annotations

import dataclasses
import logging

from ..oidc import IssuerMetadata, OidcClient, TokenSet
from .sessions import Keeper, Session, SessionKey, SessionSettings
from .store import KeyringStore, MemoryStore

#: The id token claims worth keeping (to show who is logged in); the rest would only grow the entry.
KEPT_CLAIMS = ("sub", "name", "email", "preferred_username")


class StoreKeeper(Keeper):
    """Persistence of sessions in a `MemoryStore` or `KeyringStore`. Service accounts and JupyterHub's logins
    are never stored (their secret is configured, or the hub keeps it)."""

    def __init__(self, store: MemoryStore):
        self.store = store

    @staticmethod
    def _stored(session: Session) -> bool:
        return session.key.flow not in ("client_credentials", "hub")  # configured, or the hub's

    def lock(self, session: Session):
        if not (self.store.persistent and self._stored(session)):
            return super().lock(session)
        return self.store.lock(KeyringStore.entry_name(session.key))

    async def stored_refresh_token(self, session: Session) -> str | None:
        if not (self.store.persistent and self._stored(session)):
            return None
        record = await self.store.load_one(KeyringStore.entry_name(session.key))
        token = (record or {}).get("refresh_token")
        return token if isinstance(token, str) else None

    async def save(self, session: Session, tokens: TokenSet) -> None:
        if not (self.store.persistent and self._stored(session)) or session.ended:
            return
        record = {
            "key": list(session.key),
            "backend_url": session.backend_url,
            # The provider's endpoints too, so that a restart restores without asking the provider.
            "metadata": dataclasses.asdict(session.client.metadata),
            "client_id": session.client.client_id,
            "scopes": list(session.client.scopes),
            "refresh_token": tokens.refresh_token,
            "id_claims": {k: v for k, v in tokens.id_claims.items() if k in KEPT_CLAIMS},
        }
        await self.store.save(KeyringStore.entry_name(session.key), record)

    async def forget(self, key: SessionKey) -> None:
        """Remove a session from the store (logout)."""
        await self.store.delete(KeyringStore.entry_name(key))

    async def restore(
        self, owner: str, http, settings: SessionSettings, log: logging.Logger, notify=None
    ) -> list[Session]:
        """Sessions saved for this owner, with an expired access token: their first use refreshes."""
        sessions = []
        for record in await self.store.load():
            try:
                key = SessionKey(*record["key"])
                if key.owner != owner or not record.get("refresh_token"):
                    continue
                saved = dict(record["metadata"])
                saved["token_endpoint_auth_methods"] = tuple(saved["token_endpoint_auth_methods"])
                if saved.get("grant_types") is not None:
                    saved["grant_types"] = tuple(saved["grant_types"])
                metadata = IssuerMetadata(**saved)
            except (KeyError, TypeError) as e:
                log.warning("A saved openEO login could not be restored (incomplete record: %s). Log in again.", e)
                continue
            client = OidcClient(metadata, record["client_id"], scopes=tuple(record["scopes"]), http=http)
            tokens = TokenSet("", expires_at=0.0, refresh_token=record["refresh_token"], id_claims=record["id_claims"])
            sessions.append(
                Session(key, record["backend_url"], client, tokens, client.refresh, settings, log, self, notify)
            )
        return sessions
