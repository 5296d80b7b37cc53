"""Spelling back-end and issuer URLs one way, so that two spellings of one place compare equal. Cheap to import
(the kernel side needs it at start): httpx is imported when a URL is first checked."""

from __future__ import annotations

import posixpath
import re
from urllib.parse import urlsplit

from .errors import InvalidBackendUrl

DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_url(url: str) -> str:
    """One spelling per back-end: `openeo.cloud` -> `https://openeo.cloud`; scheme and host lower case, no
    default port, no duplicate slashes, dot segments or trailing slash. Raises `InvalidBackendUrl`."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidBackendUrl("No back-end URL given. Pass the URL of an openEO back-end, like https://openeo.cloud.")
    url = url.strip()
    if "://" not in url:
        url = "https://" + url
    try:
        parts = urlsplit(url)
    except ValueError:  # an unbalanced "[" of an IPv6 address, say
        raise InvalidBackendUrl(
            f"{url!r} is not a valid back-end URL. Use an http(s) URL like https://openeo.cloud."
        ) from None
    try:
        port, port_ok = parts.port, True
    except ValueError:  # not a number, or out of range
        port, port_ok = None, False
    if (
        not port_ok
        or parts.scheme.lower() not in DEFAULT_PORTS
        or not parts.hostname
        or " " in url
        or "@" in parts.netloc
    ):
        raise InvalidBackendUrl(f"{url!r} is not a valid back-end URL. Use an http(s) URL like https://openeo.cloud.")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise InvalidBackendUrl(
            f"{url!r} has a query or fragment ('?' or '#'); an openEO back-end URL has neither. "
            "Use the back-end's address only, like https://openeo.cloud."
        )
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = posixpath.normpath(re.sub("/+", "/", "/" + parts.path))  # normpath keeps a leading "//"
    path = "" if path == "/" else path
    normal = f"{scheme}://{netloc}{path}"
    import httpx  # here, not at the top: a kernel compares URLs long before (if ever) it sends a request

    try:
        httpx.URL(normal)  # the host must be a name the network knows how to spell (IDNA)
    except httpx.InvalidURL:
        raise InvalidBackendUrl(
            f"{url!r} is not a valid back-end URL: {host!r} is not a host name. Use an http(s) URL like "
            "https://openeo.cloud."
        ) from None
    return normal


def same_url(a: str, b: str) -> bool:
    """Do two URLs (back-ends, issuers) name the same place once normalised? Compared as given when either is
    not a valid URL."""
    try:
        return normalize_url(a) == normalize_url(b)
    except InvalidBackendUrl:
        return a.rstrip("/") == b.rstrip("/")
