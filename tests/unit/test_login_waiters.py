"""Who still waits for a pending login (issue 29): a kernel that stops waiting (interrupted, restarted, dead)
cancels it unless someone else asked about it lately; an explicit Cancel cancels it whoever waits. The broker's
rules on a clock the test moves."""

from __future__ import annotations

import pytest
from canned import Clock

import jupyter_openeo_auth.broker.logins as logins_module
from jupyter_openeo_auth.broker import TokenBroker
from jupyter_openeo_auth.broker.logins import Login
from jupyter_openeo_auth.broker.session_key import SessionKey
from jupyter_openeo_auth.broker.token_broker import STILL_WAITING
from jupyter_openeo_auth.errors import OpenEOAuthError
from jupyter_openeo_auth.wire import Flow, LoginState

GONE = "The kernel that waited for this login was restarted or shut down, so it was cancelled."


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(logins_module.time, "monotonic", clock)
    return clock


@pytest.fixture
def broker() -> TokenBroker:
    return TokenBroker()


def pending(broker: TokenBroker, *callers: str) -> Login:
    """A pending login (as the runner keeps one) that these callers started or asked about just now."""
    login = broker.runner.new(SessionKey("https://be.example/openeo/1.2", "egi", Flow.DEVICE, ""), "https://be.example")
    broker.runner.logins[login.id] = login
    for caller in callers:
        login.followed_by(caller)
    return login


def gone_message(broker: TokenBroker, login: Login) -> str:
    with pytest.raises(OpenEOAuthError) as gone:
        broker.login(login.id)
    assert gone.value.reason == "cancelled"
    return gone.value.message


def test_a_restarted_kernel_cancels_the_login_it_alone_waited_for(broker, clock):
    login = pending(broker, "kernel:k1")
    assert broker.kernel_gone("k1") == [login]
    assert login.state is LoginState.CANCELLED and gone_message(broker, login) == GONE


def test_the_login_stays_while_the_dialog_still_asks_about_it(broker, clock):
    login = pending(broker, "kernel:k1", "elsewhere")
    assert broker.kernel_gone("k1") == [] and login.pending and "kernel:k1" not in login.waiters
    clock.advance(STILL_WAITING + 1)  # the dialog was closed: nobody asked since
    login.followed_by("kernel:k2")
    clock.advance(1)
    assert broker.kernel_gone("k2") == [login]


def test_another_kernels_restart_leaves_it_alone(broker, clock):
    login = pending(broker, "kernel:k1")
    assert broker.kernel_gone("k2") == [] and login.pending


def test_a_login_that_ended_is_not_touched(broker, clock):
    login = pending(broker, "kernel:k1")
    login.finish(LoginState.DENIED, "denied")
    assert broker.kernel_gone("k1") == [] and login.state is LoginState.DENIED


@pytest.mark.parametrize("others, cancelled", [((), True), (("elsewhere",), False), (("kernel:k2",), False)])
def test_an_interrupted_kernel_stops_waiting(broker, clock, others, cancelled):
    login = pending(broker, "kernel:k1", *others)
    answer = broker.cancel_login(login.id, leaving="kernel:k1")
    assert (answer.state is LoginState.CANCELLED) is cancelled and "kernel:k1" not in login.waiters


def test_someone_who_asked_long_ago_no_longer_counts(broker, clock):
    login = pending(broker, "elsewhere")
    clock.advance(STILL_WAITING + 1)
    login.followed_by("kernel:k1")
    assert broker.cancel_login(login.id, leaving="kernel:k1").state is LoginState.CANCELLED


def test_an_explicit_cancel_cancels_whoever_waits(broker, clock):
    login = pending(broker, "kernel:k1", "elsewhere")
    assert broker.cancel_login(login.id).state is LoginState.CANCELLED
    assert gone_message(broker, login) == "The login was cancelled."


def test_waiters_are_never_shown():
    login = Login(SessionKey("https://be", "egi", Flow.DEVICE, ""), "https://be")
    login.followed_by("kernel:secret-kernel-id")
    assert "secret-kernel-id" not in str(login.to_json()) + repr(login)
