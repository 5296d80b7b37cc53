"""A keyring for single-user containers, which have no desktop keyring: entries in one file on the user's
volume, each sealed with Fernet (AES-128-CBC and HMAC-SHA256, from `cryptography`) under a key that the hub
derives per user and hands to the server when it spawns it (`jupyter_openeo_auth.hub.store_key_hook`). A copy
of the volume or a snapshot holds only ciphertext: the key lives in the hub's secret and the server's memory,
never on the volume. Logins then survive a cull or restart of the server."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from pathlib import Path

from keyring.backend import KeyringBackend

from .locks import file_lock

log = logging.getLogger(__name__)


def sealed_file_path() -> Path:
    """Where the sealed file lives: the user's Jupyter data folder (on the user's volume on a hub)."""
    from jupyter_core.paths import jupyter_data_dir

    return Path(jupyter_data_dir()) / "openeo-auth" / "sessions.sealed"


class SealedFileKeyring(KeyringBackend):
    """`keyring` back-end over one JSON file of sealed values. Never chosen by `keyring` itself (priority 0):
    the extension uses it when the hub gave a key and no trusted keyring exists. An entry sealed under another
    key (the hub's secret changed) reads as absent, with one warning; the next save replaces it."""

    priority = 0

    def __init__(self, key: str, path: Path | None = None):
        super().__init__()
        from cryptography.fernet import Fernet

        self._fernet = Fernet(key.encode() if isinstance(key, str) else key)  # ValueError for a bad key
        self.path = Path(path) if path else sealed_file_path()
        self._warned = False
        self._thread_lock = threading.Lock()

    def _locked(self):
        """Every entry lives in one file that is read, changed and written back: one writer at a time, in
        this process and in any other server of this user on the same volume."""
        return file_lock(self.path.with_name(self.path.name + ".lock"), self._thread_lock)

    def __repr__(self) -> str:
        return f"<SealedFileKeyring {self.path}>"

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            self._warn("cannot be read")
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, data: dict[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".sessions-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as f:  # mkstemp makes it 0600
                json.dump(data, f)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _warn(self, what: str) -> None:
        if not self._warned:
            self._warned = True
            log.warning(
                "The sealed openEO session file %s %s (sealed under another key?); those logins are "
                "not restored and will be replaced.",
                self.path,
                what,
            )

    @staticmethod
    def _name(service: str, username: str) -> str:
        return f"{service}/{username}"

    def get_password(self, service: str, username: str) -> str | None:
        from cryptography.fernet import InvalidToken

        sealed = self._read().get(self._name(service, username))
        if not isinstance(sealed, str):
            return None
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            self._warn("holds entries this key cannot open")
            return None

    def set_password(self, service: str, username: str, password: str) -> None:
        sealed = self._fernet.encrypt(password.encode()).decode()
        with self._locked():
            data = self._read()
            data[self._name(service, username)] = sealed
            self._write(data)

    def delete_password(self, service: str, username: str) -> None:
        with self._locked():
            data = self._read()
            if data.pop(self._name(service, username), None) is not None:
                self._write(data)
