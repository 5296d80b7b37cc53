"""The grants (RFC 8628 device flow with RFC 7636 PKCE, RFC 6749 refresh / client credentials / password, RFC 7009
revocation) against canned provider answers: what is sent, and what each answer leads to."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import unquote_plus

import pytest
from canned import ISSUER, METADATA, Clock, client, run

from jupyter_openeo_auth.oidc import (
    BadResponse,
    DeviceCodeExpired,
    FlowNotSupported,
    LoginDenied,
    LoginRequired,
    MalformedTokenResponse,
    ProviderUnavailable,
    TokenRequestFailed,
)
from jupyter_openeo_auth.oidc.grants import (
    DEFAULT_INTERVAL,
    MAX_BACKOFF,
    MAX_CODE_LIFETIME,
    MAX_INTERVAL,
    SLOW_DOWN_STEP,
    DeviceLogin,
    pkce_pair,
)
from jupyter_openeo_auth.oidc.tokens import TokenSet

DEVICE_ANSWER = {
    "device_code": "dc-canary",
    "user_code": "ABCD-EFGH",
    "verification_uri": ISSUER + "/device",
    "verification_uri_complete": ISSUER + "/device?user_code=ABCD-EFGH",
    "expires_in": 600,
    "interval": 2,
}
TOKENS = {"access_token": "at", "refresh_token": "rt", "expires_in": 300, "token_type": "Bearer"}


def device_login(clock: Clock | None = None, secret: str | None = None, pkce: bool = True, **answer) -> DeviceLogin:
    clock = clock or Clock()
    c = client(secret=secret, clock=clock)
    body = {k: v for k, v in {**DEVICE_ANSWER, **answer}.items() if v is not None}
    (body, verifier, started), asked = run(
        c._start_device_authorization(pkce), {METADATA.device_authorization_endpoint: (200, body)}
    )
    return DeviceLogin(c, body, verifier, started)


# --- PKCE (RFC 7636) ------------------------------------------------------------------------------------------


def test_a_pkce_pair_is_s256_of_a_long_random_verifier():
    verifier, challenge = pkce_pair()
    assert 43 <= len(verifier) <= 128 and set(verifier) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
    )
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert challenge == digest and pkce_pair()[0] != verifier


@pytest.mark.parametrize("pkce", [True, False])
def test_the_device_request_carries_a_challenge_only_with_pkce(pkce):
    c = client()
    (_, verifier, _), [request] = run(
        c._start_device_authorization(pkce), {METADATA.device_authorization_endpoint: (200, DEVICE_ANSWER)}
    )
    assert request.method == "POST" and request.url == METADATA.device_authorization_endpoint
    assert request.form["client_id"] == "openeo-public" and request.form["scope"] == "openid"
    assert ("code_challenge" in request.form) is pkce and (verifier is not None) is pkce
    if pkce:
        assert request.form["code_challenge_method"] == "S256"


def test_the_verifier_goes_with_the_poll_never_the_device_request():
    clock = Clock()
    login = device_login(clock)
    clock.advance(2)
    _, [poll] = run(login._poll(), {METADATA.token_endpoint: (400, {"error": "authorization_pending"})})
    assert poll.form["grant_type"] == "urn:ietf:params:oauth:grant-type:device_code"
    assert poll.form["device_code"] == "dc-canary" and len(poll.form["code_verifier"]) >= 43


# --- the device answer (RFC 8628 section 3.2) -----------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value, problem",
    [
        ("user_code", "", "unusable user code"),
        ("user_code", "A" * 65, "unusable user code"),
        ("user_code", "AB\nCD", "unusable user code"),
        ("user_code", "AB\u202eCD", "unusable user code"),
        ("verification_uri", "", "without a usable verification link"),
        ("verification_uri", "https://x/" + "a" * 2048, "without a usable verification link"),
        ("verification_uri", "javascript:alert(1)", r"not an http\(s\) link"),
        ("verification_uri", "data:text/html,hi", r"not an http\(s\) link"),
    ],
)
def test_an_unusable_device_answer_is_refused_with_a_sentence(field, value, problem):
    with pytest.raises(TokenRequestFailed, match=problem) as refused:
        device_login(**{field: value})
    assert "dc-canary" not in refused.value.message


@pytest.mark.parametrize("complete", ["javascript:alert(1)", "https://x/" + "a" * 2048, "", 42])
def test_an_unusable_complete_link_is_left_out_and_the_plain_one_serves(complete):
    login = device_login(verification_uri_complete=complete)
    assert login.verification_uri_complete is None and login.verification_uri == ISSUER + "/device"


def test_the_older_verification_url_name_is_understood():
    login = device_login(verification_uri=None, verification_url=ISSUER + "/activate")
    assert login.verification_uri == ISSUER + "/activate"


@pytest.mark.parametrize(
    "interval, expected",
    [
        (None, DEFAULT_INTERVAL),
        (0, DEFAULT_INTERVAL),
        (-3, DEFAULT_INTERVAL),
        ("x", DEFAULT_INTERVAL),
        (2, 2.0),
        (10**6, MAX_INTERVAL),
    ],
)
def test_the_poll_interval_is_sanitised(interval, expected):
    assert device_login(interval=interval).interval == expected


@pytest.mark.parametrize(
    "expires_in, expected", [(None, 600.0), (0, 600.0), ("soon", 600.0), (120, 120.0), (10**9, MAX_CODE_LIFETIME)]
)
def test_the_code_lifetime_is_sanitised(expires_in, expected):
    clock = Clock()
    assert device_login(clock, expires_in=expires_in).expires_in() == expected


def test_the_repr_of_a_device_login_shows_no_device_code():
    assert "dc-canary" not in repr(device_login()) and "ABCD-EFGH" in repr(device_login())


# --- polling (RFC 8628 section 3.5) ---------------------------------------------------------------------------


def test_no_request_before_the_interval_has_passed():
    clock = Clock()
    login = device_login(clock)
    result, asked = run(login._poll(), {})
    assert result is None and asked == [] and login.seconds_to_next_poll() == 2


def test_pending_waits_one_interval_and_slow_down_adds_five_seconds():
    clock = Clock()
    login = device_login(clock)
    clock.advance(2)
    assert run(login._poll(), {METADATA.token_endpoint: (400, {"error": "authorization_pending"})})[0] is None
    assert login.seconds_to_next_poll() == 2
    clock.advance(2)
    run(login._poll(), {METADATA.token_endpoint: (400, {"error": "slow_down"})})
    assert login.interval == 2 + SLOW_DOWN_STEP and login.seconds_to_next_poll() == 2 + SLOW_DOWN_STEP


@pytest.mark.parametrize(
    "error, raised",
    [
        ("access_denied", LoginDenied),
        ("expired_token", DeviceCodeExpired),
        ("invalid_grant", TokenRequestFailed),
        (None, TokenRequestFailed),
    ],
)
def test_a_final_answer_ends_the_login_with_its_own_error(error, raised):
    clock = Clock()
    login = device_login(clock)
    clock.advance(2)
    with pytest.raises(raised):
        run(login._poll(), {METADATA.token_endpoint: (400, {"error": error} if error else {})})


def test_an_approval_gives_tokens():
    clock = Clock()
    login = device_login(clock)
    clock.advance(2)
    tokens, _ = run(login._poll(), {METADATA.token_endpoint: (200, TOKENS)})
    assert tokens.access_token == "at" and tokens.refresh_token == "rt"


def test_an_expired_code_is_not_polled():
    clock = Clock()
    login = device_login(clock, expires_in=30)
    clock.advance(31)
    with pytest.raises(DeviceCodeExpired):
        run(login._poll(), {})
    assert login.expired


def test_a_provider_that_is_down_backs_off_doubling_up_to_a_minute():
    clock = Clock()
    login = device_login(clock)
    waits = []
    for _ in range(8):
        clock.advance(login.seconds_to_next_poll())
        result, _ = run(login._poll(), {METADATA.token_endpoint: ProviderUnavailable("down")})
        assert result is None and login.last_error == "down"
        waits.append(login.seconds_to_next_poll())
    assert waits[:4] == [2, 4, 8, 16] and max(waits) == MAX_BACKOFF
    clock.advance(login.seconds_to_next_poll())
    run(login._poll(), {METADATA.token_endpoint: (400, {"error": "authorization_pending"})})
    assert login.last_error is None and login.seconds_to_next_poll() == 2  # back to the interval


# --- client authentication (RFC 6749 section 2.3.1) -----------------------------------------------------------


def test_a_public_client_names_itself_in_the_form():
    _, [request] = run(client().token_request({"grant_type": "x"}), lambda r: (200, {}))
    assert request.auth is None and request.form["client_id"] == "openeo-public"


def test_a_confidential_client_uses_http_basic_with_form_encoded_parts():
    secret = "s+e/c%r:et"
    _, [request] = run(client(secret=secret).token_request({"grant_type": "x"}), lambda r: (200, {}))
    assert "client_secret" not in request.form and unquote_plus(request.auth[1]) == secret
    assert request.auth == ("openeo-public", "s%2Be%2Fc%25r%3Aet")


def test_a_provider_that_only_takes_client_secret_post_gets_it_in_the_form():
    c = client(secret="sec", token_endpoint_auth_methods=("client_secret_post",))
    _, [request] = run(c.token_request({"grant_type": "x"}), lambda r: (200, {}))
    assert request.auth is None and request.form["client_secret"] == "sec"


def test_the_form_and_the_secret_never_show_in_a_repr():
    c = client(secret="secret-canary")
    _, [request] = run(c.token_request({"grant_type": "password", "password": "pw-canary"}), lambda r: (200, {}))
    assert "canary" not in repr(request) + repr(c)


# --- refresh, client credentials, password, userinfo, revocation ----------------------------------------------


def test_a_refresh_keeps_the_old_refresh_token_when_none_comes_back():
    old = TokenSet.from_response(TOKENS)
    newer, [request] = run(
        client()._refresh(old), {METADATA.token_endpoint: (200, {"access_token": "at2", "expires_in": 300})}
    )
    assert request.form["refresh_token"] == "rt" and newer.access_token == "at2" and newer.refresh_token == "rt"


def test_a_refused_refresh_token_means_log_in_again():
    with pytest.raises(LoginRequired, match="no longer valid"):
        run(
            client()._refresh(TokenSet.from_response(TOKENS)),
            {METADATA.token_endpoint: (400, {"error": "invalid_grant"})},
        )


def test_without_a_refresh_token_there_is_nothing_to_refresh():
    with pytest.raises(LoginRequired):
        run(client()._refresh(TokenSet("at", None)), {})


def test_client_credentials_need_a_secret():
    with pytest.raises(FlowNotSupported):
        run(client()._client_credentials(), {})
    tokens, [request] = run(client(secret="s")._client_credentials(), {METADATA.token_endpoint: (200, TOKENS)})
    assert request.form["grant_type"] == "client_credentials" and tokens.access_token == "at"


def test_a_refused_password_says_what_the_provider_said():
    with pytest.raises(TokenRequestFailed, match=r"refused the password login \(bad\)"):
        run(
            client()._password("alice", "wrong"),
            {METADATA.token_endpoint: (400, {"error": "invalid_grant", "error_description": "bad"})},
        )


@pytest.mark.parametrize(
    "answer, claims",
    [
        ((200, {"sub": "alice", "name": "A"}), {"sub": "alice", "name": "A"}),
        ((200, {"name": "no sub"}), {}),
        ((401, {}), {}),
        (ProviderUnavailable("The OpenID provider at idp answered HTTP 503; try again later."), {}),
        (BadResponse("idp answered HTTP 404 with text/html instead of JSON.", status=404), {}),
    ],
)
def test_userinfo_counts_only_with_a_subject(answer, claims):
    """Only the name to show: a login stands without it, whatever the userinfo endpoint does."""
    got, [request] = run(client()._userinfo("at"), {METADATA.userinfo_endpoint: answer})
    assert got == claims and request.headers["Authorization"] == "Bearer at"


def test_no_userinfo_endpoint_no_request():
    assert run(client(userinfo_endpoint=None)._userinfo("at"), {}) == ({}, [])


@pytest.mark.parametrize("status, revoked", [(200, True), (400, False), (503, False)])
def test_revocation_says_whether_the_provider_took_it(status, revoked):
    done, [request] = run(client()._revoke("rt", "refresh_token"), {METADATA.revocation_endpoint: (status, {})})
    assert done is revoked and request.form == {
        "token": "rt",
        "token_type_hint": "refresh_token",
        "client_id": "openeo-public",
    }


def test_no_revocation_endpoint_no_request():
    assert run(client(revocation_endpoint=None)._revoke("rt", "refresh_token"), {}) == (False, [])


# --- token answers ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("expires_in", ["soon", -1, float("nan"), float("inf"), True, [], {}])
def test_an_unusable_lifetime_is_a_malformed_answer(expires_in):
    with pytest.raises(MalformedTokenResponse, match="unusable lifetime"):
        TokenSet.from_response({**TOKENS, "expires_in": expires_in})


@pytest.mark.parametrize("access_token", [None, "", 42, ["at"]])
def test_an_answer_without_a_usable_access_token_is_malformed(access_token):
    with pytest.raises(MalformedTokenResponse, match="without a usable access token"):
        TokenSet.from_response({**TOKENS, "access_token": access_token})


def test_lifetimes_count_from_when_the_request_was_sent():
    tokens = TokenSet.from_response({**TOKENS, "refresh_expires_in": 1800}, sent=(1000.0, 50.0))
    assert tokens.expires_at == 1300.0 and tokens.expires_mono == 350.0 and tokens.refresh_expires_at == 2800.0
    assert tokens.lifetime == 300


def test_an_offline_token_without_an_end_has_no_refresh_expiry():
    assert TokenSet.from_response({**TOKENS, "refresh_expires_in": 0}).refresh_expires_at is None


def test_no_lifetime_means_no_expiry_and_the_repr_shows_no_token():
    tokens = TokenSet.from_response({"access_token": "at-canary", "refresh_token": "rt-canary"})
    assert tokens.remaining() == float("inf") and "canary" not in repr(tokens) + str(tokens)


def test_an_id_token_in_the_answer_names_nobody():
    tokens = TokenSet.from_response({**TOKENS, "id_token": "x.eyJzdWIiOiJldmUifQ.y"})
    assert tokens.user == {} and tokens.id_claims == {}
