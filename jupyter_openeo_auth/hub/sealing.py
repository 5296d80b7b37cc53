"""The key of each user's sealed logins (see broker/sealed.py): derived on the hub from its secret and the user's
name, handed to the user's server in its environment at spawn, never stored on any volume."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from typing import Any

# STORE_KEY_ENV: where the user's server finds its key; the server takes it out of its environment at start
# (kernels and terminals do not inherit it) and seals logins with it (jupyter_openeo_auth.broker.sealed).
from ..wire import STORE_KEY_ENV

#: The hub's secret from which each user's key for sealed logins is derived (64 hex digits).
HUB_SECRET_ENV = "JUPYTER_OPENEO_AUTH_HUB_SECRET"


def store_key(secret_hex: str, username: str) -> str:
    """The Fernet key of `username`'s sealed logins: HMAC-SHA256 of the name under the hub's secret. The same
    at every spawn of that user's server; another user's differs; nothing of it is stored on any volume."""
    try:
        secret = bytes.fromhex(secret_hex)
    except ValueError:
        secret = b""
    if len(secret) < 32:
        raise ValueError(f"{HUB_SECRET_ENV} must be at least 64 hex digits: openssl rand -hex 32")
    return base64.urlsafe_b64encode(hmac.new(secret, username.encode(), hashlib.sha256).digest()).decode()


def store_key_hook(spawner: Any) -> None:
    """`Spawner.pre_spawn_hook`: give the user's server the key that seals its openEO logins on the user's
    volume, so that device and password logins survive a cull or restart while a copy of the volume reveals
    nothing. The hub needs `JUPYTER_OPENEO_AUTH_HUB_SECRET` (openssl rand -hex 32) in its environment."""
    secret = os.environ.get(HUB_SECRET_ENV, "")
    spawner.environment = {**spawner.environment, STORE_KEY_ENV: store_key(secret, spawner.user.name)}
