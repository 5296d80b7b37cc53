"""The OIDC core and the broker against answers a real provider will not give: a small real HTTP server on
127.0.0.1 (tests/faults.py) sends them."""

from __future__ import annotations

import logging
import time

import pytest
from keyrings import FileKeyring

from jupyter_openeo_auth.broker import KeyringStore, Session, SessionKey, SessionSettings
from jupyter_openeo_auth.broker.store import MAX_ENTRY
from jupyter_openeo_auth.oidc import (
    AsyncHttpClient,
    AsyncOidcClient,
    BadResponse,
    HttpClient,
    IssuerCache,
    IssuerMetadata,
    LoginRequired,
    OidcClient,
    ProviderUnavailable,
    TokenSet,
)
from jupyter_openeo_auth.oidc.transport import post_form

pytestmark = pytest.mark.real


def client(faults, token_path="/html502", http=None, **endpoints):
    """A client of the fault server's provider: the awaited face with an `AsyncHttpClient`, else the blocking one."""
    meta = IssuerMetadata(
        issuer=faults.url, token_endpoint=faults.url + token_path, **{k: faults.url + v for k, v in endpoints.items()}
    )
    if isinstance(http, AsyncHttpClient):
        return AsyncOidcClient(meta, "fault-client", http=http)
    return OidcClient(meta, "fault-client", http=http or HttpClient(timeout=5))


# --- transport bounds ---------------------------------------------------------------------------------------


def test_a_dribbling_answer_is_cut_off_at_the_deadline_blocking(faults):
    started = time.monotonic()
    with pytest.raises(ProviderUnavailable, match="did not answer within 1.5 s"):
        HttpClient(timeout=1.5).send(post_form(faults.url + "/dribble", {"grant_type": "refresh_token"}))
    assert time.monotonic() - started < 3  # one byte every 0.5 s would have taken 50 s


async def test_a_dribbling_answer_is_cut_off_at_the_deadline_async(faults):
    http = AsyncHttpClient(timeout=1.5)
    started = time.monotonic()
    with pytest.raises(ProviderUnavailable, match="did not answer within 1.5 s"):
        await http.send(post_form(faults.url + "/dribble", {"grant_type": "refresh_token"}))
    assert time.monotonic() - started < 2.5
    await http.aclose()


async def test_a_redirect_on_a_post_with_credentials_is_not_followed(faults):
    before = faults.hits["/echo"]
    with pytest.raises(BadResponse, match="redirect .* not followed"):
        client(faults, "/redirect").refresh(TokenSet("", 0.0, refresh_token="canary-refresh-token"))
    http = AsyncHttpClient(timeout=5)
    with pytest.raises(BadResponse, match="redirect .* not followed"):
        await client(faults, "/redirect", http=http).password("alice", "canary-password")
    assert faults.hits["/echo"] == before  # the credentials never went to the redirect's target
    await http.aclose()


# --- provider values ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, interval, lifetime",
    [
        ("/device-no-interval", 5, 600),
        ("/device-interval-zero", 5, 600),
        ("/device-interval-negative", 5, 600),
        ("/device-interval-absurd", 60, 1800),
        ("/device-interval-text", 5, 600),
    ],
)
def test_device_answers_are_sanitised(faults, path, interval, lifetime):
    auth = client(faults, device_authorization_endpoint=path).start_device_authorization()
    assert auth.interval == interval
    assert lifetime - 2 < auth.expires_in() <= lifetime


def test_a_malformed_token_lifetime_is_a_typed_transient_error(faults):
    with pytest.raises(BadResponse, match="unusable lifetime") as err:
        client(faults, "/token-bad-expiry").password("alice", "alice-password")
    assert err.value.status == 502 and err.value.transient


def test_a_host_clock_jump_neither_ends_nor_stalls_a_device_login(faults, monkeypatch):
    auth = client(faults, device_authorization_endpoint="/device-no-interval").start_device_authorization()
    tokens = TokenSet.from_response({"access_token": "a", "expires_in": 300})
    real = time.time
    for jump in (+600, -600):
        monkeypatch.setattr(time, "time", lambda jump=jump: real() + jump)
        assert not auth.expired and 590 < auth.expires_in() <= 600
        assert 0 < auth.seconds_to_next_poll() <= 5
        assert 295 < tokens.remaining() <= 300


# --- metadata from other providers ------------------------------------------------------------------------


@pytest.mark.parametrize("issuer", ["/split", "/split2"])
def test_endpoints_only_in_rfc8414_metadata_are_found(faults, issuer):
    meta = IssuerCache().get(faults.url + issuer)
    assert meta.device_authorization_endpoint == faults.url + "/device-no-interval"
    assert meta.revocation_endpoint == faults.url + "/revoke-refuses"


async def test_providers_lists_only_the_flows_the_issuer_offers(api, faults):
    code, data = await api.get("providers", backend=f"{faults.url}/be/nodevice-1")
    assert code == 200 and data["providers"][0]["flows"] == []  # its back-end says device; the issuer has none
    code, data = await api.post("logins", backend=f"{faults.url}/be/nodevice-1")
    assert code == 400 and "does not offer the device login flow" in data["message"]


# --- background renewal ---------------------------------------------------------------------------------------


def session_at(faults, token_path: str, caplog) -> Session:
    http = AsyncHttpClient(timeout=5)
    oidc = client(faults, token_path, http=http)
    tokens = TokenSet("fault", expires_at=time.time() + 3600, refresh_token="r", expires_mono=time.monotonic() + 3600)
    key = SessionKey("http://backend", "p", "device", "")
    return Session(
        key, "http://backend", oidc, tokens, oidc.refresh, SessionSettings(), logging.getLogger("test.renew")
    )


async def test_failing_renewals_back_off_and_warn_once_per_streak(faults, caplog):
    caplog.set_level(logging.DEBUG, "test.renew")
    session = session_at(faults, "/html502", caplog)
    delays = []
    for _ in range(8):
        with pytest.raises(ProviderUnavailable):
            await session.refresh()
        delays.append(session.renewals.retry_delay)
    assert delays == [5, 10, 20, 40, 80, 160, 300, 300]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "retrying later" in warnings[0].getMessage()
    session.renewals.cancel()


@pytest.mark.parametrize("path", ["/busy", "/rate-limited"])
async def test_retry_after_is_honoured(faults, caplog, path):
    session = session_at(faults, path, caplog)
    with pytest.raises(ProviderUnavailable):
        await session.refresh()
    assert (
        session.renewals.retry_delay == pytest.approx(120, abs=1) and not session.login_required
    )  # passing, not permanent
    session.renewals.cancel()


async def test_a_permanent_refusal_stops_renewals_with_a_sentence(faults, caplog):
    session = session_at(faults, "/refuses-client", caplog)
    with pytest.raises(LoginRequired, match="unknown client.*Log in again"):
        await session.access_token(min_valid=7200)
    assert session.login_required and session.renewals.timer is None
    hits = faults.hits["/refuses-client"]
    with pytest.raises(LoginRequired):
        await session.access_token(min_valid=7200)
    assert faults.hits["/refuses-client"] == hits  # not asked again


# --- the keyring ------------------------------------------------------------------------------------------------


async def test_a_keyring_that_timed_out_once_is_not_asked_again(tmp_path, caplog):
    caplog.set_level(logging.INFO, "test.hung")
    ring = FileKeyring(tmp_path / "k.json", hang_seconds=2)
    store = KeyringStore(ring, logging.getLogger("test.hung"), timeout=0.2, lock_dir=tmp_path)
    calls = []
    ring.set_password = lambda *a: (calls.append(a), time.sleep(2))
    started = time.monotonic()
    for i in range(6):
        await store.save(f"s{i}", {"refresh_token": "x"})
    assert time.monotonic() - started < 1 and len(calls) == 1 and not store.persistent
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "memory only from now on" in warnings[0]


async def test_an_entry_too_large_for_a_windows_keyring_stays_in_memory(tmp_path, caplog):
    caplog.set_level(logging.INFO, "test.big")
    ring = FileKeyring(tmp_path / "k.json")
    store = KeyringStore(ring, logging.getLogger("test.big"), lock_dir=tmp_path)
    await store.save("big", {"refresh_token": "x" * MAX_ENTRY})
    await store.save("small", {"refresh_token": "y"})
    assert [r["refresh_token"] for r in await store.load()] == ["y"]
    assert any("too large for the keyring" in r.getMessage() for r in caplog.records)


async def test_a_web_page_at_the_address_is_not_an_openeo_backend(api, faults):
    """A JupyterLab or a portal answers HTML with HTTP 200: say it is not a back-end, not "under maintenance"."""
    code, data = await api.get("providers", backend=faults.url + "/maintenance")
    assert code == 400 and data["reason"] == "not_openeo"
    assert "answered with a web page" in data["message"] and "under maintenance" not in data["message"]
