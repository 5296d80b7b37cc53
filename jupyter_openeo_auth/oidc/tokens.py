"""`TokenSet`: what a token request returns, and how fresh it still is."""

from __future__ import annotations

import base64
import json
import math
import time
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import MalformedTokenResponse


def decode_claims(jwt: str | None) -> dict:
    """The claims of a JWT, decoded WITHOUT verifying it: a hint of where to ask (the hub's `iss`), never who
    someone is. Who logged in comes from the provider's userinfo endpoint (`TokenSet.id_claims`)."""
    if not jwt or jwt.count(".") != 2:
        return {}
    payload = jwt.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return {}
    return claims if isinstance(claims, dict) else {}


def _seconds(value: Any) -> float | None:
    """A lifetime in seconds from a JSON value: a finite, non-negative number (or numeric string), else None."""
    if isinstance(value, bool):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


@dataclass(frozen=True, repr=False)
class TokenSet:
    """Tokens from one token response. `expires_at` (epoch seconds, for people and the REST API) is local
    send time + `expires_in`, so a skewed host clock does not matter; `expires_mono` (monotonic clock) is what
    decisions use, so a jump of the host's clock does not either. repr/str never show a token."""

    access_token: str
    expires_at: float | None
    refresh_token: str | None = None
    #: Who the tokens belong to, from a verified source only: the userinfo endpoint of the issuer whose metadata
    #: named itself (see `discovery.check_issuer`), asked with the access token. An id token in a token answer
    #: is not decoded: unverified, its claims could name anyone.
    id_claims: dict = field(default_factory=dict)
    scope: str = ""
    issued_at: float | None = None
    expires_mono: float | None = None
    #: How long the refresh token lives unused, when the provider says (Keycloak's `refresh_expires_in`, or
    #: `refresh_token_expires_in`; RFC 6749 has neither): seconds from `issued_at`.
    refresh_lifetime: float | None = None

    @classmethod
    def from_response(cls, body: dict, sent: tuple | None = None, source: str = "The provider") -> TokenSet:
        """Build from a token endpoint's JSON answer to a request sent at `sent` = (wall time, monotonic
        time), default now. Raises `MalformedTokenResponse` (naming `source`) for unusable fields."""
        received_at, received_mono = sent or (time.time(), time.monotonic())
        expires_in = body.get("expires_in")
        lifetime = _seconds(expires_in)
        refresh_token = body.get("refresh_token")
        if not isinstance(body.get("access_token"), str) or not body["access_token"]:
            raise MalformedTokenResponse(
                f"{source} answered a token request without a usable access token. Try again later."
            )
        if expires_in is not None and lifetime is None:
            raise MalformedTokenResponse(
                f"{source} answered a token request with an unusable lifetime (expires_in={str(expires_in)[:20]!r}). "
                "Try again later; tell the provider's operators if it persists."
            )
        refresh_life = _seconds(body.get("refresh_expires_in", body.get("refresh_token_expires_in")))
        return cls(
            refresh_lifetime=refresh_life or None,  # Keycloak says 0 for an offline token: no end it knows
            access_token=body["access_token"],
            expires_at=received_at + lifetime if lifetime is not None else None,
            expires_mono=received_mono + lifetime if lifetime is not None else None,
            refresh_token=refresh_token if isinstance(refresh_token, str) and refresh_token else None,
            scope=str(body.get("scope", "")),
            issued_at=received_at,
        )

    @property
    def lifetime(self) -> float:
        """How long the access token was valid when it was issued (infinite when unknown)."""
        if self.expires_at is None or self.issued_at is None:
            return float("inf")
        return self.expires_at - self.issued_at

    @property
    def refresh_expires_at(self) -> float | None:
        """When the refresh token lapses if unused (epoch seconds), when the provider said."""
        if self.refresh_lifetime is None or self.issued_at is None:
            return None
        return self.issued_at + self.refresh_lifetime

    def remaining(self) -> float:
        """Seconds until the access token expires (infinite when the provider gave no lifetime)."""
        if self.expires_at is None:
            return float("inf")
        if self.expires_mono is not None:
            return self.expires_mono - time.monotonic()
        return self.expires_at - time.time()

    def updated_by(self, newer: TokenSet) -> TokenSet:
        """Merge a refresh answer: the newest refresh token wins; the old one stays when none came back."""
        kept = newer.refresh_token is None  # the old refresh token goes on, with its own life
        return replace(
            newer,
            refresh_token=newer.refresh_token or self.refresh_token,
            id_claims=newer.id_claims or self.id_claims,
            refresh_lifetime=newer.refresh_lifetime
            if not kept
            else (None if self.refresh_expires_at is None else self.refresh_expires_at - (newer.issued_at or 0)),
        )

    def with_refresh_token(self, refresh_token: str) -> TokenSet:
        """The same tokens with another refresh token (one that another process stored)."""
        return replace(self, refresh_token=refresh_token)

    @property
    def user(self) -> dict:
        """Who the tokens belong to, from the id token: `sub` and, when present, `name` and `email`."""
        return {k: self.id_claims[k] for k in ("sub", "name", "email") if k in self.id_claims}

    def __repr__(self) -> str:
        left = self.remaining()
        expiry = "no expiry" if left == float("inf") else f"expires in {left:.0f} s"
        return f"<TokenSet {expiry}, refreshable={self.refresh_token is not None}, user={self.user.get('sub')!r}>"

    __str__ = __repr__
