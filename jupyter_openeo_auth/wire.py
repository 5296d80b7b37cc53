"""Names both ends of the REST API share: the server (server/, broker/) and its clients (kernel/, the CLI; the
TypeScript side has the same names in labextension/src/api.ts, checked against openapi.json by a test). Plain
constants, so that neither side's framework is needed to read them."""

from __future__ import annotations

from pathlib import Path

#: Where the REST API lives, under the Jupyter server's base URL.
API_PREFIX = "openeo-auth/api"
#: The `Authorization` scheme of a kernel's key: `openeo-kernel KEY`.
KERNEL_SCHEME = "openeo-kernel"
#: Hosts that mean "this machine".
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
#: How a login is made (POST logins `flow`); `hub` sessions come from JupyterHub's own login.
FLOWS = ("device", "client_credentials", "password")
HUB_FLOW = "hub"
TOKEN_FLOWS = (*FLOWS, HUB_FLOW)
#: The environment variable in which JupyterHub hands a user's server the key of its sealed logins
#: (`hub.store_key_hook`); the server takes it out of its environment before any kernel starts.
STORE_KEY_ENV = "JUPYTER_OPENEO_AUTH_STORE_KEY"
#: The states of a login (GET logins/ID `state`).
LOGIN_STATES = ("pending", "logged_in", "denied", "expired", "failed", "cancelled")


def key_file_name(pid: int | str) -> str:
    """The name of the key file the server with this process id writes into its runtime folder."""
    return f"jupyter-openeo-auth-{pid}.json"


KEY_FILE_GLOB = key_file_name("*")


def key_file(runtime_dir: str | Path, pid: int | str) -> Path:
    """Where the server with this pid keeps its kernel key."""
    return Path(runtime_dir) / key_file_name(pid)
