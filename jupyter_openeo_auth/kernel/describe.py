"""How the Python side says who is logged in and how a login stands: one set of words for the widget, the
magic, the openeo client's take-over and the CLI (JupyterLab's status bar says the same in status.ts)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..flows import FLOWS

if TYPE_CHECKING:
    from .models import Session

UNNAMED = "an unnamed user"


def name_of(user: Mapping[str, Any] | None) -> str:
    """The user's name, else their subject, else "an unnamed user"."""
    user = user or {}
    return str(user.get("name") or user.get("sub") or UNNAMED)


def who(user: Mapping[str, Any] | None) -> str:
    """The name, with the e-mail address when known: "Alice (alice@example.org)"."""
    user = user or {}
    return f"{name_of(user)} ({user['email']})" if user.get("email") else name_of(user)


def renewal(flow: str) -> str:
    """How a login of this flow is renewed, in words ("renewed automatically", "through JupyterHub")."""
    rules = FLOWS.get(flow)
    return rules.renewal if rules is not None else "renewed automatically"


def session_line(session: Session) -> str:
    """One line for a session as `GET sessions` lists it: back-end, provider, who, how, until when, what to do."""
    expiry = session.get("access_expires_at")
    valid = f"token valid until {datetime.fromtimestamp(expiry):%H:%M}" if expiry else "token without expiry"
    if session.get("login_required"):
        state = " — log in again"
    else:
        state = f" — {session['account_problem']}" if session.get("account_problem") else ""
    others = [b for b in session.get("serves") or () if b != session["backend"]]
    shared = f" — one login with {', '.join(others)}" if others else ""
    ends = session.get("login_expires_at")
    end = (
        f" — log in again by {datetime.fromtimestamp(ends):%H:%M}" if ends and not session.get("login_required") else ""
    )
    return (
        f"{session['backend']} ({session['provider_id']}): {who(session.get('user'))}, {session['flow']} login, "
        f"{valid} ({renewal(session['flow'])}){shared}{end}{state}"
    )
