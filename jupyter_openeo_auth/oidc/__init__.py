"""Pure OpenID Connect and openEO discovery: no Jupyter, no tornado, no widgets.

Names are imported from their modules when first used (PEP 562): the kernel side imports the error types and
URL spelling at start, and must not pay for httpx and the grants then."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import names_from

if TYPE_CHECKING:
    from ..errors import (
        BackendUnavailable,
        BadResponse,
        DeviceCodeExpired,
        FlowNotSupported,
        InvalidBackendUrl,
        IssuerMismatch,
        LoginDenied,
        LoginEnded,
        LoginRequired,
        MalformedTokenResponse,
        NoOidcProviders,
        NoSuitableClient,
        NotAnOpenEOBackend,
        NotLoggedIn,
        OpenEOAuthError,
        ProviderUnavailable,
        TokenRequestFailed,
        UnknownProvider,
    )
    from ..urls import (
        normalize_url,
        same_url,
    )
    from .discovery import (
        BackendInfo,
        ExpiringCache,
        IssuerCache,
        IssuerMetadata,
        OidcProviderInfo,
        discover_backend,
        issuer_cache,
    )
    from .grants import (
        AsyncDeviceAuthorization,
        AsyncOidcClient,
        DeviceAuthorization,
        Grants,
        OidcClient,
        pkce_pair,
    )
    from .tokens import (
        TokenSet,
    )
    from .transport import (
        AsyncHttpClient,
        HttpClient,
        ResponseTooLarge,
    )

#: Which module each public name lives in.
_WHERE = {
    "AsyncDeviceAuthorization": "grants",
    "AsyncHttpClient": "transport",
    "AsyncOidcClient": "grants",
    "BackendInfo": "discovery",
    "BackendUnavailable": ".errors",
    "BadResponse": ".errors",
    "DeviceAuthorization": "grants",
    "DeviceCodeExpired": ".errors",
    "ExpiringCache": "discovery",
    "FlowNotSupported": ".errors",
    "Grants": "grants",
    "HttpClient": "transport",
    "InvalidBackendUrl": ".errors",
    "IssuerCache": "discovery",
    "IssuerMetadata": "discovery",
    "IssuerMismatch": ".errors",
    "LoginDenied": ".errors",
    "LoginEnded": ".errors",
    "LoginRequired": ".errors",
    "MalformedTokenResponse": ".errors",
    "NoOidcProviders": ".errors",
    "NoSuitableClient": ".errors",
    "NotAnOpenEOBackend": ".errors",
    "NotLoggedIn": ".errors",
    "OidcClient": "grants",
    "OidcProviderInfo": "discovery",
    "OpenEOAuthError": ".errors",
    "ProviderUnavailable": ".errors",
    "ResponseTooLarge": "transport",
    "TokenRequestFailed": ".errors",
    "TokenSet": "tokens",
    "UnknownProvider": ".errors",
    "discover_backend": "discovery",
    "issuer_cache": "discovery",
    "normalize_url": ".urls",
    "pkce_pair": "grants",
    "same_url": ".urls",
}


__getattr__ = names_from(__name__, _WHERE)


__all__ = [
    "AsyncDeviceAuthorization",
    "AsyncHttpClient",
    "AsyncOidcClient",
    "Grants",
    "BackendInfo",
    "ExpiringCache",
    "MalformedTokenResponse",
    "ResponseTooLarge",
    "BackendUnavailable",
    "BadResponse",
    "DeviceAuthorization",
    "DeviceCodeExpired",
    "FlowNotSupported",
    "HttpClient",
    "InvalidBackendUrl",
    "IssuerMismatch",
    "IssuerCache",
    "IssuerMetadata",
    "LoginDenied",
    "LoginEnded",
    "LoginRequired",
    "NoOidcProviders",
    "NoSuitableClient",
    "NotAnOpenEOBackend",
    "NotLoggedIn",
    "OidcClient",
    "OidcProviderInfo",
    "OpenEOAuthError",
    "ProviderUnavailable",
    "TokenRequestFailed",
    "TokenSet",
    "UnknownProvider",
    "discover_backend",
    "issuer_cache",
    "normalize_url",
    "same_url",
    "pkce_pair",
]
