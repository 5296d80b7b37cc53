"""One bus for what happens to logins and sessions. The broker's rooms and a session's renewals publish; the
server's event stream (and tests) subscribe. A room tells what happened here instead of calling back up into
the broker, so following a login never leads back into a room already left."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..wire import EventAction
from .session_key import SessionKey


@dataclass(frozen=True)
class Event:
    """One thing that happened: never a token, a code or a secret in it."""

    action: EventAction
    key: SessionKey
    backend_url: str
    #: What the action says besides (state, user, login_id, access_expires_at, login_expires_at).
    fields: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The event as server/events/session.yaml describes it (empty fields left out)."""
        event = {
            "action": self.action.value,
            "backend": self.backend_url,
            "provider_id": self.key.provider_id,
            "flow": str(self.key.flow),
        }
        event.update({k: v for k, v in self.fields.items() if v not in (None, "")})
        return event


Listener = Callable[[Event], None]


class Bus:
    """Listeners are called in order; one listener's trouble is logged and never stops a login."""

    def __init__(self, log: logging.Logger):
        self._log = log
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def publish(self, action: EventAction, key: SessionKey, backend_url: str, **fields: Any) -> None:
        event = Event(action, key, backend_url, fields)
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - a listener's trouble must not end a login
                self._log.exception("Announcing an openEO %s event failed.", action.value)
