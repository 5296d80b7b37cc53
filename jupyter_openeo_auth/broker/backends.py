"""Which back-ends there are: what each says about itself (cached, bounded, expiring), which flows its
providers' issuers really offer, and which back-ends this server may log in to."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from ..oidc import (
    AsyncHttpClient,
    BackendInfo,
    ExpiringCache,
    OpenEOAuthError,
    discover_backend,
    issuer_cache,
    normalize_url,
)
from ..wire import Reason

#: How long discovery results are kept (seconds), and how many back-ends are cached.
DISCOVERY_TTL = 600.0
DISCOVERY_CACHE_SIZE = 256


class BackendNotAllowed(OpenEOAuthError):
    reason = Reason.NOT_ALLOWED


class Backends:
    """Discovery for the broker, with the allow list of a shared deployment."""

    def __init__(self, http: AsyncHttpClient, allowed: Iterable[str] = ()):
        self.http = http
        self.allowed = [normalize_url(u) for u in allowed]
        self.cache: ExpiringCache[str, BackendInfo] = ExpiringCache(DISCOVERY_TTL, DISCOVERY_CACHE_SIZE)

    def check_allowed(self, url: str) -> str:
        """The normalised URL, or `BackendNotAllowed` when an allow list excludes it."""
        url = normalize_url(url)
        if self.allowed and not any(url == a or url.startswith(a + "/") for a in self.allowed):
            raise BackendNotAllowed(
                f"This Jupyter server only logs in to {', '.join(self.allowed)}; {url} is not allowed here."
            )
        return url

    async def info(self, url: str) -> BackendInfo:
        """What the back-end says about itself (cached for a while). When a refresh of a cached entry fails
        for a passing reason, the cached entry still serves, so a back-end that is down for a moment does
        not stop the tokens of its sessions."""
        url = self.check_allowed(url)
        hit = self.cache.get(url)
        if hit is not None:
            return hit
        try:
            info = await discover_backend(url, self.http)
        except OpenEOAuthError as e:
            stale = self.cache.get(url, allow_stale=True)
            if stale is not None and e.transient:
                return stale
            raise
        self.cache.put(url, info)
        return info

    async def flows(self, info: BackendInfo) -> dict[str, list[str]]:
        """Per provider id: the flows its default clients list and its issuer really offers (as far as its
        metadata tells; when the metadata cannot be read now, what the back-end lists)."""

        async def offered(provider):
            try:
                metadata = await issuer_cache.get(provider.issuer, self.http)
            except OpenEOAuthError:
                return provider.flows()
            return [f for f in provider.flows() if metadata.offers(f)]

        lists = await asyncio.gather(*(offered(p) for p in info.providers))
        return {p.id: flows for p, flows in zip(info.providers, lists, strict=True)}
