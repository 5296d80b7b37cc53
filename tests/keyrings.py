"""Keyring back-ends for tests: a JSON file the tests declare safe, one that hangs, one in plain text."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from keyring.backend import KeyringBackend


class FileKeyring(KeyringBackend):
    """Entries in a JSON file, so a restarted server finds them. Declared safe (priority 10) for the tests.
    A Jupyter server started as a process picks it with `PYTHON_KEYRING_BACKEND=keyrings.FileKeyring` and
    the file from `JOA_TEST_KEYRING_FILE`."""

    priority = 10

    def __init__(self, path: Path | None = None, hang_seconds: float = 0.0):
        super().__init__()
        path = path or os.environ.get("JOA_TEST_KEYRING_FILE")
        if not path:
            # keyring tries every backend class it knows without arguments and skips those raising TypeError.
            raise TypeError("FileKeyring needs a path (or JOA_TEST_KEYRING_FILE).")
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
