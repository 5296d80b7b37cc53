"""A single-user container has no desktop keyring: with the key the hub hands out at spawn, logins are sealed
in a file on the user's volume and survive a restart (a cull), while the file itself reveals nothing."""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from test_broker_lifecycle import whoami
from ws_kernel import WebSocketKernel

from jupyter_openeo_auth.broker.sealed import SealedFileKeyring
from jupyter_openeo_auth.broker.store import KeyringStore
from jupyter_openeo_auth.devstack import jupyter_service
from jupyter_openeo_auth.devstack.user import ProviderUser
from jupyter_openeo_auth.hub import STORE_KEY_ENV, store_key, store_key_hook

pytestmark = pytest.mark.slow


def start_server(stack, tmp_path, key: str):
    token = secrets.token_hex(16)
    (tmp_path / "root").mkdir(exist_ok=True)
    service = jupyter_service(
        tmp_path / "root",
        token,
        config={"OpenEOAuth": {"default_backend": stack.backend.url}},
        env={STORE_KEY_ENV: key, "JUPYTER_DATA_DIR": str(tmp_path / "data")},
    ).start()
    service.headers = {"Authorization": f"token {token}"}
    service.token = token
    return service


def api(server, method: str, path: str, **kwargs):
    return requests.request(
        method, f"{server.url}/openeo-auth/api/{path}", headers=server.headers, timeout=30, **kwargs
    )


def test_logins_survive_a_restart_sealed_under_the_hubs_key(stack, tmp_path, issued_secrets, monkeypatch):
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)  # no keyring named: as in a container
    hub_secret = secrets.token_hex(32)
    key = store_key(hub_secret, "alice")
    first = start_server(stack, tmp_path, key)
    try:
        login = api(first, "POST", "logins", json={"backend": stack.backend.url}).json()
        ProviderUser("alice").approve(login["verification_uri_complete"], login["user_code"])
        deadline = time.time() + 30
        while login["state"] == "pending" and time.time() < deadline:
            time.sleep(0.3)
            login = api(first, "GET", f"logins/{login['id']}").json()
        assert login["state"] == "logged_in"
        kernel = WebSocketKernel(first.url, first.token)
        try:  # the key left the server's environment before any kernel started
            assert kernel.run(f"import os; print(os.environ.get({STORE_KEY_ENV!r}))").strip() == "None"
        finally:
            kernel.close()
        assert "persist sealed in" in first.log_path.read_text()
    finally:
        first.cleanup()  # the server is culled

    sealed = tmp_path / "data" / "openeo-auth" / "sessions.sealed"
    text = sealed.read_text()
    assert sealed.stat().st_mode & 0o077 == 0
    assert [s for s in issued_secrets() if s in text] == [] and "Alice" not in text and key not in text

    second = start_server(stack, tmp_path, key)  # spawned again: the same key from the hub
    try:
        [session] = api(second, "GET", "sessions").json()["sessions"]
        assert session["user"]["sub"] == "alice" and session["flow"] == "device"
        token = api(second, "POST", "token", json={"backend": stack.backend.url})
        assert token.status_code == 200 and whoami(stack.backend.url, token.json()["access_token"]) == "alice"
    finally:
        second.cleanup()

    # The hub's secret changed (or the file was copied to another user): nothing is restored, nothing breaks.
    third = start_server(stack, tmp_path, store_key(secrets.token_hex(32), "alice"))
    try:
        assert api(third, "GET", "sessions").json() == {"sessions": []}
        assert "sealed under another key" in third.log_path.read_text()
    finally:
        third.cleanup()


def test_the_hub_hook_gives_each_user_their_own_key(monkeypatch):
    secret = secrets.token_hex(32)
    monkeypatch.setenv("JUPYTER_OPENEO_AUTH_HUB_SECRET", secret)
    spawners = [
        SimpleNamespace(user=SimpleNamespace(name=n), environment={"OPENEO_BACKEND": "x"})
        for n in ("alice", "alice", "bob")
    ]
    for spawner in spawners:
        store_key_hook(spawner)
    alice, again, bob = (s.environment[STORE_KEY_ENV] for s in spawners)
    assert alice == again != bob and spawners[0].environment["OPENEO_BACKEND"] == "x"
    monkeypatch.setenv("JUPYTER_OPENEO_AUTH_HUB_SECRET", "too-short")
    with pytest.raises(ValueError, match="openssl rand -hex 32"):
        store_key_hook(spawners[0])


def _save_many(path: str, lock_dir: str, key: str, names: list) -> None:
    """In its own process: another server of the same user, saving logins to the same sealed file."""
    import asyncio
    import logging

    store = KeyringStore(SealedFileKeyring(key, Path(path)), logging.getLogger("other"), lock_dir=Path(lock_dir))

    async def main():
        await asyncio.gather(*(store.save(n, {"name": n}) for n in names))

    asyncio.run(main())


async def test_two_servers_of_one_user_saving_at_once_lose_no_login(tmp_path):
    """Two servers of one user on one volume (named servers), each with two keyring threads, save logins at
    the same moment: every login and the index that lists them survive (the file is read, changed and
    written back, so writers take turns)."""
    import asyncio
    import logging
    import multiprocessing

    from cryptography.fernet import Fernet

    key, path = Fernet.generate_key().decode(), tmp_path / "sessions.sealed"
    other = multiprocessing.get_context("spawn").Process(
        target=_save_many, args=(str(path), str(tmp_path), key, [f"other-{i}" for i in range(40)])
    )
    other.start()
    store = KeyringStore(SealedFileKeyring(key, path), logging.getLogger("this"), lock_dir=tmp_path)
    await asyncio.gather(*(store.save(f"this-{i}", {"name": f"this-{i}"}) for i in range(40)))
    await asyncio.get_running_loop().run_in_executor(None, other.join, 60)
    assert other.exitcode == 0 and store.persistent
    again = KeyringStore(SealedFileKeyring(key, path), logging.getLogger("later"), lock_dir=tmp_path)
    names = sorted(r["name"] for r in await again.load())
    assert names == sorted([f"this-{i}" for i in range(40)] + [f"other-{i}" for i in range(40)])
    await asyncio.gather(*(again.delete(f"this-{i}") for i in range(40)))
    assert sorted(r["name"] for r in await store.load()) == sorted(f"other-{i}" for i in range(40))
