"""Revoking a login's refresh token at its provider (RFC 7009), at logout and when a new login replaces one."""

from __future__ import annotations

import logging

from ..oidc import OpenEOAuthError
from .sessions import Session


async def revoke(session: Session, log: logging.Logger) -> str | None:
    """Revoke the refresh token at the provider: None when done or nothing lives on, else a sentence saying the
    login stays valid there."""
    token = session.tokens.refresh_token
    if not token:
        return None  # a service account or password login without refresh token: nothing lives on
    issuer = session.client.metadata.issuer
    if not session.client.metadata.revocation_endpoint:
        return f"Logged out here; {issuer} offers no revocation, so the login stays valid there until it expires."
    try:
        if await session.client.revoke(token):
            return None
        problem = f"{issuer} refused to revoke the login"
    except OpenEOAuthError as e:
        problem = f"{issuer} could not be asked to revoke the login ({e.message})"
    log.warning("Could not revoke the openEO login to %s at its provider: %s", session.backend_url, problem)
    return f"Logged out here; {problem}, so it may stay valid there until it expires."
