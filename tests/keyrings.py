"""Keyring back-ends for tests: a JSON file the tests declare safe, one that hangs, one in plain text."""

from __future__ import annotations

import json
import time
from pathlib import Path

from keyring.backend import KeyringBackend


class FileKeyring(KeyringBackend):
    """Entries in a JSON file, so a restarted server finds them. Declared safe (priority 10) for the tests."""

    priority = 10

    def __init__(self, path: Path, hang_seconds: float = 0.0):
        super().__init__()
        self.path = Path(path)
        self.hang_seconds = hang_seconds

    def _read(self) -> dict:
        time.sleep(self.hang_seconds)
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def get_password(self, service, username):
        return self._read().get(f"{service}/{username}")

    def set_password(self, service, username, password):
        data = self._read()
        data[f"{service}/{username}"] = password
        self.path.write_text(json.dumps(data))

    def delete_password(self, service, username):
        data = self._read()
        data.pop(f"{service}/{username}", None)
        self.path.write_text(json.dumps(data))


class PlaintextKeyring(FileKeyring):
    """Like keyrings.alt's plain-text file: must never be used for refresh tokens."""

    priority = 0.5
