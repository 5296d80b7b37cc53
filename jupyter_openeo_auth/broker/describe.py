"""The public description of a session (`GET sessions`, the `session` events): who, where, until when, and
never a token. One describer for every answer that names a login."""

from __future__ import annotations

from .sessions import Served, Session


def describe(session: Session, served: Served) -> dict:
    """The description for one back-end (one the login serves, or one it could serve)."""
    serves = list(dict.fromkeys([*(s.backend_url for s in session.served.values()), served.backend_url]))
    return {
        "backend": served.backend_url,
        "provider_id": served.provider_id,
        "flow": session.key.flow,
        "user": session.user,
        "access_expires_at": session.tokens.expires_at,
        "refreshable": session.renewable,
        "login_required": session.login_required is not None,
        "account_problem": served.account_problem,
        "login": session.key.login_id,
        "issuer": session.client.metadata.issuer,
        "client_id": session.client.client_id,
        "serves": serves,
        "login_expires_at": session.login_end.expires_at,
        "login_ending": session.login_end.ending() and not session.login_required,
    }


def describe_all(session: Session) -> list[dict]:
    """One description per back-end the login serves."""
    return [describe(session, served) for served in session.served.values()]
