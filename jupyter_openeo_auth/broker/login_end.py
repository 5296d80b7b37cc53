"""When a login ends, however often it is renewed. Providers limit how long one login lives, apart from the
access token: every Keycloak realm has an "SSO session max", and Keycloak says in `refresh_expires_in` of each
token answer how long the refresh token lives, never longer than what is left of the session. While renewals
reset that life to the same idle time, the end is unknown; once a renewal gives a shorter life than before,
the session maximum is near and the refresh token's expiry is the end of the login."""

from __future__ import annotations

import time

from ..oidc import TokenSet

#: A refresh token's life shorter than the longest seen by more than this (seconds) means the end is near.
SLACK = 2.0
#: Warn this long before the end at most (seconds), or a tenth of the login's life when that is shorter.
WARN_BEFORE = 600.0


class LoginEnd:
    """What is known about the end of one login: `expires_at` (epoch seconds), None while unknown."""

    def __init__(self, started_at: float | None = None):
        self.started_at = time.time() if started_at is None else started_at
        self.expires_at: float | None = None
        self.warned = False
        self._longest = 0.0

    def __repr__(self) -> str:
        return f"<LoginEnd {'unknown' if self.expires_at is None else time.ctime(self.expires_at)}>"

    def note(self, tokens: TokenSet) -> bool:
        """Learn from a token answer; True when the end became known (or moved)."""
        life, expires = tokens.refresh_lifetime, tokens.refresh_expires_at
        if life is None or expires is None:
            return False
        self._longest = max(self._longest, life)
        if life >= self._longest - SLACK:
            return False
        if self.expires_at is not None and abs(expires - self.expires_at) <= 1:
            return False  # the same end, give or take the rounding of `refresh_expires_in`: keep the one planned
        self.expires_at = expires
        return True

    def warn_at(self) -> float | None:
        """When to say that the login ends soon: ten minutes before, or a tenth of its life when shorter."""
        if self.expires_at is None:
            return None
        return self.expires_at - min(WARN_BEFORE, (self.expires_at - self.started_at) / 10)

    def ending(self) -> bool:
        """Is the end near (inside the warning window, or said to be)?"""
        warn_at = self.warn_at()
        return self.warned or (warn_at is not None and time.time() >= warn_at)
