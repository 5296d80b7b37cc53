"""The kernels' credential: a random key in a 0600 file in the Jupyter runtime directory, named after the
server's pid. Kernels the server starts find it through JPY_PARENT_PID. It opens this extension's routes
only (never contents, kernels or terminals) and never enters a kernel's environment variables."""

from __future__ import annotations

import hmac
import json
import os
import secrets
import tempfile
from typing import Any

from jupyter_server.auth import User

from ..wire import KERNEL_SCHEME, key_file

SCHEME = KERNEL_SCHEME
KERNEL_USER = User(username="openeo-kernel", name="openEO kernel client")


class KernelKey:
    """Creates, checks and removes the key file of one server."""

    def __init__(self, runtime_dir: str, pid: int | None = None):
        self.key = secrets.token_urlsafe(32)
        self.path = key_file(runtime_dir, pid or os.getpid())

    def __repr__(self) -> str:
        return f"<KernelKey {self.path}>"

    def write(self, server_url: str, default_backend: str, root_dir: str = "") -> None:
        """Write {url, key, default_backend} readable by the owner only. Atomically: a new 0600 file in the
        0700 runtime directory, renamed over the name, so a file or symlink already there is replaced, never
        followed or left with its old mode. The default back-end rides along for `%openeo_login`."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, temporary = tempfile.mkstemp(prefix=".jupyter-openeo-auth-", dir=self.path.parent)  # 0600
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(
                    {
                        "url": server_url,
                        "key": self.key,
                        "pid": os.getpid(),
                        "default_backend": default_backend,
                        "root_dir": root_dir,
                    },
                    f,
                )
            os.replace(temporary, self.path)
        except BaseException:
            os.unlink(temporary)
            raise

    def remove(self) -> None:
        """Delete the file (server shutdown)."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass

    def matches(self, authorization: str) -> bool:
        """Does an Authorization header carry this key?"""
        scheme, _, value = authorization.partition(" ")
        return scheme == SCHEME and hmac.compare_digest(value.strip().encode(), self.key.encode())


class KernelAuthorizer:
    """What a kernel key may do: this extension's routes, nothing else."""

    def __init__(self, resource: str):
        self.resource = resource

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return resource == self.resource
