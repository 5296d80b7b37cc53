"""Hub-side helpers for a JupyterHub whose own login is the openEO back-end's OpenID provider (OAuthenticator's
GenericOAuthenticator with `enable_auth_state`). Importable on a hub that has no Jupyter server extension:
nothing here imports jupyter_server, the broker or the kernel side.

    c.GenericOAuthenticator.post_auth_hook = "jupyter_openeo_auth.hub.post_auth_hook"   # or the function
    c.GenericOAuthenticator.refresh_user_hook = jupyter_openeo_auth.hub.refresh_user_hook
    c.GenericOAuthenticator.auth_refresh_age = 60

OAuthenticator refreshes the access token only once the provider refuses it; users' servers need one that
stays valid, so these hooks record when the access token expires and renew it `REFRESH_MARGIN` seconds
ahead. The refresh token stays in the hub's auth_state.

`python -m jupyter_openeo_auth.hub` is a small hub service that hands each user's server that user's access
token, never the refresh token, so that no user's server (nor the kernels, which can use the server's API
token) needs the `admin:auth_state!user` scope that would show them the whole auth_state:

    c.JupyterHub.services = [{"name": "openeo-tokens", "url": "http://127.0.0.1:10101",
                              "command": [sys.executable, "-m", "jupyter_openeo_auth.hub"]}]
    c.Spawner.environment = {"JUPYTER_OPENEO_AUTH_HUB_SERVICE": "http://127.0.0.1:10101/services/openeo-tokens/"}

(and the roles in the README's JupyterHub section).
"""

from __future__ import annotations

import inspect
import json
import os
import time
from urllib.parse import quote, urlsplit

from .wire import STORE_KEY_ENV

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


def post_auth_hook(authenticator, handler, authentication: dict) -> dict:
    """`Authenticator.post_auth_hook`: stamp the new login's access-token expiry into its auth_state."""
    if authentication.get("auth_state"):
        stamp_expiry(authentication["auth_state"])
    return authentication


async def refresh_user_hook(authenticator, user, auth_state: dict | None):
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


#: The hub's secret from which each user's key for sealed logins is derived (64 hex digits).
HUB_SECRET_ENV = "JUPYTER_OPENEO_AUTH_HUB_SECRET"
#: Where the user's server finds that key; the server takes it out of its environment at start (kernels and
#: terminals do not inherit it) and seals logins with it (jupyter_openeo_auth.broker.sealed).


def store_key(secret_hex: str, username: str) -> str:
    """The Fernet key of `username`'s sealed logins: HMAC-SHA256 of the name under the hub's secret. The same
    at every spawn of that user's server; another user's differs; nothing of it is stored on any volume."""
    import base64
    import hashlib
    import hmac

    try:
        secret = bytes.fromhex(secret_hex)
    except ValueError:
        secret = b""
    if len(secret) < 32:
        raise ValueError(f"{HUB_SECRET_ENV} must be at least 64 hex digits: openssl rand -hex 32")
    return base64.urlsafe_b64encode(hmac.new(secret, username.encode(), hashlib.sha256).digest()).decode()


def store_key_hook(spawner) -> None:
    """`Spawner.pre_spawn_hook`: give the user's server the key that seals its openEO logins on the user's
    volume, so that device and password logins survive a cull or restart while a copy of the volume reveals
    nothing. The hub needs `JUPYTER_OPENEO_AUTH_HUB_SECRET` (openssl rand -hex 32) in its environment."""
    secret = os.environ.get(HUB_SECRET_ENV, "")
    spawner.environment = {**spawner.environment, STORE_KEY_ENV: store_key(secret, spawner.user.name)}


#: What the token service hands out of a user's auth_state: the access token, when it expires, who logged in.
#: Never the refresh token nor the provider's whole token response (which holds it too).
HANDED_OUT = ("access_token", "expires_at", "expires_in", "id_token", "scope", "token_type")


def token_service_app():
    """The tornado application of the token service, configured from the environment the hub gives a managed
    service. `GET {prefix}token`, authenticated with a hub API token (a user's server's own): the access token
    of that token's user, 404 when the hub holds none. Callers need `access:services!service=NAME`."""
    from jupyterhub.services.auth import HubAuth, HubAuthenticated
    from tornado import web
    from tornado.httpclient import AsyncHTTPClient, HTTPClientError

    # Who calls is cached for a second only (0 would mean for ever): asking the hub is also what makes it renew
    # that user's login when due (its refresh_user hook). The auth_state itself is read anew every time.
    auth = HubAuth(cache_max_age=1)
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/")

    class TokenHandler(HubAuthenticated, web.RequestHandler):
        hub_auth = auth

        def check_xsrf_cookie(self):  # API tokens only; no cookies are read
            pass

        @web.authenticated
        async def get(self):
            caller = self.current_user
            if caller.get("kind", "user") != "user":
                raise web.HTTPError(403, "openEO tokens are handed to users' servers only")
            url = f"{auth.api_url.rstrip('/')}/users/{quote(caller['name'], safe='')}"
            try:
                resp = await AsyncHTTPClient().fetch(
                    url, headers={"Authorization": f"token {auth.api_token}"}, request_timeout=30
                )
            except HTTPClientError as e:
                raise web.HTTPError(502, f"the hub answered HTTP {e.code}") from None
            state = json.loads(resp.body).get("auth_state") or {}
            self.set_header("Cache-Control", "no-store")
            if not isinstance(state.get("access_token"), str):
                self.set_status(404)
                self.finish({"message": "JupyterHub holds no OpenID login for this user."})
                return
            self.finish({k: state[k] for k in HANDED_OUT if k in state})

    return web.Application([(f"{prefix}token", TokenHandler)])


def main() -> None:
    """Run the token service where the hub says (`JUPYTERHUB_SERVICE_URL`): on that address when it is an IP
    address or localhost, else (a name such as Kubernetes' `hub` service, which is no local interface) on all
    interfaces, at that port. Every request needs a hub API token."""
    import ipaddress

    from tornado.ioloop import IOLoop

    where = urlsplit(os.environ["JUPYTERHUB_SERVICE_URL"])
    host = where.hostname or "127.0.0.1"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        host = host if host == "localhost" else ""
    token_service_app().listen(where.port or 80, address=host)
    IOLoop.current().start()


if __name__ == "__main__":
    main()
