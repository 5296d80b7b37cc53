"""When a login ends, from the token answers alone (no process of its own: part of the fast layer)."""

from __future__ import annotations

import time

from jupyter_openeo_auth.broker.login_end import LoginEnd
from jupyter_openeo_auth.oidc import TokenSet


def answer(at: float, refresh_expires_in: float) -> TokenSet:
    body = {"access_token": "a", "expires_in": 20, "refresh_token": "r", "refresh_expires_in": refresh_expires_in}
    return TokenSet.from_response(body, sent=(at, time.monotonic()))


def test_the_end_is_known_once_the_refresh_tokens_life_stops_growing_and_stays_put():
    began = time.time()
    end = LoginEnd(started_at=began)
    assert not end.note(answer(began, 60)) and not end.note(answer(began + 19, 60))  # idle time reset: unknown
    assert end.note(answer(began + 150, 30)) and end.expires_at == began + 180
    # Keycloak rounds what is left to whole seconds: a renewal a moment later gives the same end, not a new plan.
    assert not end.note(answer(began + 169.6, 11)) and end.expires_at == began + 180
    assert end.warn_at() == began + 180 - 18  # a tenth of the login's life before the end (ten minutes at most)


def test_once_warned_the_login_says_it_is_ending():
    end = LoginEnd(started_at=time.time())
    end.note(answer(time.time(), 600))
    end.note(answer(time.time(), 500))
    assert not end.ending()  # the warning window opens in about 7 minutes
    end.warned = True  # the session's timer said so
    assert end.ending()
