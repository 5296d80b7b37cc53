"""What a provider's word counts for: its metadata must name the issuer it was fetched for, and an issuer or
endpoint on another machine must be https (refresh tokens, passwords and secrets travel there). SECURITY.md,
threats 3 and 7."""

from __future__ import annotations

from urllib.parse import urlsplit

from ..errors import InsecureProvider, IssuerMismatch
from ..wire import LOOPBACK_HOSTS

#: Hosts whose issuers and endpoints may be reached over plain http (this machine). `allow_plain_http` adds
#: more, for testing; the server's `OpenEOAuth.insecure_http_hosts` sets it.
_plain_http_hosts: set[str] = set(LOOPBACK_HOSTS)


def allow_plain_http(hosts: list[str] | tuple[str, ...]) -> None:
    """Let issuers and endpoints on these hosts (besides this machine's) be reached over plain http: for test
    set-ups only, as refresh tokens, passwords and secrets then cross the network in clear text."""
    _plain_http_hosts.clear()
    _plain_http_hosts.update((*LOOPBACK_HOSTS, *(h.lower() for h in hosts)))


def check_transport(url: str, what: str) -> None:
    """An issuer or endpoint must be https, or plain http on this machine (see `allow_plain_http`)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme == "https" or (parts.scheme == "http" and host in _plain_http_hosts):
        return
    raise InsecureProvider(
        f"The {what} {url[:200]!r} is not an https URL: tokens, passwords and secrets would travel there in clear "
        "text, so it is not used. Ask the back-end's operators for the https address of their provider."
    )


def check_issuer(expected: str, named: object, url: str) -> None:
    """A metadata document must name the issuer it was fetched for (OpenID Connect Discovery 1.0 section 4.3,
    RFC 8414 section 3.3): else anyone who serves a document could speak for another issuer, whose name the
    logins made through it would then carry. A trailing slash aside, the names must be equal."""
    if isinstance(named, str) and named.rstrip("/") == expected.rstrip("/"):
        return
    shown = repr(named[:200]) if isinstance(named, str) else "no issuer"
    raise IssuerMismatch(
        f"The OpenID metadata at {url} names {shown}, not the issuer it was fetched for, {expected}: it cannot "
        f"be trusted for {expected}. Ask the back-end's operators to list the issuer its provider really has."
    )
