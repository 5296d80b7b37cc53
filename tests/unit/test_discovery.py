"""Back-end URLs, openEO discovery (`/.well-known/openeo`, `/credentials/oidc`) and issuer metadata (OpenID
discovery, RFC 8414) against canned answers; and the same through the async HTTP client with httpx's
MockTransport (the server's face), still without a socket."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from canned import run

from jupyter_openeo_auth.errors import BackendUnavailable, NoSuitableClient, ProviderUnavailable, UnknownProvider
from jupyter_openeo_auth.flows import DEVICE, DEVICE_PKCE
from jupyter_openeo_auth.oidc import AsyncHttpClient, InvalidBackendUrl, NoOidcProviders, NotAnOpenEOBackend
from jupyter_openeo_auth.oidc.discovery import (
    BackendInfo,
    ExpiringCache,
    IssuerMetadata,
    OidcProviderInfo,
    _discover,
    discover_backend,
    fetch_metadata,
    metadata_urls,
)
from jupyter_openeo_auth.urls import normalize_url, same_url
from jupyter_openeo_auth.wire import Flow

BACKEND = "https://openeo.example.org"
ISSUER = "https://idp.example.org/realms/openeo"
PROVIDERS = {
    "providers": [
        {
            "id": "egi",
            "issuer": ISSUER + "/",
            "title": "EGI Check-in",
            "scopes": ["openid", "email"],
            "default_clients": [{"id": "default", "grant_types": [DEVICE_PKCE, "refresh_token"]}],
        },
        {"id": "other", "issuer": "https://other.example.org", "title": ""},
    ]
}


@pytest.mark.parametrize(
    "given, normal",
    [
        ("openeo.cloud", "https://openeo.cloud"),
        ("HTTPS://OpenEO.Cloud/", "https://openeo.cloud"),
        ("https://openeo.cloud:443/openeo//1.2/", "https://openeo.cloud/openeo/1.2"),
        ("http://localhost:80/a/./b/../c", "http://localhost/a/c"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("  https://openeo.cloud  ", "https://openeo.cloud"),
        ("https://[::1]:8000/x", "https://[::1]:8000/x"),
    ],
)
def test_one_spelling_per_backend(given, normal):
    assert normalize_url(given) == normal


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "   ",
        "ftp://openeo.cloud",
        "https://",
        "https://user:pw@openeo.cloud",
        "https://openeo.cloud?x=1",
        "https://openeo.cloud#top",
        "https://openeo.cloud:99999",
        "https://open eo.cloud",
        "https://[::1",
        42,
    ],
)
def test_an_unusable_backend_url_gets_a_sentence(bad):
    with pytest.raises(InvalidBackendUrl) as refused:
        normalize_url(bad)
    assert "URL" in refused.value.message or "back-end" in refused.value.message


def test_same_url_compares_spellings():
    assert same_url("openeo.cloud", "https://OPENEO.cloud/") and not same_url("https://a.org", "https://b.org")
    assert same_url("not a url", "not a url")


def discovery_answers(**override) -> dict:
    return {
        BACKEND + "/.well-known/openeo": (
            200,
            {
                "versions": [
                    {"url": BACKEND + "/openeo/1.1", "api_version": "1.1.0"},
                    {"url": BACKEND + "/openeo/1.2", "api_version": "1.2.0"},
                    {"url": BACKEND + "/openeo/2.0-beta", "api_version": "2.0.0", "production": False},
                ]
            },
        ),
        BACKEND + "/openeo/1.2/credentials/oidc": (200, PROVIDERS),
        BACKEND + "/openeo/1.1/credentials/oidc": (200, PROVIDERS),
        **override,
    }


def test_discovery_takes_the_newest_production_version_and_reads_the_providers():
    info, asked = run(_discover(BACKEND), discovery_answers())
    assert (info.url, info.api_url, info.api_version) == (BACKEND, BACKEND + "/openeo/1.2", "1.2.0")
    egi = info.provider()
    assert (egi.id, egi.issuer, egi.title, egi.scopes) == ("egi", ISSUER, "EGI Check-in", ("openid", "email"))
    assert info.provider("other").title == "other" and [r.method for r in asked] == ["GET", "GET"]


def test_a_versioned_url_the_user_named_is_kept():
    info, _ = run(_discover(BACKEND + "/openeo/1.1"), discovery_answers())
    assert info.api_url == BACKEND + "/openeo/1.1" and info.api_version == "1.1.0"


def test_without_a_well_known_document_the_url_itself_is_the_api():
    answers = {
        BACKEND + "/.well-known/openeo": (404, {}),
        BACKEND + "/": (200, {"api_version": "1.0.0"}),
        BACKEND + "/credentials/oidc": (200, PROVIDERS),
    }
    info, _ = run(_discover(BACKEND), answers)
    assert info.api_url == BACKEND and info.api_version == "1.0.0"


def test_something_that_is_not_openeo_is_named_so():
    answers = {BACKEND + "/.well-known/openeo": (404, {}), BACKEND + "/": (200, {"hello": "world"})}
    with pytest.raises(NotAnOpenEOBackend, match="does not look like an openEO back-end"):
        run(_discover(BACKEND), answers)


@pytest.mark.parametrize(
    "doc",
    [
        {},
        {"providers": []},
        {"providers": "egi"},
        {"providers": [{"id": "x"}]},
        {"providers": [{"id": 1, "issuer": ISSUER}]},
    ],
)
def test_a_backend_without_usable_providers_offers_no_openid_login(doc):
    with pytest.raises(NoOidcProviders, match="does not offer OpenID Connect login"):
        run(_discover(BACKEND), discovery_answers(**{BACKEND + "/openeo/1.2/credentials/oidc": (200, doc)}))


def test_an_unknown_provider_names_the_ones_listed():
    info = BackendInfo(BACKEND, BACKEND, "1.2.0", tuple(OidcProviderInfo.from_api(p) for p in PROVIDERS["providers"]))
    with pytest.raises(UnknownProvider) as refused:
        info.provider("x")
    assert refused.value.message == f"{BACKEND} has no OpenID provider 'x'; it offers: egi, other."
    assert refused.value.reason == "unknown_provider"


@pytest.mark.parametrize(
    "flow, client_id, expected",
    [
        (Flow.DEVICE, None, ("default", True)),
        (Flow.DEVICE, "mine", ("mine", True)),  # not listed: PKCE, as RFC 9700 recommends for every client
        (Flow.CLIENT_CREDENTIALS, "svc", ("svc", False)),
    ],
)
def test_the_client_for_a_flow(flow, client_id, expected):
    assert OidcProviderInfo.from_api(PROVIDERS["providers"][0]).choose_client(flow, client_id) == expected


def test_a_device_client_listed_without_pkce_polls_without_it():
    provider = OidcProviderInfo.from_api(
        {"id": "p", "issuer": ISSUER, "default_clients": [{"id": "d", "grant_types": [DEVICE]}]}
    )
    assert provider.choose_client(Flow.DEVICE) == ("d", False) and provider.choose_client(Flow.DEVICE, "d") == (
        "d",
        False,
    )


def test_no_default_client_for_a_flow_says_to_pass_one():
    with pytest.raises(NoSuitableClient, match="Pass the client_id"):
        OidcProviderInfo.from_api(PROVIDERS["providers"][1]).choose_client(Flow.PASSWORD)


def test_default_clients_that_are_not_objects_are_ignored():
    provider = OidcProviderInfo.from_api(
        {"id": "p", "issuer": ISSUER, "default_clients": ["x", {"no": "id"}, {"id": "ok"}]}
    )
    assert provider.default_clients == ({"id": "ok"},) and provider.flows() == []


@pytest.mark.parametrize(
    "issuer, urls",
    [
        (
            "https://idp.org",
            [
                "https://idp.org/.well-known/openid-configuration",
                "https://idp.org/.well-known/oauth-authorization-server",
            ],
        ),
        (
            "https://idp.org/realms/x",
            [
                "https://idp.org/realms/x/.well-known/openid-configuration",
                "https://idp.org/.well-known/oauth-authorization-server/realms/x",
                "https://idp.org/realms/x/.well-known/oauth-authorization-server",
            ],
        ),
    ],
)
def test_where_metadata_may_be(issuer, urls):
    assert metadata_urls(issuer) == urls


def test_metadata_takes_what_it_uses_and_reads_grant_types():
    doc = {
        "issuer": ISSUER,
        "token_endpoint": ISSUER + "/token",
        "device_authorization_endpoint": ISSUER + "/device",
        "grant_types_supported": ["refresh_token", DEVICE],
        "token_endpoint_auth_methods_supported": ["client_secret_post"],
    }
    meta, _ = run(fetch_metadata(ISSUER), {ISSUER + "/.well-known/openid-configuration": (200, doc)})
    assert meta.device_authorization_endpoint == ISSUER + "/device" and meta.token_endpoint_auth_methods == (
        "client_secret_post",
    )
    assert meta.offers(Flow.DEVICE) and not meta.offers(Flow.PASSWORD)


@pytest.mark.parametrize(
    "device_endpoint, grants, offered", [(None, None, False), ("d", None, True), ("d", ("password",), False)]
)
def test_what_metadata_offers_for_the_device_flow(device_endpoint, grants, offered):
    meta = IssuerMetadata(ISSUER, ISSUER + "/t", device_authorization_endpoint=device_endpoint, grant_types=grants)
    assert meta.offers(Flow.DEVICE) is offered


def test_an_expiring_cache_forgets_after_its_time_and_keeps_its_size(monkeypatch):
    import jupyter_openeo_auth.oidc.discovery as discovery

    now = [100.0]
    monkeypatch.setattr(discovery.time, "monotonic", lambda: now[0])
    cache: ExpiringCache[str, int] = ExpiringCache(ttl=10, size=2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("c", 3)
    assert len(cache) == 2 and cache.get("a") is None and cache.get("c") == 3
    now[0] += 11
    assert cache.get("c") is None and cache.get("c", allow_stale=True) == 3


def test_the_servers_async_client_discovers_through_canned_answers_too():
    """The whole async path (AsyncHttpClient and its bounds) with httpx's MockTransport: no socket."""
    answers = discovery_answers()

    def handler(request: httpx.Request) -> httpx.Response:
        status, body = answers.get(str(request.url), (404, {}))
        return httpx.Response(status, json=body)

    async def discover():
        http = AsyncHttpClient(transport=httpx.MockTransport(handler))
        try:
            return await discover_backend("openeo.example.org", http)
        finally:
            await http.aclose()

    info = asyncio.run(discover())
    assert info.api_url == BACKEND + "/openeo/1.2" and [p.id for p in info.providers] == ["egi", "other"]


def served_by(answer: Callable[[httpx.Request], httpx.Response], exchange_of: Callable) -> Any:
    """Run `exchange_of(http)` on the async client over httpx's MockTransport answering with `answer`."""

    async def go():
        http = AsyncHttpClient(transport=httpx.MockTransport(answer))
        try:
            return await exchange_of(http)
        finally:
            await http.aclose()

    return asyncio.run(go())


@pytest.mark.parametrize(
    "status, content_type, headers",
    [
        (502, "text/html", {}),  # a proxy's "Bad Gateway" page in front of a back-end that is down
        (503, "application/json", {"Retry-After": "120"}),  # an openEO error document: maintenance
        (429, "text/plain", {"Retry-After": "7"}),
    ],
)
def test_a_backend_that_is_down_behind_its_proxy_is_down_not_something_else(status, content_type, headers):
    answers = discovery_answers()

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/credentials/oidc"):
            return httpx.Response(status, content=b'<html>{"code": "x"}</html>', headers=headers)
        code, body = answers.get(str(request.url), (404, {}))
        return httpx.Response(code, json=body)

    with pytest.raises(BackendUnavailable, match=r"^The openEO back-end at .* answered HTTP \d+; .*later") as caught:
        served_by(answer, lambda http: discover_backend(BACKEND, http))
    assert caught.value.transient and caught.value.reason == "backend_unavailable"
    assert caught.value.retry_after == (float(headers["Retry-After"]) if headers else None)


def test_a_provider_whose_metadata_is_down_is_unavailable_and_says_when_to_ask_again():
    """Keycloak behind a proxy during an upgrade: each metadata URL answers 503 with a page, and Retry-After."""

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, content=b"<html>Service Unavailable</html>", headers={"Retry-After": "30"})

    with pytest.raises(ProviderUnavailable, match=r"^The OpenID provider at .* answered HTTP 503") as caught:
        served_by(answer, lambda http: http.run(fetch_metadata(ISSUER)))
    assert caught.value.retry_after == 30 and caught.value.transient
