"""What a session is keyed by, and the non-secret name its record has in a store."""

from __future__ import annotations

import hashlib
import json
from typing import NamedTuple


class SessionKey(NamedTuple):
    """What a session is keyed by. `owner` is the JupyterHub user ('' outside a hub)."""

    api_url: str
    provider_id: str
    flow: str
    owner: str

    @property
    def entry_name(self) -> str:
        """A stable, non-secret name for this session's record in a store (the keyring, the sealed file)."""
        return hashlib.sha256(json.dumps(list(self)).encode()).hexdigest()[:24]

    @property
    def login_id(self) -> str:
        """A stable, non-secret name of the login, the same for every back-end it serves (`login` in answers)."""
        return hashlib.sha256(repr(tuple(self)).encode()).hexdigest()[:12]
