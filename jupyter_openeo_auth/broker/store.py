"""Where refresh tokens outlive the server: the OS keyring when it is safe, else nowhere (memory only)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from typing import List

SERVICE = "jupyter-openeo-auth"
INDEX = "sessions"

#: Keyring back-ends that store in plain text, prompt on the terminal, or do nothing.
UNSAFE_MODULES = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt", "keyrings.cryptfile")


def keyring_is_safe(backend) -> bool:
    """True for a keyring back-end with recommended priority that neither stores plain text nor prompts."""
    from keyring.backends import chainer

    if isinstance(backend, chainer.ChainerBackend):
        return bool(backend.backends) and all(keyring_is_safe(b) for b in backend.backends)
    module = type(backend).__module__
    if module.startswith(UNSAFE_MODULES) or "plaintext" in type(backend).__name__.lower():
        return False
    try:
        return float(backend.priority) >= 1
    except Exception:  # an unusable back-end raises from its priority
        return False


class MemoryStore:
    """Keeps nothing: sessions end with the server."""

    persistent = False

    async def save(self, name: str, record: dict) -> None:
        """Forget it (nothing is persisted)."""

    async def delete(self, name: str) -> None:
        """Nothing to delete."""

    async def load(self) -> List[dict]:
        """No saved sessions."""
        return []


class KeyringStore(MemoryStore):
    """One keyring entry per session plus an index entry; every call runs off the event loop with a timeout,
    so a keyring that hangs (a locked desktop wallet waiting for a prompt) cannot hang the server."""

    persistent = True

    def __init__(self, backend, log: logging.Logger, timeout: float = 5.0):
        self.backend = backend
        self.log = log
        self.timeout = timeout

    @staticmethod
    def entry_name(key) -> str:
        """A stable, non-secret entry name for a session key."""
        return hashlib.sha256(json.dumps(list(key)).encode()).hexdigest()[:24]

    async def _call(self, what: str, fn, *args):
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(loop.run_in_executor(None, fn, *args), self.timeout)
        except asyncio.TimeoutError:
            self.log.warning("The keyring did not answer within %g s (%s); continuing without it.", self.timeout, what)
        except Exception as e:  # a broken keyring must not break logins
            self.log.warning("The keyring failed (%s): %s; continuing without it.", what, type(e).__name__)
        return None

    def _index(self) -> List[str]:
        raw = self.backend.get_password(SERVICE, INDEX)
        return json.loads(raw) if raw else []

    def _save(self, name: str, record: dict) -> None:
        self.backend.set_password(SERVICE, name, json.dumps(record))
        index = self._index()
        if name not in index:
            self.backend.set_password(SERVICE, INDEX, json.dumps(index + [name]))

    def _delete(self, name: str) -> None:
        index = self._index()
        if name in index:
            self.backend.set_password(SERVICE, INDEX, json.dumps([n for n in index if n != name]))
        try:
            self.backend.delete_password(SERVICE, name)
        except Exception:  # keyring.errors.PasswordDeleteError: already gone
            pass

    def _load(self) -> List[dict]:
        records = []
        for name in self._index():
            raw = self.backend.get_password(SERVICE, name)
            if raw:
                records.append(json.loads(raw))
        return records

    async def save(self, name: str, record: dict) -> None:
        """Store one session's record (it holds the refresh token)."""
        await self._call("save", self._save, name, record)

    async def delete(self, name: str) -> None:
        """Remove one session's record."""
        await self._call("delete", self._delete, name)

    async def load(self) -> List[dict]:
        """All stored session records."""
        return await self._call("load", self._load) or []


def _current_keyring(timeout: float):
    """keyring's chosen back-end, or None when choosing it takes longer than `timeout` (a desktop keyring
    probed over D-Bus can hang) or fails."""
    import concurrent.futures

    import keyring

    pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="openeo-auth-keyring")
    try:
        return pool.submit(lambda: (keyring.get_keyring(), keyring.get_keyring().priority)[0]).result(timeout)
    except Exception:  # noqa: BLE001 - timeout or a broken keyring: fall back to memory
        return None
    finally:
        pool.shutdown(wait=False)


def make_store(persist: str, log: logging.Logger, backend=None, timeout: float = 5.0) -> MemoryStore:
    """The store for a `persist` setting (auto | always | never); warns once when falling back to memory."""
    if persist == "never":
        return MemoryStore()
    if backend is None:
        backend = _current_keyring(timeout)
    if backend is not None and keyring_is_safe(backend):
        log.info("openEO logins persist in the keyring (%s).", type(backend).__name__)
        return KeyringStore(backend, log, timeout)
    level = logging.ERROR if persist == "always" else logging.WARNING
    log.log(
        level,
        "No safe keyring is available (found %s): openEO logins are kept in memory only and end with the server.",
        f"{type(backend).__module__}.{type(backend).__name__}" if backend is not None else "none that answers",
    )
    return MemoryStore()
