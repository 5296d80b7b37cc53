"""Where refresh tokens outlive the server: the OS keyring when it is safe, else nowhere (memory only)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import threading
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, Protocol

from .locks import KEYRING_POOL, entry_lock, file_lock, in_keyring_pool

SERVICE = "jupyter-openeo-auth"
INDEX = "sessions"
#: Windows' Credential Locker holds about 2.5 kB per entry; larger entries stay in memory, everywhere.
MAX_ENTRY = 2500

#: Keyring back-ends that keep secrets encrypted by the desktop and never prompt on a terminal.
SAFE_BACKENDS = (
    "keyring.backends.SecretService.Keyring",
    "keyring.backends.libsecret.Keyring",
    "keyring.backends.macOS.Keyring",
    "keyring.backends.Windows.WinVaultKeyring",
    "keyring.backends.kwallet.DBusKeyring",
    "keyring.backends.kwallet.DBusKeyringKWallet4",
)


def backend_name(backend: Any) -> str:
    """`module.Class` of a keyring back-end."""
    return f"{type(backend).__module__}.{type(backend).__qualname__}"


def keyring_is_safe(backend: Any, trusted: str = "") -> bool:
    """True for a well-known safe desktop keyring, or the back-end an administrator named: `trusted` or
    `PYTHON_KEYRING_BACKEND` (then it is trusted as named). Everything else is not trusted with tokens."""
    from keyring.backends import chainer

    if isinstance(backend, chainer.ChainerBackend):
        return bool(backend.backends) and all(keyring_is_safe(b, trusted) for b in backend.backends)
    name = backend_name(backend)
    named = {n for n in (trusted, os.environ.get("PYTHON_KEYRING_BACKEND", "")) if n}
    return name in named or name in SAFE_BACKENDS


class SessionStore(Protocol):
    """Where session records (each holding a refresh token) are kept, by a non-secret entry name. Calls never
    block the event loop and give up after `timeout` seconds; a store that fails keeps the logins in memory."""

    #: False when records do not outlive the server (then nothing is written or read).
    persistent: bool
    #: Seconds any one call may take (also how long a blocking read of a service secret may take).
    timeout: float

    async def save(self, name: str, record: dict) -> None:
        """Store one record."""

    async def delete(self, name: str) -> None:
        """Remove one record (no error when absent)."""

    async def load(self) -> list[dict]:
        """Every stored record."""

    async def load_one(self, name: str) -> dict | None:
        """One record as another process may have left it; None when absent."""

    def lock(self, name: str) -> AbstractAsyncContextManager:
        """Held around read-refresh-store of one record, across this user's processes."""


class MemoryStore:
    """Keeps nothing: sessions end with the server."""

    persistent = False
    timeout = 5.0

    async def save(self, name: str, record: dict) -> None:
        """Forget it (nothing is persisted)."""

    async def delete(self, name: str) -> None:
        """Nothing to delete."""

    async def load(self) -> list[dict]:
        """No saved sessions."""
        return []

    async def load_one(self, name: str) -> dict | None:
        """No saved session."""
        return None

    def lock(self, name: str) -> AbstractAsyncContextManager:
        """No other process shares this store: nothing to lock."""
        return contextlib.nullcontext()


class EntryTooLarge(Exception):
    """A record larger than a keyring entry may be."""


class KeyringStore:
    """One keyring entry per session plus an index entry. Every call runs in the keyring pool with a
    timeout; a keyring that timed out once is not asked again (memory only from then on, one warning),
    so a hung keyring cannot pile up threads."""

    persistent = True

    def __init__(self, backend: Any, log: logging.Logger, timeout: float = 5.0, lock_dir: Path | None = None):
        self.backend = backend
        self.log = log
        self.timeout = timeout
        self.lock_dir = Path(lock_dir) if lock_dir else _default_lock_dir()
        self._index_lock = threading.Lock()

    async def _call(self, what: str, fn: Callable[..., Any], *args: Any) -> Any:
        if not self.persistent:
            return None
        try:
            return await in_keyring_pool(fn, *args, timeout=self.timeout)
        except asyncio.TimeoutError:
            self.persistent = False
            self.log.warning(
                "The keyring did not answer within %g s (%s); openEO logins are kept in memory only from now on.",
                self.timeout,
                what,
            )
        except EntryTooLarge:
            self.log.warning(
                "An openEO login is too large for the keyring (over %d bytes); it is kept in memory only.", MAX_ENTRY
            )
        except Exception as e:  # a broken keyring must not break logins
            self.log.warning("The keyring failed (%s): %s; continuing without it.", what, type(e).__name__)
        return None

    def _index(self) -> list[str]:
        raw = self.backend.get_password(SERVICE, INDEX)
        return json.loads(raw) if raw else []

    def _save(self, name: str, record: dict) -> None:
        text = json.dumps(record, separators=(",", ":"))
        if len(text) > MAX_ENTRY:
            raise EntryTooLarge()
        self.backend.set_password(SERVICE, name, text)
        with self._locked_index():
            index = self._index()
            if name not in index:
                self.backend.set_password(SERVICE, INDEX, json.dumps(index + [name]))

    def _delete(self, name: str) -> None:
        with self._locked_index():
            index = self._index()
            if name in index:
                self.backend.set_password(SERVICE, INDEX, json.dumps([n for n in index if n != name]))
        try:
            self.backend.delete_password(SERVICE, name)
        except Exception:  # keyring.errors.PasswordDeleteError: already gone
            pass

    def _locked_index(self):
        """The index is read, changed and written back: one writer at a time (two servers of one user)."""
        return file_lock(self.lock_dir / "jupyter-openeo-auth-index.lock", self._index_lock)

    def _load_one(self, name: str) -> dict | None:
        raw = self.backend.get_password(SERVICE, name)
        return json.loads(raw) if raw else None

    def _load(self) -> list[dict]:
        return [r for r in map(self._load_one, self._index()) if r]

    async def save(self, name: str, record: dict) -> None:
        """Store one session's record (it holds the refresh token)."""
        await self._call("save", self._save, name, record)

    async def delete(self, name: str) -> None:
        """Remove one session's record."""
        await self._call("delete", self._delete, name)

    async def load(self) -> list[dict]:
        """All stored session records."""
        return await self._call("load", self._load) or []

    async def load_one(self, name: str) -> dict | None:
        """One session's stored record, as another process may have left it."""
        return await self._call("read", self._load_one, name)

    def lock(self, name: str) -> AbstractAsyncContextManager:
        """An exclusive lock on one record across this user's processes (see `locks.entry_lock`)."""
        return entry_lock(self.lock_dir / f"jupyter-openeo-auth-{name}.lock", self.timeout, self.log)


def _default_lock_dir() -> Path:
    from jupyter_core.paths import jupyter_runtime_dir

    return Path(jupyter_runtime_dir())


def _current_keyring(timeout: float) -> Any:
    """keyring's chosen back-end, or None when choosing it takes longer than `timeout` (a desktop keyring
    probed over D-Bus can hang) or fails."""
    import keyring

    try:
        return KEYRING_POOL.submit(lambda: (keyring.get_keyring(), keyring.get_keyring().priority)[0]).result(timeout)
    except Exception:  # noqa: BLE001 - timeout or a broken keyring: fall back to memory
        return None


def make_store(
    persist: str,
    log: logging.Logger,
    backend: Any = None,
    timeout: float = 5.0,
    trusted: str = "",
    current: Callable[[float], object] = _current_keyring,
    sealed_key: str | None = None,
) -> SessionStore:
    """The store for a `persist` setting (auto | always | never): a trusted keyring, else the sealed file when
    the hub gave its key (`sealed_key`, see broker/sealed.py), else memory, with one warning."""
    if persist == "never":
        return MemoryStore()
    if backend is None:
        backend = current(timeout)
    if backend is not None and keyring_is_safe(backend, trusted):
        log.info("openEO logins persist in the keyring (%s).", type(backend).__name__)
        return KeyringStore(backend, log, timeout)
    if sealed_key:
        from .sealed import SealedFileKeyring

        try:
            sealed = SealedFileKeyring(sealed_key)
        except (ValueError, TypeError):
            log.error(
                "The key JupyterHub gave for sealing openEO logins is not a valid key; they are kept in memory only."
            )
        except ImportError:
            log.error("Sealing openEO logins needs the cryptography package; they are kept in memory only.")
        else:
            log.info("openEO logins persist sealed in %s, under the key JupyterHub gave.", sealed.path)
            return KeyringStore(sealed, log, timeout)
    level = logging.ERROR if persist == "always" else logging.WARNING
    log.log(
        level,
        "No trusted keyring is available (found %s): openEO logins are kept in memory only and end with the "
        "server. Name a keyring to trust with OpenEOAuth.trusted_keyring or PYTHON_KEYRING_BACKEND.",
        backend_name(backend) if backend is not None else "none that answers",
    )
    return MemoryStore()
