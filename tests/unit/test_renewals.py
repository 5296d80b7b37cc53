"""A session's timers (broker/renewals.py) on a session stand-in: when the next renewal runs, how failures back
off, what a permanent refusal ends, and what goes on the bus. The event loop runs; no provider is asked."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

from jupyter_openeo_auth.broker.bus import Bus
from jupyter_openeo_auth.broker.login_end import LoginEnd
from jupyter_openeo_auth.broker.renewals import MAX_RETRY_DELAY, RETRY_DELAY, Renewals, SessionSettings
from jupyter_openeo_auth.broker.session_key import SessionKey
from jupyter_openeo_auth.errors import LoginRequired, ProviderUnavailable
from jupyter_openeo_auth.oidc import TokenSet
from jupyter_openeo_auth.wire import EventAction, Flow


def fresh_tokens(lifetime: float = 3600.0) -> TokenSet:
    now = time.time()
    return TokenSet("at", now + lifetime, "rt", issued_at=now, expires_mono=time.monotonic() + lifetime)


@dataclass
class StandIn:
    """What renewals read of a session."""

    key: SessionKey = SessionKey("https://be.example/openeo/1.2", "egi", Flow.DEVICE, "")
    backend_url: str = "https://be.example"
    client: SimpleNamespace = field(
        default_factory=lambda: SimpleNamespace(metadata=SimpleNamespace(issuer="https://idp"))
    )
    tokens: TokenSet = field(default_factory=fresh_tokens)
    ended: bool = False
    login_required: str | None = None
    login_end: LoginEnd = field(default_factory=LoginEnd)
    user: dict = field(default_factory=lambda: {"sub": "alice"})
    who: str = "alice"
    refreshed: int = 0

    async def refresh(self) -> TokenSet:
        self.refreshed += 1
        return self.tokens


def renewals(session: StandIn, heard: list) -> Renewals:
    bus = Bus(logging.getLogger("test.renewals"))
    bus.subscribe(heard.append)
    return Renewals(session, SessionSettings(refresh_margin=300), logging.getLogger("test.renewals"), bus)


def run(coroutine_function):
    return asyncio.run(coroutine_function())


def test_the_next_renewal_runs_a_margin_before_expiry():
    async def go():
        timers = renewals(StandIn(), [])
        timers.schedule()
        assert timers.retry_delay == pytest.approx(3600 - 300, abs=2) and timers.retry_at is None
        timers.stop()

    run(go)


def test_passing_trouble_retries_with_growing_gaps_and_honours_retry_after():
    async def go():
        timers = renewals(StandIn(), [])
        gaps = []
        for _ in range(8):
            timers.failed(ProviderUnavailable("The provider is down."))
            gaps.append(timers.retry_delay)
        assert gaps == [RETRY_DELAY * 2**n for n in range(6)] + [MAX_RETRY_DELAY] * 2
        assert timers.waiting_to_retry() and "tries again in" in timers.retry_later().message
        asked = ProviderUnavailable("Slow down.")
        asked.retry_after = 1200
        timers.failed(asked)
        assert timers.retry_delay == 1200  # what the provider asked for, beyond the back-off
        timers.stop()

    run(go)


def test_a_permanent_refusal_ends_renewals_with_a_sentence_and_an_event():
    async def go():
        session, heard = StandIn(), []
        timers = renewals(session, heard)
        timers.schedule()
        timers.failed(LoginRequired("The provider revoked the login."))
        assert session.login_required == "The provider revoked the login." and timers.timer is None
        [event] = heard
        assert event.action is EventAction.SESSION_ENDED and event.fields["state"] == "login_required"

    run(go)


def test_a_renewal_after_failures_resets_the_gaps_and_is_announced_with_its_expiry(caplog):
    async def go():
        session, heard = StandIn(), []
        timers = renewals(session, heard)
        timers.failed(ProviderUnavailable("The provider is down."))
        session.tokens = fresh_tokens(600)
        with caplog.at_level(logging.INFO):
            timers.succeeded(session.tokens)
        assert timers.failures == 0 and timers.retry_at is None
        assert timers.retry_delay == pytest.approx(400, abs=2)  # a third of a short lifetime before its end
        [event] = heard
        assert event.action is EventAction.SESSION_RENEWED
        assert event.fields["access_expires_at"] == session.tokens.expires_at
        assert "works again" in caplog.text
        timers.stop()

    run(go)


def test_an_ended_session_plans_nothing():
    async def go():
        session = StandIn(ended=True)
        timers = renewals(session, [])
        timers.schedule()
        timers.failed(ProviderUnavailable("The provider is down."))
        assert timers.timer is None and timers.failures == 0

    run(go)
