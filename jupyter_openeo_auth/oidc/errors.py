"""Error types of the OpenID Connect core: each carries a sentence the user can act on."""


class OpenEOAuthError(Exception):
    """Base class: `reason` is a stable machine-readable code, `str(error)` a user-facing sentence."""

    reason = "error"
    #: True when trying again later may succeed (network trouble, a provider under maintenance).
    transient = False

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def _render_traceback_(self):
        """IPython shows an error meant for the user as its sentence, without the frames that led to it."""
        return [f"{type(self).__name__}: {self.message}"]


class InvalidBackendUrl(OpenEOAuthError):
    reason = "invalid_backend_url"


class BackendUnavailable(OpenEOAuthError):
    reason = "backend_unavailable"
    transient = True


class NotAnOpenEOBackend(OpenEOAuthError):
    reason = "not_openeo"


class NoOidcProviders(OpenEOAuthError):
    reason = "no_oidc"


class UnknownProvider(OpenEOAuthError):
    reason = "unknown_provider"


class NoSuitableClient(OpenEOAuthError):
    reason = "no_client"


class ProviderUnavailable(OpenEOAuthError):
    """The OpenID provider could not be reached, timed out or answered with a server error."""

    reason = "provider_unavailable"
    transient = True
    #: Seconds the provider asked us to wait (`Retry-After` on a 429 or 503), when it said.
    retry_after: float | None = None


class BadResponse(OpenEOAuthError):
    """A service answered with something that is not the JSON it should send (an HTML error page, say)."""

    reason = "bad_response"

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status
        self.transient = status >= 500 or status in (408, 429)


class MalformedTokenResponse(BadResponse):
    """A token answer with an unusable field (a lifetime that is not a number, say). Transient: the
    provider may answer properly next time."""

    def __init__(self, message: str):
        super().__init__(message, status=502)


class FlowNotSupported(OpenEOAuthError):
    reason = "flow_not_supported"


class LoginDenied(OpenEOAuthError):
    reason = "denied"


class DeviceCodeExpired(OpenEOAuthError):
    reason = "expired"


class LoginRequired(OpenEOAuthError):
    """The refresh token no longer works (revoked, expired, or the user logged out elsewhere)."""

    reason = "login_required"


class TokenRequestFailed(OpenEOAuthError):
    """The provider refused a token request for a reason other than the ones above."""

    reason = "failed"

    def __init__(self, message: str, error: str = ""):
        super().__init__(message)
        self.error = error


class NotLoggedIn(OpenEOAuthError):
    """There is no login for that back-end (yet, or any more); the message says how to log in."""

    reason = "not_logged_in"


class LoginEnded(OpenEOAuthError):
    """A login that code was waiting for ended without success (denied, expired, cancelled, failed, or nobody
    approved in time); `reason` is how it ended, the message the login's own sentence."""

    def __init__(self, message: str, reason: str = "failed"):
        super().__init__(message)
        self.reason = reason
