"""openEO and OpenID Connect discovery: which API version, which providers, which client, which endpoints."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, overload
from urllib.parse import urlsplit

from ..errors import (
    BackendUnavailable,
    BadResponse,
    NoOidcProviders,
    NoSuitableClient,
    NotAnOpenEOBackend,
    OpenEOAuthError,
    ProviderUnavailable,
    UnknownProvider,
)
from ..flows import DEVICE_PKCE, FLOWS
from ..urls import normalize_url
from .transport import AsyncHttpClient, Exchange, HttpClient, get
from .trust import check_issuer, check_transport

#: openEO's grant type names, per flow of this package that logs in at a provider, most preferred first.
FLOW_GRANTS: dict[str, tuple[str, ...]] = {name: flow.grant_types for name, flow in FLOWS.items() if flow.grant_types}


def _interactive(flow: str) -> bool:
    """Does the user approve this flow at the provider (the device flow: PKCE, the device endpoint)?"""
    rules = FLOWS.get(flow)
    return rules is not None and rules.interactive


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in str(version).split("."))


@dataclass(frozen=True)
class OidcProviderInfo:
    """One entry of an openEO back-end's `GET /credentials/oidc`."""

    id: str
    issuer: str
    title: str
    scopes: tuple[str, ...] = ("openid",)
    default_clients: tuple[dict, ...] = ()

    @classmethod
    def from_api(cls, d: dict) -> OidcProviderInfo:
        """Build from the back-end's JSON entry."""
        return cls(
            id=d["id"],
            issuer=d["issuer"].rstrip("/"),
            title=d.get("title") or d["id"],
            scopes=tuple(d.get("scopes") or ("openid",)),
            default_clients=tuple(c for c in d.get("default_clients") or () if isinstance(c, dict) and "id" in c),
        )

    def flows(self) -> list[str]:
        """The flows of this package that a default client of this provider supports."""
        return [flow for flow, grants in FLOW_GRANTS.items() if any(self._clients_for(grants))]

    def _clients_for(self, grants):
        for grant in grants:
            for client in self.default_clients:
                if grant in client.get("grant_types", ()):
                    yield client, grant

    def choose_client(self, flow: str, client_id: str | None = None) -> tuple[str, bool]:
        """(client id, use PKCE) for a flow: the given client, else the first default client that fits."""
        grants = FLOW_GRANTS.get(flow, ())
        if client_id:
            listed = [g for c, g in self._clients_for(grants) if c["id"] == client_id]
            return client_id, (not listed or listed[0] == DEVICE_PKCE) and _interactive(flow)
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
    providers: tuple[OidcProviderInfo, ...] = field(default=())

    def provider(self, provider_id: str | None = None) -> OidcProviderInfo:
        """The provider with this id, else the first one listed (openEO's own default)."""
        if not provider_id:
            return self.providers[0]
        for p in self.providers:
            if p.id == provider_id:
                return p
        known = ", ".join(p.id for p in self.providers)
        raise UnknownProvider(f"{self.url} has no OpenID provider {provider_id!r}; it offers: {known}.")


def _api_url(url: str) -> Exchange[tuple[str, str]]:
    """(versioned API URL, API version) through `/.well-known/openeo`, else the URL itself."""
    parts = urlsplit(url)
    root = f"{parts.scheme}://{parts.netloc}"
    try:
        status, doc = yield get(root + "/.well-known/openeo", unavailable=BackendUnavailable)
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
            candidates = [v for v in versions if isinstance(v, dict) and isinstance(v.get("url"), str)]
            production = [v for v in candidates if v.get("production", True)] or candidates
            if production:
                best = max(production, key=lambda v: _version_key(v.get("api_version", "0")))
                return str(best["url"]).rstrip("/"), str(best.get("api_version", ""))
    status, caps = yield get(url + "/", unavailable=BackendUnavailable)
    if status != 200 or "api_version" not in caps:
        raise NotAnOpenEOBackend(f"{url} does not look like an openEO back-end (HTTP {status}). Check the URL.")
    return url, str(caps["api_version"])


@overload
def discover_backend(url: str, http: AsyncHttpClient) -> Awaitable[BackendInfo]: ...
@overload
def discover_backend(url: str, http: HttpClient | None = None) -> BackendInfo: ...
def discover_backend(url: str, http: HttpClient | AsyncHttpClient | None = None) -> Any:
    """Resolve a back-end URL and read its OpenID providers (`BackendInfo`; an awaitable with an
    `AsyncHttpClient`). Raises `NoOidcProviders` when it has none."""
    return (http or HttpClient()).run(_discover(normalize_url(url)))


def _discover(url: str) -> Exchange[BackendInfo]:
    try:
        api_url, version = yield from _api_url(url)
        status, doc = yield get(api_url + "/credentials/oidc", unavailable=BackendUnavailable)
    except BadResponse as e:
        raise NotAnOpenEOBackend(f"{url} does not look like an openEO back-end: {e.message}") from None
    providers = []
    if status == 200 and isinstance(doc.get("providers"), list):
        for entry in doc["providers"]:
            if isinstance(entry, dict) and isinstance(entry.get("id"), str) and isinstance(entry.get("issuer"), str):
                providers.append(OidcProviderInfo.from_api(entry))
    if not providers:
        raise NoOidcProviders(
            f"{url} does not offer OpenID Connect login (no providers at /credentials/oidc). "
            "Log in to it another way, or check the URL."
        )
    return BackendInfo(url=url, api_url=api_url, api_version=version, providers=tuple(providers))


@dataclass(frozen=True)
class IssuerMetadata:
    """The parts of an issuer's metadata (OpenID discovery merged with RFC 8414) this package uses."""

    issuer: str
    token_endpoint: str
    device_authorization_endpoint: str | None = None
    revocation_endpoint: str | None = None
    userinfo_endpoint: str | None = None
    token_endpoint_auth_methods: tuple[str, ...] = ("client_secret_basic",)
    #: `grant_types_supported`, when the provider publishes it.
    grant_types: tuple[str, ...] | None = None

    def offers(self, flow: str) -> bool:
        """Does the provider really offer this flow (as far as its metadata tells)?"""
        if _interactive(flow) and not self.device_authorization_endpoint:
            return False
        if self.grant_types is None:
            return True
        return any(g.split("+")[0] in self.grant_types for g in FLOW_GRANTS.get(flow, ()))


K = TypeVar("K")
V = TypeVar("V")


class ExpiringCache(Generic[K, V]):
    """At most `size` entries, each kept `ttl` seconds (monotonic clock), least recently used evicted first.
    Thread-safe. `get(key, allow_stale=True)` also returns an expired entry (to serve while its source is down)."""

    def __init__(self, ttl: float, size: int = 128):
        self.ttl, self.size = ttl, size
        self._lock = threading.Lock()
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K, allow_stale: bool = False) -> V | None:
        """The value when present (and fresh, unless `allow_stale`), else None."""
        with self._lock:
            hit = self._entries.get(key)
            if hit is None:
                return None
            self._entries.move_to_end(key)
        fresh = time.monotonic() - hit[0] < self.ttl
        return hit[1] if fresh or allow_stale else None

    def put(self, key: K, value: V) -> None:
        """Keep a value; the least recently used entry goes when the cache is full."""
        with self._lock:
            self._entries[key] = (time.monotonic(), value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


def metadata_urls(issuer: str) -> list[str]:
    """Where an issuer's metadata may be: OpenID Connect discovery, then RFC 8414 (for an issuer with a
    path, the well-known part inserted before the path, as RFC 8414 section 3.1 says, and appended, as
    many providers serve it)."""
    parts = urlsplit(issuer)
    root, path = f"{parts.scheme}://{parts.netloc}", parts.path.rstrip("/")
    urls = [issuer + "/.well-known/openid-configuration", f"{root}/.well-known/oauth-authorization-server{path}"]
    if path:
        urls.append(issuer + "/.well-known/oauth-authorization-server")
    return urls


#: Metadata fields taken from whichever document has them.
_FIELDS = ("token_endpoint", "device_authorization_endpoint", "revocation_endpoint", "userinfo_endpoint")


class IssuerCache:
    """OIDC/OAuth metadata per issuer, fetched once and kept `ttl` seconds; at most `size` issuers."""

    def __init__(self, ttl: float = 3600.0, size: int = 64):
        self._cache: ExpiringCache[str, IssuerMetadata] = ExpiringCache(ttl, size)

    @overload
    def get(self, issuer: str, http: AsyncHttpClient) -> Awaitable[IssuerMetadata]: ...
    @overload
    def get(self, issuer: str, http: HttpClient | None = None) -> IssuerMetadata: ...
    def get(self, issuer: str, http: HttpClient | AsyncHttpClient | None = None) -> Any:
        """The issuer's metadata (an awaitable with an `AsyncHttpClient`), from the cache when fresh."""
        return (http or HttpClient()).run(self._get(issuer.rstrip("/")))

    def _get(self, issuer: str) -> Exchange[IssuerMetadata]:
        hit = self._cache.get(issuer)
        if hit is not None:
            return hit
        meta = yield from fetch_metadata(issuer)
        self._cache.put(issuer, meta)
        return meta


def fetch_metadata(issuer: str) -> Exchange[IssuerMetadata]:
    """Read the issuer's metadata documents and merge them: OpenID discovery first; RFC 8414 documents
    only while an endpoint this package can use (device, revocation) is still missing."""
    check_transport(issuer, "OpenID issuer")
    merged: dict = {}
    failure: OpenEOAuthError | None = None
    for url in metadata_urls(issuer):
        if merged.get("device_authorization_endpoint") and merged.get("revocation_endpoint"):
            break
        try:
            status, doc = yield get(url, unavailable=ProviderUnavailable)
        except (BadResponse, ProviderUnavailable) as e:  # an HTML 404 page, or nothing there
            failure = failure or e
            continue
        if status != 200 or not isinstance(doc.get("token_endpoint"), str):
            continue
        check_issuer(issuer, doc.get("issuer"), url)
        for name, value in doc.items():
            if value and merged.get(name) is None:
                merged[name] = value
    if not merged:
        if failure is not None and failure.transient:
            raise failure
        raise OpenEOAuthError(
            f"{issuer} publishes no OpenID Connect or OAuth metadata (tried {', '.join(metadata_urls(issuer))})."
        )
    methods = merged.get("token_endpoint_auth_methods_supported")
    grants = merged.get("grant_types_supported")
    endpoints: dict[str, Any] = {
        name: merged.get(name) if isinstance(merged.get(name), str) else None for name in _FIELDS
    }
    for name, endpoint in endpoints.items():
        if endpoint is not None:
            check_transport(endpoint, f"{name.replace('_', ' ')} of {issuer}")
    return IssuerMetadata(
        issuer=issuer,
        **endpoints,
        token_endpoint_auth_methods=tuple(methods) if isinstance(methods, list) else ("client_secret_basic",),
        grant_types=tuple(grants) if isinstance(grants, list) else None,
    )


#: The process-wide cache of issuer metadata.
issuer_cache = IssuerCache()
