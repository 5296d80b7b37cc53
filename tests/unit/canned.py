"""Canned answers at the HTTP seam: drive the OIDC core's protocol exchanges (generators that yield requests and
receive `(status, body)`) without a socket, and a clock the test moves by hand."""

from __future__ import annotations

from collections.abc import Callable

from jupyter_openeo_auth.oidc.discovery import IssuerMetadata
from jupyter_openeo_auth.oidc.grants import OidcClient

ISSUER = "https://idp.example.org/realms/openeo"
METADATA = IssuerMetadata(
    issuer=ISSUER,
    token_endpoint=ISSUER + "/token",
    device_authorization_endpoint=ISSUER + "/device",
    revocation_endpoint=ISSUER + "/revoke",
    userinfo_endpoint=ISSUER + "/userinfo",
)


def run(exchange, answers: dict | Callable):
    """Drive an exchange: each request it yields is answered from `answers` by URL ((status, body), or an error
    the transport would raise), or by calling `answers(request)`; returns its result and the requests made."""
    asked = []
    try:
        request = next(exchange)
        while True:
            asked.append(request)
            answer = answers(request) if callable(answers) else answers.get(request.url, (404, {}))
            request = exchange.throw(answer) if isinstance(answer, Exception) else exchange.send(answer)
    except StopIteration as done:
        return done.value, asked


class Clock:
    """A monotonic clock that moves only when told."""

    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def client(secret: str | None = None, clock: Clock | None = None, **metadata) -> OidcClient:
    """A client of the canned issuer (its blocking face is never run: the exchanges are driven by `run`)."""
    meta = IssuerMetadata(**{**METADATA.__dict__, **metadata})
    return OidcClient(meta, "openeo-public", client_secret=secret, clock=clock or Clock())
