"""A login in progress: the state machine pending -> logged_in | denied | expired | failed | cancelled."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from typing import Any

from ..oidc import AsyncDeviceAuthorization, OpenEOAuthError
from ..wire import LoginState, Reason
from .sessions import SessionKey

#: Which end state an error of the OIDC core leads to.
STATE_OF_REASON: dict[str, LoginState] = {Reason.DENIED: LoginState.DENIED, Reason.EXPIRED: LoginState.EXPIRED}


class Login:
    """One login attempt. A device login holds its `AsyncDeviceAuthorization` (and so the device code and PKCE
    verifier) only while pending; `to_json()` shows what the user needs and nothing secret."""

    def __init__(self, key: SessionKey, backend_url: str, auth: AsyncDeviceAuthorization | None = None):
        self.id = secrets.token_urlsafe(12)
        self.key = key
        self.backend_url = backend_url
        self.auth = auth
        self.state = LoginState.PENDING
        self.message: str | None = None
        self.user: dict | None = None
        self.finished_at: float | None = None
        self.timer: asyncio.TimerHandle | None = None  # the next poll
        #: Called with the login once it has ended (the broker announces it).
        self.on_finish: Callable[[Login], None] | None = None
        #: Who started or asked about it, and when last (monotonic): "kernel:ID" for a kernel of the server,
        #: "elsewhere" for JupyterLab, the CLI or a script. Never shown.
        self.waiters: dict[str, float] = {}

    def __repr__(self) -> str:
        return f"<Login {self.id} {self.backend_url} {self.state.value}>"

    @property
    def pending(self) -> bool:
        return self.state is LoginState.PENDING

    def finish(self, state: LoginState, message: str | None = None, user: dict | None = None) -> None:
        """Move to an end state; the device code and verifier are dropped with the authorization."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.state, self.message, self.user = state, message, user
        self.finished_at = time.monotonic()
        self.auth = None
        if self.on_finish is not None:
            self.on_finish(self)

    def followed_by(self, caller: str) -> None:
        """`caller` started this login or asked how it stands."""
        self.waiters[caller] = time.monotonic()

    def waited_for(self, within: float) -> bool:
        """Has anyone asked about it within the last `within` seconds?"""
        return any(seen > time.monotonic() - within for seen in self.waiters.values())

    def fail(self, error: OpenEOAuthError) -> None:
        """End with the state and sentence that belong to this error."""
        self.finish(STATE_OF_REASON.get(error.reason, LoginState.FAILED), error.message)

    def to_json(self) -> dict:
        """The REST representation."""
        out: dict[str, Any] = {
            "id": self.id,
            "state": self.state.value,
            "backend": self.backend_url,
            "provider_id": self.key.provider_id,
            "flow": self.key.flow,
        }
        if self.auth is not None:
            out.update(
                user_code=self.auth.user_code,
                verification_uri=self.auth.verification_uri,
                expires_at=time.time() + self.auth.expires_in(),
                interval=self.auth.interval,
            )
            if self.auth.verification_uri_complete:
                out["verification_uri_complete"] = self.auth.verification_uri_complete
            if self.auth.last_error:
                out["message"] = f"Still waiting; the provider is not answering right now: {self.auth.last_error}"
        if self.message:
            out["message"] = self.message
        if self.user is not None:
            out["user"] = self.user
        return out
