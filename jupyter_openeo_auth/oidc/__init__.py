"""Pure OpenID Connect and openEO discovery: no Jupyter, no tornado, no widgets."""

from .discovery import BackendInfo, ExpiringCache, IssuerCache, IssuerMetadata, OidcProviderInfo, discover_backend, issuer_cache, normalize_url
from .errors import (
    BackendUnavailable,
    BadResponse,
    DeviceCodeExpired,
    FlowNotSupported,
    InvalidBackendUrl,
    LoginDenied,
    LoginRequired,
    MalformedTokenResponse,
    NoOidcProviders,
    NoSuitableClient,
    NotAnOpenEOBackend,
    LoginEnded,
    NotLoggedIn,
    OpenEOAuthError,
    ProviderUnavailable,
    TokenRequestFailed,
    UnknownProvider,
)
from .grants import DeviceAuthorization, OidcClient, pkce_pair
from .tokens import Freshness, TokenSet
from .transport import AsyncHttpClient, HttpClient, ResponseTooLarge

__all__ = [
    "AsyncHttpClient", "BackendInfo", "ExpiringCache", "MalformedTokenResponse", "ResponseTooLarge", "BackendUnavailable", "BadResponse", "DeviceAuthorization", "DeviceCodeExpired",
    "FlowNotSupported", "Freshness", "HttpClient", "InvalidBackendUrl", "IssuerCache", "IssuerMetadata",
    "LoginDenied", "LoginEnded", "LoginRequired", "NoOidcProviders", "NoSuitableClient", "NotAnOpenEOBackend", "NotLoggedIn", "OidcClient",
    "OidcProviderInfo", "OpenEOAuthError", "ProviderUnavailable", "TokenRequestFailed", "TokenSet",
    "UnknownProvider", "discover_backend", "issuer_cache", "normalize_url", "pkce_pair",
]
