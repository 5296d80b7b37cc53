"""This owner's sessions, and which login serves which back-end: its own, or another back-end's login of the
same account at the same provider and client (see `sharing`)."""

from __future__ import annotations

import logging

from ..flows import SHARED
from ..oidc import AsyncHttpClient, BackendInfo, OpenEOAuthError
from ..wire import EventAction, Flow
from .accounts import check_account
from .bus import Bus
from .describe import describe, describe_all
from .session_key import SessionKey
from .sessions import Served, Session
from .sharing import can_serve

#: A session and one back-end it serves.
Found = tuple[Session, Served]


class SessionTable:
    """The sessions of a server by key; lookups see only the server's owner's."""

    def __init__(
        self,
        owner: str,
        http: AsyncHttpClient,
        log: logging.Logger,
        bus: Bus,
    ):
        self.owner = owner
        self.by_key: dict[SessionKey, Session] = {}
        self._http = http
        self._log = log
        self._bus = bus

    def __len__(self) -> int:
        return len(self.by_key)

    def add(self, session: Session) -> Session | None:
        """Keep a new session; the one it replaces (same key) ends and is returned (its refresh token is the
        caller's to revoke), and another login that served its back-end through the same provider (shared from
        another back-end) serves it no more: the newest login wins."""
        old = self.by_key.pop(session.key, None)
        if old is not None and old is not session:
            old.end()
        else:
            old = None
        api_url = session.key.api_url
        for other in self.by_key.values():
            shared = other.served.get(api_url)
            if (
                shared is not None
                and other.key.api_url != api_url
                and other.key.owner == session.key.owner
                and shared.provider_id == session.key.provider_id
            ):
                del other.served[api_url]
        self.by_key[session.key] = session
        return old

    def remove(self, session: Session) -> None:
        """Forget a session (logout); ending it is the caller's."""
        self.by_key.pop(session.key, None)

    def mine(self) -> list[Session]:
        """The owner's sessions."""
        return [s for s in self.by_key.values() if s.key.owner == self.owner]

    def has_flow(self, flow: Flow) -> bool:
        """Is there any session of this flow?"""
        return any(key.flow == flow for key in self.by_key)

    def serving(self, info: BackendInfo, provider_id: str | None, flow: str | None = None) -> list[Found]:
        """The owner's logins that already serve a back-end (through a provider, with a flow, when named)."""
        found = []
        for session in self.mine():
            served = session.served.get(info.api_url)
            if served is not None and provider_id in (None, served.provider_id) and flow in (None, session.key.flow):
                found.append((session, served))
        return found

    def could_serve(self, info: BackendInfo, provider_id: str | None = None) -> list[dict]:
        """What `GET sessions?backend=` adds: the summary, for this back-end, of each usable login of the owner
        that does not serve it yet but would (same issuer and client, or the hub's issuer). Looks only: nothing
        is attached, checked or sent; a token request (which proves it comes from the user) attaches it."""
        out = []
        for provider in info.providers:
            if provider_id not in (None, provider.id):
                continue
            for session in self.mine():
                if info.api_url not in session.served and can_serve(session, provider):
                    out.append(describe(session, Served(info.api_url, info.url, provider.id)))
        return out

    async def share(
        self,
        info: BackendInfo,
        provider_id: str | None = None,
        client_id: str | None = None,
        flows: tuple[str, ...] = SHARED,
    ) -> Found | None:
        """A usable login of the owner made for another back-end that lists the same issuer with the same
        client, now serving this one too; None when there is none. This back-end's account check is its own."""
        for provider in info.providers:
            if provider_id not in (None, provider.id):
                continue
            for session in self.mine():
                if (
                    session.key.flow not in flows
                    or info.api_url in session.served
                    or not can_serve(session, provider, client_id)
                ):
                    continue
                served = session.serve(info.api_url, info.url, provider.id)
                self._log.info(
                    "The openEO login of %s to %s serves %s too (same issuer and client).",
                    session.who,
                    session.backend_url,
                    info.url,
                )
                try:
                    await check_account(self._http, session, await session.access_token(), self._log, served)
                except OpenEOAuthError:
                    pass  # the token request that follows says what is wrong
                self._bus.publish(EventAction.SESSION_SHARED, session.key, info.url, user=session.user)
                return session, served
        return None

    def summaries(self) -> list[dict]:
        """What `GET sessions` lists: one entry per back-end each of the owner's logins serves, no tokens."""
        return [summary for session in self.mine() for summary in describe_all(session)]

    def stop(self) -> None:
        """Stop every session's timers (server shutdown)."""
        for session in self.by_key.values():
            session.renewals.stop()
