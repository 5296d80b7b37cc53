"""JupyterHub authenticator hooks: OAuthenticator refreshes the access token only once the provider refuses it;
users' servers need one that stays valid, so these hooks record when the access token expires and renew it
`REFRESH_MARGIN` seconds ahead. The refresh token stays in the hub's auth_state."""

from __future__ import annotations

import inspect
import time
from typing import Any

#: Renew the access token when fewer seconds than this remain (at most half its lifetime).
REFRESH_MARGIN = 300.0


def stamp_expiry(auth_state: dict, received_at: float | None = None) -> dict:
    """Record in auth_state when the access token expires (`expires_at`, epoch seconds) and how long it lived
    (`expires_in`), from the token response; OAuthenticator keeps only the relative `expires_in`."""
    response = auth_state.get("token_response") or {}
    try:
        lifetime = float(response["expires_in"])
    except (KeyError, TypeError, ValueError):
        return auth_state
    auth_state["expires_at"] = (time.time() if received_at is None else received_at) + lifetime
    auth_state["expires_in"] = lifetime
    return auth_state


def post_auth_hook(authenticator: Any, handler: Any, authentication: dict) -> dict:
    """`Authenticator.post_auth_hook`: stamp the new login's access-token expiry into its auth_state."""
    if authentication.get("auth_state"):
        stamp_expiry(authentication["auth_state"])
    return authentication


async def refresh_user_hook(authenticator: Any, user: Any, auth_state: dict | None) -> bool | dict | None:
    """`OAuthenticator.refresh_user_hook`: renew the access token with the refresh token when it expires
    within the margin (a new login is needed when the provider refuses); True while it is fresh enough;
    None (OAuthenticator's own behaviour) when auth_state does not say when it expires."""
    if not auth_state or not auth_state.get("expires_at"):
        return None
    left = float(auth_state["expires_at"]) - time.time()
    margin = min(REFRESH_MARGIN, float(auth_state.get("expires_in") or REFRESH_MARGIN * 2) / 2)
    if left > margin:
        return True
    refresh_token = auth_state.get("refresh_token")
    if not refresh_token:
        return False if left <= 0 else True
    received_at = time.time()
    try:
        token_info = await authenticator.get_token_info(
            None, authenticator.build_refresh_token_request_params(refresh_token)
        )
    except Exception as e:  # noqa: BLE001 - whatever the provider said: the user logs in again
        authenticator.log.info(
            "Renewing the openEO login of %s failed (%s); a new login is needed.", user.name, type(e).__name__
        )
        return False
    if not token_info.get("refresh_token"):  # providers that do not rotate send none: keep the one we have
        token_info["refresh_token"] = refresh_token
    state = authenticator.build_auth_state_dict(token_info, auth_state.get(authenticator.user_auth_state_key) or {})
    if inspect.isawaitable(state):
        state = await state
    return {"name": user.name, "auth_state": stamp_expiry(state, received_at)}
