"""openEO and OpenID Connect discovery: which API version, which providers, which client, which endpoints."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple
from urllib.parse import urlsplit

from .errors import (
    BackendUnavailable,
    BadResponse,
    InvalidBackendUrl,
    NoOidcProviders,
    NoSuitableClient,
    NotAnOpenEOBackend,
    OpenEOAuthError,
    ProviderUnavailable,
    UnknownProvider,
)
from .transport import HttpClient

DEVICE_PKCE = "urn:ietf:params:oauth:grant-type:device_code+pkce"
DEVICE = "urn:ietf:params:oauth:grant-type:device_code"
#: openEO's grant type names, per flow of this package, most preferred first.
FLOW_GRANTS = {
    "device": (DEVICE_PKCE, DEVICE),
    "password": ("password",),
    "client_credentials": ("client_credentials",),
}


def normalize_url(url: str) -> str:
    """`openeo.cloud` -> `https://openeo.cloud`; no trailing slash. Raises `InvalidBackendUrl`."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidBackendUrl("No back-end URL given. Pass the URL of an openEO back-end, like https://openeo.cloud.")
    url = url.strip()
    if "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or " " in url:
        raise InvalidBackendUrl(
            f"{url!r} is not a valid back-end URL. Use an http(s) URL like https://openeo.cloud."
        )
    return url.rstrip("/")


def _version_key(version: str) -> Tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in str(version).split("."))


@dataclass(frozen=True)
class OidcProviderInfo:
    """One entry of an openEO back-end's `GET /credentials/oidc`."""

    id: str
    issuer: str
    title: str
    scopes: Tuple[str, ...] = ("openid",)
    default_clients: Tuple[dict, ...] = ()

    @classmethod
    def from_api(cls, d: dict) -> "OidcProviderInfo":
        """Build from the back-end's JSON entry."""
        return cls(
            id=d["id"],
            issuer=d["issuer"].rstrip("/"),
            title=d.get("title") or d["id"],
            scopes=tuple(d.get("scopes") or ("openid",)),
            default_clients=tuple(c for c in d.get("default_clients") or () if isinstance(c, dict) and "id" in c),
        )

    def flows(self) -> List[str]:
        """The flows of this package that a default client of this provider supports."""
        return [flow for flow, grants in FLOW_GRANTS.items() if any(self._clients_for(grants))]

    def _clients_for(self, grants):
        for grant in grants:
            for client in self.default_clients:
                if grant in client.get("grant_types", ()):
                    yield client, grant

    def choose_client(self, flow: str, client_id: Optional[str] = None) -> Tuple[str, bool]:
        """(client id, use PKCE) for a flow: the given client, else the first default client that fits."""
        grants = FLOW_GRANTS.get(flow, ())
        if client_id:
            listed = [g for c, g in self._clients_for(grants) if c["id"] == client_id]
            return client_id, (not listed or listed[0] == DEVICE_PKCE) and flow == "device"
        for client, grant in self._clients_for(grants):
            return client["id"], grant == DEVICE_PKCE
        raise NoSuitableClient(
            f"The back-end lists no default client for the {flow} flow with provider {self.id!r}. "
            "Pass the client_id your provider gave you."
        )


@dataclass(frozen=True)
class BackendInfo:
    """An openEO back-end as the user names it and as its API is really reached."""

    url: str
    api_url: str
    api_version: str
    providers: Tuple[OidcProviderInfo, ...] = field(default=())

    def provider(self, provider_id: Optional[str] = None) -> OidcProviderInfo:
        """The provider with this id, else the first one listed (openEO's own default)."""
        if not provider_id:
            return self.providers[0]
        for p in self.providers:
            if p.id == provider_id:
                return p
        known = ", ".join(p.id for p in self.providers)
        raise UnknownProvider(f"{self.url} has no OpenID provider {provider_id!r}; it offers: {known}.")


def _api_url(url: str, http: HttpClient) -> Tuple[str, str]:
    """(versioned API URL, API version) through `/.well-known/openeo`, else the URL itself."""
    parts = urlsplit(url)
    root = f"{parts.scheme}://{parts.netloc}"
    try:
        status, doc = http.get_json(root + "/.well-known/openeo", unavailable=BackendUnavailable)
    except BadResponse as e:
        if e.transient:
            raise
        status, doc = 404, {}
    versions = doc.get("versions") if status == 200 else None
    if isinstance(versions, list) and versions:
        given = url.rstrip("/")
        for v in versions:  # the user named a version explicitly: keep it
            if isinstance(v, dict) and str(v.get("url", "")).rstrip("/") == given:
                return given, str(v.get("api_version", ""))
        if given == root:
            candidates = [v for v in versions if isinstance(v, dict) and v.get("url")]
            production = [v for v in candidates if v.get("production", True)] or candidates
            best = max(production, key=lambda v: _version_key(v.get("api_version", "0")))
            return str(best["url"]).rstrip("/"), str(best.get("api_version", ""))
    status, caps = http.get_json(url + "/", unavailable=BackendUnavailable)
    if status != 200 or "api_version" not in caps:
        raise NotAnOpenEOBackend(f"{url} does not look like an openEO back-end (HTTP {status}). Check the URL.")
    return url, str(caps["api_version"])


def discover_backend(url: str, http: Optional[HttpClient] = None) -> BackendInfo:
    """Resolve a back-end URL and read its OpenID providers. Raises `NoOidcProviders` when it has none."""
    http = http or HttpClient()
    url = normalize_url(url)
    try:
        api_url, version = _api_url(url, http)
        status, doc = http.get_json(api_url + "/credentials/oidc", unavailable=BackendUnavailable)
    except BadResponse as e:
        raise NotAnOpenEOBackend(f"{url} does not look like an openEO back-end: {e.message}") from None
    providers = []
    if status == 200:
        for entry in doc.get("providers") or ():
            if isinstance(entry, dict) and entry.get("id") and entry.get("issuer"):
                providers.append(OidcProviderInfo.from_api(entry))
    if not providers:
        raise NoOidcProviders(
            f"{url} does not offer OpenID Connect login (no providers at /credentials/oidc). "
            "Log in to it another way, or check the URL."
        )
    return BackendInfo(url=url, api_url=api_url, api_version=version, providers=tuple(providers))


@dataclass(frozen=True)
class IssuerMetadata:
    """The parts of `/.well-known/openid-configuration` this package uses."""

    issuer: str
    token_endpoint: str
    device_authorization_endpoint: Optional[str] = None
    revocation_endpoint: Optional[str] = None
    userinfo_endpoint: Optional[str] = None
    token_endpoint_auth_methods: Tuple[str, ...] = ("client_secret_basic",)


class IssuerCache:
    """OIDC discovery documents, fetched once per issuer and kept for `ttl` seconds (thread-safe)."""

    def __init__(self, ttl: float = 3600.0):
        self.ttl = ttl
        self._lock = threading.Lock()
        self._entries: Dict[str, Tuple[float, IssuerMetadata]] = {}

    def get(self, issuer: str, http: HttpClient) -> IssuerMetadata:
        """The issuer's metadata, from the cache when fresh."""
        issuer = issuer.rstrip("/")
        with self._lock:
            hit = self._entries.get(issuer)
        if hit and time.time() - hit[0] < self.ttl:
            return hit[1]
        meta = self._fetch(issuer, http)
        with self._lock:
            self._entries[issuer] = (time.time(), meta)
        return meta

    @staticmethod
    def _fetch(issuer: str, http: HttpClient) -> IssuerMetadata:
        url = issuer + "/.well-known/openid-configuration"
        status, doc = http.get_json(url, unavailable=ProviderUnavailable)
        if status != 200 or "token_endpoint" not in doc:
            raise OpenEOAuthError(f"{url} is not an OpenID Connect discovery document (HTTP {status}).")
        return IssuerMetadata(
            issuer=doc.get("issuer", issuer),
            token_endpoint=doc["token_endpoint"],
            device_authorization_endpoint=doc.get("device_authorization_endpoint"),
            revocation_endpoint=doc.get("revocation_endpoint"),
            userinfo_endpoint=doc.get("userinfo_endpoint"),
            token_endpoint_auth_methods=tuple(doc.get("token_endpoint_auth_methods_supported") or ("client_secret_basic",)),
        )


#: The process-wide cache of issuer metadata.
issuer_cache = IssuerCache()
