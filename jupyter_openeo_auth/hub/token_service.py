"""The hub's token service, `openeo-tokens` (`python -m jupyter_openeo_auth.hub`): `GET {prefix}token`,
authenticated with a hub API token (a user's server's own), answers the access token of that token's user from
the hub's auth_state, never the refresh token; 404 when the hub holds none. Callers need
`access:services!service=NAME`."""

from __future__ import annotations

import ipaddress
import json
import os
from urllib.parse import quote, urlsplit

from jupyterhub.services.auth import HubAuth, HubAuthenticated
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError
from tornado.ioloop import IOLoop

#: What the token service hands out of a user's auth_state: the access token, when it expires, who logged in.
#: Never the refresh token nor the provider's whole token response (which holds it too).
HANDED_OUT = ("access_token", "expires_at", "expires_in", "id_token", "scope", "token_type")


class TokenHandler(HubAuthenticated, web.RequestHandler):
    """`GET token`: the calling user's access token."""

    def initialize(self, auth: HubAuth) -> None:
        self.hub_auth = auth

    def check_xsrf_cookie(self) -> None:  # API tokens only; no cookies are read
        pass

    @web.authenticated
    async def get(self) -> None:
        caller = self.current_user
        if caller.get("kind", "user") != "user":
            raise web.HTTPError(403, "openEO tokens are handed to users' servers only")
        auth = self.hub_auth
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


def token_service_app() -> web.Application:
    """The tornado application of the token service, configured from the environment the hub gives a managed
    service."""
    # Who calls is cached for a second only (0 would mean for ever): asking the hub is also what makes it renew
    # that user's login when due (its refresh_user hook). The auth_state itself is read anew every time.
    auth = HubAuth(cache_max_age=1)
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/")
    return web.Application([(f"{prefix}token", TokenHandler, {"auth": auth})])


def main() -> None:
    """Run the token service where the hub says (`JUPYTERHUB_SERVICE_URL`): on that address when it is an IP
    address or localhost, else (a name such as Kubernetes' `hub` service, which is no local interface) on all
    interfaces, at that port. Every request needs a hub API token."""
    where = urlsplit(os.environ["JUPYTERHUB_SERVICE_URL"])
    host = where.hostname or "127.0.0.1"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        host = host if host == "localhost" else ""
    token_service_app().listen(where.port or 80, address=host)
    IOLoop.current().start()
