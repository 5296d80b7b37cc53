"""`TokenSet`: what a token request returns, and how fresh it still is."""

from __future__ import annotations

import base64
import enum
import json
import time
from dataclasses import dataclass, field, replace
from typing import Optional


class Freshness(enum.Enum):
    """FRESH: use it. STALE: still valid but inside the refresh margin. INVALID: expired."""

    FRESH = "fresh"
    STALE = "stale"
    INVALID = "invalid"


def decode_claims(jwt: Optional[str]) -> dict:
    """The claims of a JWT, decoded WITHOUT verifying it: for display only (name, email), never for trust."""
    if not jwt or jwt.count(".") != 2:
        return {}
    payload = jwt.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return {}
    return claims if isinstance(claims, dict) else {}


@dataclass(frozen=True, repr=False)
class TokenSet:
    """Tokens from one token response. `expires_at` is local receipt time + `expires_in`, so a skewed
    host clock does not matter. repr/str never show a token."""

    access_token: str
    expires_at: Optional[float]
    refresh_token: Optional[str] = None
    id_claims: dict = field(default_factory=dict)
    scope: str = ""
    issued_at: Optional[float] = None

    @classmethod
    def from_response(cls, body: dict, received_at: Optional[float] = None) -> "TokenSet":
        """Build from a token endpoint's JSON answer, received at `received_at` (default: now)."""
        received_at = time.time() if received_at is None else received_at
        expires_in = body.get("expires_in")
        return cls(
            access_token=body["access_token"],
            expires_at=received_at + float(expires_in) if expires_in is not None else None,
            refresh_token=body.get("refresh_token"),
            id_claims=decode_claims(body.get("id_token")),
            scope=body.get("scope", ""),
            issued_at=received_at,
        )

    @property
    def lifetime(self) -> float:
        """How long the access token was valid when it was issued (infinite when unknown)."""
        if self.expires_at is None or self.issued_at is None:
            return float("inf")
        return self.expires_at - self.issued_at

    def remaining(self, now: Optional[float] = None) -> float:
        """Seconds until the access token expires (infinite when the provider gave no lifetime)."""
        if self.expires_at is None:
            return float("inf")
        return self.expires_at - (time.time() if now is None else now)

    def freshness(self, margin: float, now: Optional[float] = None) -> Freshness:
        """FRESH when valid for more than `margin` seconds, STALE when valid for less, INVALID when expired."""
        left = self.remaining(now)
        if left <= 0:
            return Freshness.INVALID
        return Freshness.FRESH if left > margin else Freshness.STALE

    def updated_by(self, newer: "TokenSet") -> "TokenSet":
        """Merge a refresh answer: the newest refresh token wins; the old one stays when none came back."""
        return replace(
            newer,
            refresh_token=newer.refresh_token or self.refresh_token,
            id_claims=newer.id_claims or self.id_claims,
        )

    @property
    def user(self) -> dict:
        """Who the tokens belong to, from the id token: `sub` and, when present, `name` and `email`."""
        return {k: self.id_claims[k] for k in ("sub", "name", "email") if k in self.id_claims}

    def __repr__(self) -> str:
        left = self.remaining()
        expiry = "no expiry" if left == float("inf") else f"expires in {left:.0f} s"
        return f"<TokenSet {expiry}, refreshable={self.refresh_token is not None}, user={self.user.get('sub')!r}>"

    __str__ = __repr__
