"""One place for what keeps the broker's blocking work in order: the keyring pool (keyring calls and reads of
service-account secrets run there, never on the event loop or its default pool), the file lock that serialises
read-modify-write of shared store entries across threads and this user's processes, and the lock a refresh
holds on its session's entry."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

fcntl: Any
try:
    import fcntl
except ImportError:  # Windows: no cross-process lock, the re-read before each refresh still helps
    fcntl = None

#: Keyring calls (and reads of service secrets) run here, never in the event loop's default pool: a keyring
#: that hangs waiting for a desktop prompt holds these two threads at most.
KEYRING_POOL = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="openeo-auth-keyring")


@contextlib.contextmanager
def file_lock(path: Path, thread_lock: threading.Lock) -> Iterator[None]:
    """Hold `thread_lock` and an exclusive flock on `path` (created 0600, never through a symlink): one
    read-modify-write of a shared entry at a time, across the keyring pool's threads and this user's
    processes. Blocking, so it runs in the keyring pool, whose timeout bounds the wait."""
    with thread_lock:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # and with it the flock


async def in_keyring_pool(fn: Callable[..., T], *args: Any, timeout: float) -> T:
    """Run a blocking keyring (or secret file) call in the keyring pool, within `timeout` seconds."""
    loop = asyncio.get_running_loop()
    return await asyncio.wait_for(loop.run_in_executor(KEYRING_POOL, fn, *args), timeout)


@contextlib.asynccontextmanager
async def entry_lock(path: Path, timeout: float, log: logging.Logger) -> AsyncIterator[None]:
    """An exclusive flock on `path` (created 0600, never through a symlink), held around refresh-and-store of
    one session across this user's processes. Waits without blocking the loop; after `timeout` seconds it goes
    ahead unlocked rather than stall a token request."""
    if fcntl is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    deadline = time.monotonic() + timeout
    locked = False
    try:
        while not locked:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                locked = True
            except BlockingIOError:
                if time.monotonic() > deadline:
                    log.warning("Another process holds the openEO refresh lock too long; going ahead.")
                    break
                await asyncio.sleep(0.05)
        yield
    finally:
        if locked:
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
