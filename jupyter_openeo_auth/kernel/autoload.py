"""Loading the kernel side into every IPython kernel a server with this extension starts, without touching the
user's IPython profile: the server puts `pythonstartup.py` in the PYTHONSTARTUP its kernels inherit (and keeps
the user's own PYTHONSTARTUP, which runs after it). IPython runs that file at kernel start; a plain `python`
prompt in a terminal runs it too and gets nothing but the user's own file."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

#: Where the server keeps a PYTHONSTARTUP the user had, to run after ours.
USERS_STARTUP = "JUPYTER_OPENEO_AUTH_PYTHONSTARTUP"
STARTUP_FILE = str(Path(__file__).with_name("pythonstartup.py"))


#: The first line of every copy of our startup file.
STARTUP_MARKER = "# jupyter-openeo-auth startup file"


def is_startup_file(path: str) -> bool:
    """Is this a copy of our startup file (this environment's or another's)?"""
    if os.path.abspath(path) == STARTUP_FILE:
        return True
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read(len(STARTUP_MARKER)) == STARTUP_MARKER
    except OSError:
        return False


#: Per environment: what it held before the first server of this process named our startup file, and the
#: servers doing so now. It is put back only when the last of them stops: a process running two servers, or
#: starting one before another stopped (as tests do), must not take the file away from the one still running.
_NAMED: dict[int, tuple[dict[str, str | None], set[object]]] = {}


def set_kernel_startup(environ: MutableMapping[str, str] = os.environ) -> Callable[[], None]:
    """Name our startup file in PYTHONSTARTUP (the server calls this before any kernel starts). Returns what
    puts the environment back as it was (the server calls it when it stops)."""
    before, servers = _NAMED.get(id(environ), ({}, set()))
    if not servers:
        before = {name: environ.get(name) for name in ("PYTHONSTARTUP", USERS_STARTUP)}
        _NAMED[id(environ)] = (before, servers)
    current = environ.get("PYTHONSTARTUP")
    # A server started from a terminal of another server inherits that one's copy (of another environment,
    # perhaps): the user's own file is then already in USERS_STARTUP, and must stay there.
    if current and not is_startup_file(current):
        environ[USERS_STARTUP] = current
    environ["PYTHONSTARTUP"] = STARTUP_FILE
    me = object()
    servers.add(me)

    def undo() -> None:
        if me not in servers:
            return
        servers.discard(me)
        if servers:  # another server of this process still starts kernels with the file
            return
        for name, value in before.items():
            if value is None:
                environ.pop(name, None)
            else:
                environ[name] = value

    return undo


def load(ipython: Any) -> None:
    """What `%load_ext jupyter_openeo_auth` does: `%openeo_login`, and the openeo client's own login calls
    answered by the server's login (`openeo_client`)."""
    from . import openeo_client
    from .magic import OpenEOMagics

    ipython.register_magics(OpenEOMagics)
    openeo_client.install()


def unload(ipython: Any) -> None:
    """What `%unload_ext jupyter_openeo_auth` does: the openeo client logs in on its own again."""
    from . import openeo_client

    openeo_client.uninstall()


#: The extension's name, as `%load_ext` and `%unload_ext` take it.
EXTENSION = "jupyter_openeo_auth"


def load_into_this_kernel() -> None:
    """From `pythonstartup.py` in an IPython kernel: `%load_ext jupyter_openeo_auth`, as IPython's extension
    manager knows it (so that `%unload_ext` turns it off, and `%load_ext` on again), and quietly: a notebook's
    own `%load_ext jupyter_openeo_auth` finds it loaded and says nothing."""
    ipython = sys.modules.get("IPython")
    try:
        shell = ipython.get_ipython() if ipython is not None else None
        if shell is not None and type(shell).__name__ == "ZMQInteractiveShell":
            load(shell)
            manager = shell.extension_manager
            manager.loaded.add(EXTENSION)
            manager.load_extension = _quiet_when_loaded(manager, manager.load_extension)
    except Exception as e:  # noqa: BLE001 - a kernel must start whatever goes wrong here
        print(
            f"jupyter-openeo-auth could not load into this kernel ({type(e).__name__}: {e}); "
            "%load_ext jupyter_openeo_auth may say why."
        )


def _quiet_when_loaded(manager: Any, load_extension: Callable) -> Callable:
    """This kernel's `load_extension`, which answers a `%load_ext jupyter_openeo_auth` of a loaded extension
    with nothing instead of IPython's "already loaded ... use %reload_ext": tutorials carry that line."""

    def quiet(module_str: str) -> Any:
        if module_str == EXTENSION and EXTENSION in manager.loaded:
            return None
        return load_extension(module_str)

    return quiet
