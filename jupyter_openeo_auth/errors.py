"""The errors every layer raises and answers with (the OpenID Connect core, the broker, the REST API, the
kernel side): each carries a sentence the user can act on and a `Reason` from the wire."""

from .wire import Reason


class OpenEOAuthError(Exception):
    """Base class: `reason` is a stable machine-readable code (a `Reason` when it goes over the wire),
    `str(error)` a user-facing sentence."""

    reason: str = Reason.ERROR
    #: True when trying again later may succeed (network trouble, a provider under maintenance).
    transient = False

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def _render_traceback_(self):
        """IPython shows an error meant for the user as its sentence, without the frames that led to it."""
        return [f"{type(self).__name__}: {self.message}"]


class InvalidBackendUrl(OpenEOAuthError):
    reason = Reason.INVALID_BACKEND_URL


class ServiceUnavailable(OpenEOAuthError):
    """A service could not be reached, timed out or answered with passing trouble (5xx, 408, 429). `service`
    names it in the sentence the transport writes."""

    transient = True
    service = "service"
    #: Seconds the service asked us to wait (`Retry-After` on a 429 or 503), when it said.
    retry_after: float | None = None


class BackendUnavailable(ServiceUnavailable):
    reason = Reason.BACKEND_UNAVAILABLE
    service = "openEO back-end"


class NotAnOpenEOBackend(OpenEOAuthError):
    reason = Reason.NOT_OPENEO


class NoOidcProviders(OpenEOAuthError):
    reason = Reason.NO_OIDC


class UnknownProvider(OpenEOAuthError):
    reason = Reason.UNKNOWN_PROVIDER


class NoSuitableClient(OpenEOAuthError):
    reason = Reason.NO_CLIENT


class ProviderUnavailable(ServiceUnavailable):
    """The OpenID provider could not be reached, timed out or answered with a server error."""

    reason = Reason.PROVIDER_UNAVAILABLE
    service = "OpenID provider"


class HubUnavailable(ProviderUnavailable):
    """JupyterHub, which hands out the hub login's tokens, could not be asked or answered with a server error."""

    service = "JupyterHub"


class BadResponse(OpenEOAuthError):
    """A service answered with something that is not the JSON it should send (an HTML error page, say)."""

    reason = Reason.BAD_RESPONSE

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status
        self.transient = status >= 500 or status in (408, 429)


class MalformedTokenResponse(BadResponse):
    """A token answer with an unusable field (a lifetime that is not a number, say). Transient: the
    provider may answer properly next time."""

    def __init__(self, message: str):
        super().__init__(message, status=502)


class IssuerMismatch(BadResponse):
    """An issuer's metadata names another issuer than the one it was fetched for (OpenID Connect Discovery 1.0
    section 4.3, RFC 8414 section 3.3): whoever serves it may not speak for that issuer. Not transient."""

    def __init__(self, message: str):
        super().__init__(message, status=200)


class InsecureProvider(OpenEOAuthError):
    """An issuer or one of its endpoints on another machine over plain http: refresh tokens, passwords and
    secrets would cross the network in clear text."""

    reason = Reason.BAD_RESPONSE


class FlowNotSupported(OpenEOAuthError):
    reason = Reason.FLOW_NOT_SUPPORTED


class LoginDenied(OpenEOAuthError):
    reason = Reason.DENIED


class DeviceCodeExpired(OpenEOAuthError):
    reason = Reason.EXPIRED


class LoginRequired(OpenEOAuthError):
    """The refresh token no longer works (revoked, expired, or the user logged out elsewhere)."""

    reason = Reason.LOGIN_REQUIRED


class TokenRequestFailed(OpenEOAuthError):
    """The provider refused a token request for a reason other than the ones above."""

    reason = Reason.FAILED

    def __init__(self, message: str, error: str = ""):
        super().__init__(message)
        self.error = error


class NotLoggedIn(OpenEOAuthError):
    """There is no login for that back-end (yet, or any more); the message says how to log in."""

    reason = Reason.NOT_LOGGED_IN


class LoginEnded(OpenEOAuthError):
    """A login that code was waiting for ended without success (denied, expired, cancelled, failed, or nobody
    approved in time); `reason` is how it ended, the message the login's own sentence."""

    def __init__(self, message: str, reason: str = Reason.FAILED):
        super().__init__(message)
        self.reason = reason
