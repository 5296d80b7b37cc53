"""Is the account accepted? A login at the provider is not yet an account at the back-end: openEO Platform
wants membership of its virtual organization, Terrascope a linked account. The back-end's `GET /me` tells."""

from __future__ import annotations

import logging
import time

from ..flows import flow_of
from ..oidc import AsyncHttpClient, OpenEOAuthError, TokenSet
from ..oidc.transport import get
from ..wire import Reason
from .sessions import Served, Session

#: Re-ask the back-end about a refused account at most this often (seconds).
ACCOUNT_RECHECK = 60.0


class AccountRefused(OpenEOAuthError):
    """Logging in worked, but the back-end does not accept the account."""

    reason = Reason.ACCOUNT_REFUSED


async def check_account(
    http: AsyncHttpClient, session: Session, tokens: TokenSet, log: logging.Logger, served: Served | None = None
) -> None:
    """Ask a back-end the login serves (default: its own) `GET /me` with the session's token. A refusal (401,
    403) marks that back-end with its sentence and what to do; acceptance clears the mark; trouble reaching the
    back-end marks nothing."""
    if not flow_of(session.key.flow).has_a_person:  # a service account is no account at the back-end
        return
    served = served or session.own
    served.account_checked_at = time.monotonic()
    bearer = f"Bearer oidc/{served.provider_id}/{tokens.access_token}"
    try:
        status, body = await http.send(get(served.api_url + "/me", {"Authorization": bearer}))
    except OpenEOAuthError as e:
        status, body = getattr(e, "status", 0), {}
    if status not in (401, 403):
        served.account_problem = None
        return
    said = str(body.get("message") or f"HTTP {status}")[:300]
    served.account_problem = (
        f"You are logged in at the provider, but {served.backend_url} does not accept this account yet "
        f"({said}). Join the back-end's virtual organization or link your account as its documentation "
        "describes (openEO Platform: enrol in the vo.openeo.cloud virtual organization at EGI Check-in), "
        "then try again."
    )
    log.info("openEO back-end %s refused the account of %s: %s", served.backend_url, session.who, said)
