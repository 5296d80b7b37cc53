"""The OpenID Connect core against the real oidc-provider and openeo-driver dummy back-end."""

from __future__ import annotations

import dataclasses
import time

import openeo
import pytest
from conftest import SERVICE_SECRET

from jupyter_openeo_auth.oidc import (
    BackendUnavailable,
    BadResponse,
    DeviceCodeExpired,
    HttpClient,
    InvalidBackendUrl,
    IssuerMetadata,
    LoginDenied,
    LoginRequired,
    NoOidcProviders,
    OidcClient,
    ProviderUnavailable,
    TokenRequestFailed,
    TokenSet,
    UnknownProvider,
    discover_backend,
    issuer_cache,
    normalize_url,
)
from jupyter_openeo_auth.oidc.grants import DeviceAuthorization
from jupyter_openeo_auth.oidc.transport import get

pytestmark = pytest.mark.real


def wait_for_tokens(auth: DeviceAuthorization, timeout: float = 30) -> TokenSet:
    """What a caller does: wait until a poll is due, poll, repeat."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        time.sleep(auth.seconds_to_next_poll())
        tokens = auth.poll()
        if tokens:
            return tokens
    raise AssertionError("the login did not finish in time")


def account(stack, tokens: TokenSet) -> dict:
    con = openeo.connect(stack.backend.url)
    con.authenticate_oidc_access_token(tokens.access_token, provider_id="local")
    return con.describe_account()


# --- discovery ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given, expected",
    [
        ("openeo.cloud", "https://openeo.cloud"),
        ("https://openeo.cloud/", "https://openeo.cloud"),
        (" http://127.0.0.1:8080/openeo/1.2/ ", "http://127.0.0.1:8080/openeo/1.2"),
    ],
)
def test_backend_url_is_normalised(given, expected):
    assert normalize_url(given) == expected


@pytest.mark.parametrize("bad", ["", "ftp://example.org", "http://", "https://host:99999x", "not a url"])
def test_malformed_url_is_refused_with_a_sentence(bad):
    with pytest.raises(InvalidBackendUrl, match="valid back-end URL|No back-end URL"):
        normalize_url(bad)


def test_root_url_resolves_to_newest_production_api(stack):
    info = discover_backend(stack.backend.url + "/")
    assert info.api_url == stack.backend.url + "/openeo/1.2"
    assert info.api_version.startswith("1.2")
    assert [p.id for p in info.providers] == ["local"]
    assert info.provider().flows() == ["device", "password"]


def test_versioned_url_is_kept(stack):
    info = discover_backend(stack.backend.url + "/openeo/1.1/")
    assert info.api_url == stack.backend.url + "/openeo/1.1"
    assert info.api_version.startswith("1.1")


def test_default_client_with_pkce_is_chosen(backend):
    assert backend.provider().choose_client("device") == ("openeo-public", True)


def test_unknown_provider_id_names_the_known_ones(backend):
    with pytest.raises(UnknownProvider, match="has no OpenID provider 'egi'.*local"):
        backend.provider("egi")


def test_backend_without_oidc_says_so(backend_without_oidc):
    with pytest.raises(NoOidcProviders, match="does not offer OpenID Connect login"):
        discover_backend(backend_without_oidc.url)


def test_backend_that_is_down_says_so():
    with pytest.raises(BackendUnavailable, match="Cannot connect to http://127.0.0.1:9/"):
        discover_backend("http://127.0.0.1:9")


def test_html_error_page_names_url_and_status(faults):
    """A proxy's "502 Bad Gateway" page in front of a back-end that is down: down, not "not a back-end"."""
    with pytest.raises(BackendUnavailable, match=r"openEO back-end at .*html502/ answered HTTP 502; .*Try again later"):
        discover_backend(faults.url + "/html502")
    with pytest.raises(BadResponse, match=r"HTTP 200 with application/json instead of JSON"):
        HttpClient().send(get(faults.url + "/badjson"))


def test_issuer_metadata_is_cached(stack, backend):
    issuer = backend.provider().issuer
    assert issuer_cache.get(issuer, HttpClient()) is issuer_cache.get(issuer + "/", HttpClient())


# --- device flow --------------------------------------------------------------------------------------


def test_approved_device_login_authenticates_at_the_backend(stack, oidc_client, alice):
    auth = oidc_client().start_device_authorization(pkce=True)
    assert auth.interval == 1 and auth.verification_uri.startswith(stack.provider.url)
    alice.approve(auth.verification_uri_complete, auth.user_code)
    tokens = wait_for_tokens(auth)
    assert tokens.user == {}  # the id token is not trusted undecoded: who it is comes from userinfo
    claims = oidc_client().userinfo(tokens.access_token)
    assert {k: claims[k] for k in ("sub", "name", "email")} == {
        "sub": "alice",
        "name": "Alice Liddell",
        "email": "alice@example.org",
    }
    assert 5 < tokens.remaining() <= 10
    assert account(stack, tokens)["user_id"] == "alice"


def test_denied_login_reports_denied(oidc_client):
    from jupyter_openeo_auth.devstack.user import ProviderUser

    auth = oidc_client().start_device_authorization()
    page = ProviderUser("bob").deny(auth.verification_uri_complete, auth.user_code)
    assert "You denied the login" in page and "not valid" not in page  # the provider's page says what happened
    with pytest.raises(LoginDenied, match="denied"):
        wait_for_tokens(auth)


def test_expired_code_ends_the_login_and_polling_stops(oidc_client, provider_stats):
    auth = oidc_client("openeo-shortcode").start_device_authorization()
    with pytest.raises(DeviceCodeExpired, match="expired before it was approved"):
        wait_for_tokens(auth, timeout=10)
    polls = provider_stats()["urn:ietf:params:oauth:grant-type:device_code"]
    with pytest.raises(DeviceCodeExpired):
        auth.poll()
    assert provider_stats()["urn:ietf:params:oauth:grant-type:device_code"] == polls
    assert auth.seconds_to_next_poll() == 0


def test_poll_before_the_interval_sends_nothing(oidc_client, provider_stats):
    auth = oidc_client().start_device_authorization()
    before = provider_stats().get("urn:ietf:params:oauth:grant-type:device_code", 0)
    assert auth.poll() is None and auth.poll() is None
    assert provider_stats().get("urn:ietf:params:oauth:grant-type:device_code", 0) == before
    assert 0 < auth.seconds_to_next_poll() <= 1


def test_slow_down_adds_five_seconds_to_every_later_poll(stack, backend, alice):
    """A client whose clock runs fast polls too early; the provider's slow_down must slow it for good."""
    skew = [0.0]
    metadata = issuer_cache.get(backend.provider().issuer, HttpClient())
    client = OidcClient(metadata, "openeo-public", clock=lambda: time.time() + skew[0])
    auth = client.start_device_authorization()
    skew[0] = 1.0
    assert auth.poll() is None  # accepted: authorization_pending
    skew[0] = 2.0
    assert auth.poll() is None  # too early for the provider: slow_down
    assert auth.interval == 6
    assert 5.5 < auth.seconds_to_next_poll() <= 6
    alice.approve(auth.verification_uri_complete, auth.user_code)
    started = time.time()
    tokens = wait_for_tokens(auth)
    assert time.time() - started > 5.5
    assert account(stack, tokens)["user_id"] == "alice"


def test_each_login_has_a_new_pkce_verifier(oidc_client):
    a, b = oidc_client().start_device_authorization(), oidc_client().start_device_authorization()
    assert a._code_verifier != b._code_verifier
    assert 43 <= len(a._code_verifier) <= 128
    assert a._code_verifier not in repr(a)


def test_wrong_pkce_verifier_is_refused(oidc_client, alice):
    auth = oidc_client().start_device_authorization()
    auth._code_verifier = "x" * 64  # what an attacker holding only the device code would send
    alice.approve(auth.verification_uri_complete, auth.user_code)
    with pytest.raises(TokenRequestFailed, match="PKCE verification failed") as err:
        wait_for_tokens(auth)
    assert err.value.error == "invalid_grant"


def test_provider_without_pkce_on_device_flow_is_refused(oidc_client):
    with pytest.raises(TokenRequestFailed, match="requires PKCE"):
        oidc_client().start_device_authorization(pkce=False)


def test_provider_down_while_polling_backs_off(oidc_client):
    auth = oidc_client().start_device_authorization()
    auth.client = OidcClient(
        IssuerMetadata(issuer="http://127.0.0.1:9", token_endpoint="http://127.0.0.1:9/token"), "openeo-public"
    )
    time.sleep(auth.seconds_to_next_poll())
    assert auth.poll() is None
    assert "Cannot connect" in auth.last_error
    assert auth.seconds_to_next_poll() >= 0.9
    time.sleep(auth.seconds_to_next_poll())
    assert auth.poll() is None
    assert auth.seconds_to_next_poll() >= 1.9  # doubled


def test_without_an_interval_polls_every_five_seconds_and_a_502_backs_off(faults):
    meta = IssuerMetadata(
        issuer=faults.url,
        token_endpoint=faults.url + "/html502",
        device_authorization_endpoint=faults.url + "/device-no-interval",
    )
    now = [1000.0]
    sent = lambda: faults.hits["/html502"] - before  # noqa: E731 - other tests use the same fault server
    before = faults.hits["/html502"]
    auth = OidcClient(meta, "x", clock=lambda: now[0]).start_device_authorization()
    assert auth.interval == 5 and auth.seconds_to_next_poll() == 5
    now[0] += 4.9
    assert auth.poll() is None and sent() == 0  # too early: nothing sent
    now[0] += 0.1
    assert auth.poll() is None and sent() == 1
    assert "answered HTTP 502" in auth.last_error and auth.seconds_to_next_poll() == 5
    now[0] += 5
    assert auth.poll() is None and sent() == 2
    assert auth.seconds_to_next_poll() == 10  # doubled
    now[0] += 600
    with pytest.raises(DeviceCodeExpired):
        auth.poll()
    assert sent() == 2


def test_token_endpoint_html_502_and_hang_are_transient(faults):
    meta = IssuerMetadata(issuer=faults.url, token_endpoint=faults.url + "/html502")
    with pytest.raises(ProviderUnavailable, match="answered HTTP 502") as err:
        OidcClient(meta, "x", client_secret="s").client_credentials()
    assert err.value.transient
    meta = IssuerMetadata(issuer=faults.url, token_endpoint=faults.url + "/hang")
    started = time.time()
    with pytest.raises(ProviderUnavailable, match="did not answer within 1 s"):
        OidcClient(meta, "x", client_secret="s", http=HttpClient(timeout=1)).client_credentials()
    assert time.time() - started < 3


# --- refresh, revocation, service accounts ---------------------------------------------------------------


def login(oidc_client, user, client_id="openeo-public") -> tuple:
    client = oidc_client(client_id)
    auth = client.start_device_authorization()
    user.approve(auth.verification_uri_complete, auth.user_code)
    return client, wait_for_tokens(auth)


def test_refresh_with_rotation_keeps_the_newest_refresh_token(stack, oidc_client, alice):
    client, tokens = login(oidc_client, alice, "openeo-public")
    renewed = client.refresh(tokens)
    assert renewed.refresh_token and renewed.refresh_token != tokens.refresh_token
    assert renewed.access_token != tokens.access_token
    assert client.userinfo(renewed.access_token)["sub"] == "alice"
    assert account(stack, renewed)["user_id"] == "alice"
    again = client.refresh(renewed)  # the newest one works ...
    assert again.refresh_token != renewed.refresh_token
    with pytest.raises(LoginRequired, match="Log in again"):
        client.refresh(tokens)  # ... the rotated-out one does not


def test_refresh_without_rotation_keeps_the_same_refresh_token(stack, oidc_client, alice):
    client, tokens = login(oidc_client, alice, "openeo-norotate")
    first = client.refresh(tokens)
    second = client.refresh(first)
    assert first.refresh_token == tokens.refresh_token == second.refresh_token
    assert account(stack, second)["user_id"] == "alice"


def test_answer_without_refresh_token_keeps_the_old_one():
    old = TokenSet("a1", time.time() + 10, refresh_token="r1", id_claims={"sub": "alice"})
    merged = old.updated_by(TokenSet.from_response({"access_token": "a2", "expires_in": 30}))
    assert (merged.access_token, merged.refresh_token, merged.user) == ("a2", "r1", {"sub": "alice"})


def test_revoked_refresh_token_requires_login(stack, oidc_client, alice):
    client, tokens = login(oidc_client, alice)
    assert client.revoke(tokens.refresh_token) is True
    with pytest.raises(LoginRequired, match="no longer valid"):
        client.refresh(tokens)


def test_client_credentials_grant(oidc_client):
    tokens = oidc_client("openeo-service", client_secret=SERVICE_SECRET).client_credentials()
    assert tokens.access_token and tokens.refresh_token is None
    with pytest.raises(TokenRequestFailed, match="refused the service login"):
        oidc_client("openeo-service", client_secret="wrong").client_credentials()


def test_client_secret_goes_where_the_provider_metadata_says(oidc_client):
    """A provider listing only client_secret_post gets the secret in the form body, not in HTTP Basic."""
    basic = oidc_client("openeo-service-post", client_secret=SERVICE_SECRET)
    with pytest.raises(TokenRequestFailed, match="refused the service login"):
        basic.client_credentials()  # this client is registered for client_secret_post only
    post_only = dataclasses.replace(basic.metadata, token_endpoint_auth_methods=("client_secret_post",))
    tokens = OidcClient(post_only, "openeo-service-post", client_secret=SERVICE_SECRET).client_credentials()
    assert tokens.access_token and tokens.refresh_token is None


def test_revocation_is_skipped_when_the_provider_offers_none(oidc_client, alice):
    client, tokens = login(oidc_client, alice)
    without = OidcClient(dataclasses.replace(client.metadata, revocation_endpoint=None), "openeo-public")
    assert without.revoke(tokens.refresh_token) is False
    assert client.refresh(tokens).access_token  # nothing was revoked


@pytest.mark.slow  # waits out a token's lifetime
def test_expired_access_token_is_refused_by_the_backend(stack, oidc_client, alice):
    """Expiry comes from local receipt time + expires_in, and the backend stops accepting at that time."""
    _, tokens = login(oidc_client, alice)
    time.sleep(max(0.0, tokens.remaining()) + 1)
    assert tokens.remaining() < 0
    con = openeo.connect(stack.backend.url).authenticate_oidc_access_token(tokens.access_token, provider_id="local")
    with pytest.raises(openeo.rest.OpenEoApiError):
        con.describe_account()


# --- secrets stay secret -----------------------------------------------------------------------------


def test_reprs_and_errors_carry_no_secret(oidc_client, alice):
    client, tokens = login(oidc_client, alice)
    service = oidc_client("openeo-service", client_secret=SERVICE_SECRET)
    shown = " ".join([repr(tokens), str(tokens), repr(client), repr(service)])
    for secret in (tokens.access_token, tokens.refresh_token, SERVICE_SECRET):
        assert secret not in shown
    client.revoke(tokens.refresh_token)
    with pytest.raises(LoginRequired) as err:
        client.refresh(tokens)
    assert tokens.refresh_token not in str(err.value)


def test_password_grant_logs_in_and_refreshes(stack, oidc_client):
    client = oidc_client("openeo-password")
    tokens = client.password("alice", "alice-password")
    assert account(stack, tokens)["user_id"] == "alice"
    assert account(stack, client.refresh(tokens))["user_id"] == "alice"
    with pytest.raises(TokenRequestFailed, match="refused the password login") as err:
        client.password("alice", "not-her-password")
    assert "not-her-password" not in str(err.value) + repr(client)
