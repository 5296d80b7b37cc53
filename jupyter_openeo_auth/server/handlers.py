"""Thin REST handlers: HTTP <-> broker calls. Every route is authenticated and authorized."""

from __future__ import annotations

import json
import math
import os
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from ..broker import TokenBroker
from ..broker.logins import Login
from ..oidc import OpenEOAuthError
from ..wire import API_PREFIX, KERNEL_ID_HEADER, LOOPBACK_HOSTS, Flow, Reason
from .kernel_key import KERNEL_USER, SCHEME, KernelAuthorizer
from .openapi import openapi_document

AUTH_RESOURCE = "openeo_auth"
API = API_PREFIX

#: HTTP status per error reason; anything else is 400.
STATUS: dict[str, int] = {
    Reason.NOT_LOGGED_IN: 404,
    Reason.NOT_FOUND: 404,
    Reason.CANCELLED: 410,
    Reason.LOGIN_REQUIRED: 409,
    Reason.NOT_ALLOWED: 403,
    Reason.TOO_MANY_LOGINS: 429,
    Reason.ACCOUNT_REFUSED: 403,
    Reason.BACKEND_UNAVAILABLE: 502,
    Reason.BAD_RESPONSE: 502,
    Reason.PROVIDER_UNAVAILABLE: 503,
}


#: The reason of an error that tornado or jupyter_server raised (not one of ours).
HTTP_REASONS = {
    401: Reason.NOT_AUTHENTICATED,
    403: Reason.FORBIDDEN,
    404: Reason.NOT_FOUND,
    405: Reason.METHOD_NOT_ALLOWED,
}
DEFAULT_MESSAGES = {
    401: "Authenticate with the Jupyter server's token (or log in to JupyterLab) first.",
    403: "This request is not allowed here.",
    404: "There is no such route in the openEO login API; see openeo-auth/api/openapi.json.",
    405: "This route does not answer this method; see openeo-auth/api/openapi.json.",
}


class OpenEOAuthHandler(APIHandler):
    """Base: JSON errors `{"reason", "message"}`, the broker, and never a cached answer."""

    auth_resource = AUTH_RESOURCE
    via_kernel_key = False

    @property
    def broker(self) -> TokenBroker:
        return self.settings["openeo_auth_broker"]

    async def prepare(self) -> None:  # type: ignore[override] # APIHandler's own signature
        """A kernel authenticates with its key (header `Authorization: openeo-kernel KEY`); everyone else
        through the Jupyter server's own identity provider."""
        header = self.request.headers.get("Authorization", "")
        if header.startswith(SCHEME + " "):
            if not self.settings["openeo_auth_kernel_key"].matches(header):
                raise tornado.web.HTTPError(403, "Invalid kernel key.")
            self.current_user = self._jupyter_current_user = KERNEL_USER
            self.via_kernel_key = True
            return
        if self._no_credentials():
            raise tornado.web.HTTPError(401)
        await super().prepare()
        self._only_from_this_site()
        self._only_the_owner()

    @property
    def caller(self) -> str:
        """Who asks, as far as a login's waiters go: one of the server's kernels by its id, else "elsewhere"."""
        kernel_id = self.request.headers.get(KERNEL_ID_HEADER, "") if self.via_kernel_key else ""
        return f"kernel:{kernel_id[:64]}" if kernel_id else "elsewhere"

    def _no_credentials(self) -> bool:
        """A request that names no credential at all (no Authorization header, no cookie, no token in the URL)
        on a server that asks for one: 401, as HTTP says, before jupyter_server's checks answer 403. A CORS
        preflight carries none by design."""
        if self.request.method == "OPTIONS" or not self.identity_provider.auth_enabled:
            return False
        request = self.request
        return not (request.headers.get("Authorization") or request.cookies or self.get_query_argument("token", ""))

    def _only_from_this_site(self) -> None:
        """Refuse what another web site made the browser send with the user's login cookie: a link, a form, an
        image or a script on any page reaches this server with the cookie (jupyter_server checks XSRF on POST
        and DELETE only, and its cookie has no SameSite). A request authenticated by a token (the CLI, scripts,
        JupyterHub's API tokens) proves itself; a kernel's key is checked before. The browser says where a
        request comes from in `Sec-Fetch-Site`, else `Origin` and `Referer`; jupyter_server's own `allow_origin`
        settings may let named sites in."""
        if self.current_user is None or self.token_authenticated:
            return
        headers = self.request.headers
        site = headers.get("Sec-Fetch-Site")
        if site is not None:  # every current browser: it knows, whatever proxies did to Host
            foreign = site not in ("same-origin", "none")  # none: typed into the address bar, a bookmark
            if foreign and (self.allow_origin or self.allow_origin_pat):  # sites the server's settings let in
                foreign = not (self.check_origin() if "Origin" in headers else self.check_referer())
        else:
            foreign = not self.check_origin() or ("Referer" in headers and not self.check_referer())
        if foreign:
            self.fail(
                403,
                Reason.CROSS_SITE,
                "This request came from another web site, with your Jupyter login cookie; openEO logins answer "
                "only JupyterLab and Notebook pages of this server, and programs with the server's token.",
            )

    def _only_the_owner(self) -> None:
        """On a JupyterHub, only the server's owner may use these routes, not an admin or a user the server is
        shared with (JupyterHub 5 sharing); SECURITY.md says what a share still gives away. Kernel keys stay
        allowed (the kernels are the owner's); unauthenticated requests are left to @authenticated."""
        owner = os.environ.get("JUPYTERHUB_USER")
        user = self.current_user
        if not owner or user is None:
            return
        hub_user = getattr(user, "hub_user", None) or {}
        if user.username == owner and hub_user.get("kind", "user") == "user":
            return
        self.fail(
            403,
            Reason.NOT_OWNER,
            f"The openEO logins of this server are {owner}'s: only {owner}, whose server this is, can use them "
            "here. Log in to openEO on your own server.",
        )

    @property
    def authorizer(self):
        if self.via_kernel_key:
            return KernelAuthorizer(AUTH_RESOURCE)
        return super().authorizer

    def set_default_headers(self):
        super().set_default_headers()
        self.set_header("Cache-Control", "no-store")

    def body(self) -> dict:
        """The JSON object body, or a 400 (not JSON, nested too deeply, not an object)."""
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError:
            self.fail(400, Reason.BAD_REQUEST, "The request body is not JSON.")
        except RecursionError:
            self.fail(400, Reason.BAD_REQUEST, "The request body is nested too deeply; send a flat JSON object.")
        if not isinstance(data, dict):
            self.fail(400, Reason.BAD_REQUEST, "The request body must be a JSON object.")
        return data

    def required(self, value: Any, name: str) -> str:
        """The value of a required string parameter, or a 400 that names it."""
        if not isinstance(value, str) or not value:
            self.fail(400, Reason.MISSING_PARAMETER, f"Give the {name!r} parameter.")
        return self.text(value, name)

    def optional(self, data: dict, name: str) -> str | None:
        """An optional string field of the body (an empty one counts as not given), or a 400 that names it."""
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            self.fail(400, Reason.BAD_PARAMETER, f"{name} must be a string.")
        return self.text(value, name) if value else None

    def text(self, value: str, name: str) -> str:
        """A string that can travel on: JSON allows lone UTF-16 surrogates (\\ud800), which no URL, log line or
        keyring entry can hold. A 400 that names the parameter otherwise."""
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            self.fail(400, Reason.BAD_PARAMETER, f"{name} holds characters that are not valid Unicode text.")
        return value

    def fail(self, status: int, reason: Reason, message: str) -> NoReturn:
        """Answer an error and stop the handler."""
        self.set_status(status)
        self.finish({"reason": reason, "message": message})
        raise tornado.web.Finish()

    def log_exception(self, typ, value, tb):
        if isinstance(value, OpenEOAuthError):
            return  # an expected error, answered with its sentence; no traceback in the log
        super().log_exception(typ, value, tb)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Every error is the documented JSON `{"reason", "message"}`, whatever raised it."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, OpenEOAuthError):  # send_error already set its status
            wait = getattr(exc, "retry_after", None)
            if status_code == 503 and isinstance(wait, (int, float)) and wait > 0:
                self.set_header("Retry-After", str(max(1, round(wait))))
            self.finish({"reason": exc.reason, "message": exc.message})
            return
        if status_code == 405:
            allowed = [m for m in ("GET", "POST", "DELETE") if type(self).__dict__.get(m.lower())]
            self.set_header("Allow", ", ".join(allowed))
        message = getattr(exc, "log_message", None) if isinstance(exc, tornado.web.HTTPError) else None
        reason = HTTP_REASONS.get(status_code, Reason.SERVER_ERROR if status_code >= 500 else Reason.BAD_REQUEST)
        self.set_header("Content-Type", "application/json")
        self.finish({"reason": reason, "message": message or DEFAULT_MESSAGES.get(status_code, self._reason)})

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, OpenEOAuthError):
            status_code = STATUS.get(exc.reason, 400)

        super().send_error(status_code, **kwargs)


class ProvidersHandler(OpenEOAuthHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self):
        info = await self.broker.backend(self.required(self.get_query_argument("backend", ""), "backend"))
        flows = await self.broker.flows(info)
        providers = [{"id": p.id, "title": p.title, "issuer": p.issuer, "flows": flows[p.id]} for p in info.providers]
        self.finish(
            {"backend": info.url, "api_url": info.api_url, "api_version": info.api_version, "providers": providers}
        )


def qr_svg(uri: str) -> str | None:
    """An inline SVG QR code of a URI, to log in from a phone: one implementation for the widget and the
    JupyterLab dialog. It encodes the URI; no text of the provider is in the SVG. None when the URI is too long
    for a QR code: the link and the code still serve."""
    import segno

    try:
        return segno.make(uri, error="m").svg_inline(scale=3, title="Scan to log in")
    except (segno.DataOverflowError, ValueError):
        return None


def through_this_server(uri: str, base_url: str) -> str:
    """A provider page on this machine's loopback interface whose path lies under this server's
    `{base_url}proxy/`, as the path alone: the browser reaches it through jupyter-server-proxy at this server's
    own address (on Binder only that address reaches the browser). Any other URI unchanged."""
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or parts.hostname not in LOOPBACK_HOSTS:
        return uri
    prefix = base_url.rstrip("/") + "/proxy/"
    if not parts.path.startswith(prefix):
        return uri
    return urlunsplit(("", "", parts.path, parts.query, ""))


def login_json(login: Login, base_url: str = "/") -> dict:
    """A login's REST representation, with the QR code of its link while it is pending. A link through this
    server's proxy is a path on this server (see `through_this_server`), without a QR code: a phone cannot
    follow it."""
    out = login.to_json()
    for key in ("verification_uri", "verification_uri_complete"):
        if out.get(key):
            link = through_this_server(out[key], base_url)
            if link != out[key]:
                out[key], out["through_server"] = link, True  # clients accept a path only with this flag
    link = out.get("verification_uri_complete") or out.get("verification_uri") or ""
    svg = qr_svg(link) if out["state"] == "pending" and link.lower().startswith(("https://", "http://")) else None
    if svg is not None:
        out["qr_svg"] = svg
    return out


class SettingsHandler(OpenEOAuthHandler):
    """What the login dialog needs to know about this server's configuration (never a secret)."""

    @tornado.web.authenticated
    @authorized
    async def get(self):
        self.finish(self.broker.public_settings())


class LoginsHandler(OpenEOAuthHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self):
        logins = self.broker.pending_logins()
        self.finish({"logins": [login_json(login, self.base_url) for login in logins]})

    @tornado.web.authenticated
    @authorized
    async def post(self):
        data = self.body()
        login = await self.broker.start_login(
            self.required(data.get("backend"), "backend"),
            provider_id=self.optional(data, "provider_id"),
            client_id=self.optional(data, "client_id"),
            flow=self.optional(data, "flow") or Flow.DEVICE,
            username=self.optional(data, "username"),
            password=self.optional(data, "password"),
            client_secret=self.optional(data, "client_secret"),
        )
        if login.pending:
            login.followed_by(self.caller)
        self.set_status(202 if login.pending else 200)
        self.finish(login_json(login, self.base_url))


class LoginHandler(OpenEOAuthHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, login_id: str) -> None:
        login = self.broker.login(login_id)
        login.followed_by(self.caller)
        self.finish(login_json(login, self.base_url))

    @tornado.web.authenticated
    @authorized
    async def delete(self, login_id: str) -> None:
        """Cancel the login; with `?unless_waited_for=true` (a kernel that stops waiting: interrupted,
        restarted) only when nobody else asked about it lately."""
        leaving = self.get_query_argument("unless_waited_for", "false")
        if leaving not in ("true", "false"):
            self.fail(400, Reason.BAD_PARAMETER, "unless_waited_for must be true or false.")
        login = self.broker.cancel_login(login_id, leaving=self.caller if leaving == "true" else None)
        self.finish(login_json(login, self.base_url))


class SessionsHandler(OpenEOAuthHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self):
        backend: str | None = self.get_query_argument("backend", None) or None
        backend = self.text(backend, "backend") if backend else None
        self.finish({"sessions": await self.broker.session_list(backend)})

    @tornado.web.authenticated
    @authorized
    async def delete(self):
        backend = self.required(self.get_query_argument("backend", ""), "backend")
        provider_id: str | None = self.get_query_argument("provider_id", None) or None
        provider_id = self.text(provider_id, "provider_id") if provider_id else None
        self.finish(await self.broker.logout(backend, provider_id))


class TokenHandler(OpenEOAuthHandler):
    """POST only: a GET could be triggered cross-site, and tokens must not sit in URLs or caches."""

    @tornado.web.authenticated
    @authorized
    async def post(self):
        data = self.body()
        min_valid = data.get("min_valid")
        if min_valid is not None and (
            isinstance(min_valid, bool) or not isinstance(min_valid, (int, float)) or not math.isfinite(min_valid)
        ):
            self.fail(400, Reason.BAD_PARAMETER, "min_valid must be a number of seconds.")
        flow = self.optional(data, "flow")
        if flow is not None and flow not in set(Flow):
            self.fail(400, Reason.BAD_PARAMETER, f"flow must be one of: {', '.join(Flow)}.")
        grant = await self.broker.token(
            self.required(data.get("backend"), "backend"), self.optional(data, "provider_id"), min_valid, flow
        )
        pid, tokens = grant.served.provider_id, grant.tokens  # this back-end's id for the login's provider
        self.finish(
            {
                "access_token": tokens.access_token,
                "expires_at": tokens.expires_at,
                "provider_id": pid,
                "bearer": f"oidc/{pid}/{tokens.access_token}",
                "user": grant.session.user,
            }
        )


class OpenAPIHandler(OpenEOAuthHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self):
        self.finish(openapi_document(self.base_url, self.broker.default_backend or None))


class NotFoundHandler(OpenEOAuthHandler):
    """Any other path under the API: the documented JSON 404, not an HTML page."""

    @tornado.web.authenticated
    @authorized
    async def get(self, path: str) -> None:
        raise tornado.web.HTTPError(404)

    post = delete = get


def handlers(prefix: str = "") -> list:
    """(pattern, handler) pairs, relative to the server's base_url (the ExtensionApp adds it)."""
    routes = [
        ("providers", ProvidersHandler),
        ("settings", SettingsHandler),
        ("logins", LoginsHandler),
        (r"logins/([^/]+)", LoginHandler),
        ("sessions", SessionsHandler),
        ("token", TokenHandler),
        ("openapi.json", OpenAPIHandler),
        (r"(.*)", NotFoundHandler),  # last
    ]
    return [(url_path_join(prefix, API, path), handler) for path, handler in routes]
