"""Terminals that find this environment's commands. When the server's output is not a terminal (the demo, a
spawner, a service), jupyter_server_terminals starts login shells, and a login shell's profile may reset PATH
(Debian's `/etc/profile` does): `jupyter openeo-auth` and the environment's `python` would then be missing
from the terminals of a server running in a virtual environment. This puts the server's own scripts folder
first again, after the profile, for POSIX shells whose command the user did not choose."""

from __future__ import annotations

import os
import shlex
import sysconfig
from typing import Any

#: Shells that understand `PATH=…; export PATH; exec SHELL -i`.
POSIX_SHELLS = ("sh", "bash", "dash", "zsh", "ksh")
#: Folders a profile puts on PATH anyway; putting one first would change which command wins.
SYSTEM_FOLDERS = ("/bin", "/usr/bin", "/usr/local/bin", "/sbin", "/usr/sbin", "/usr/local/sbin")


def keep_environment_first(manager: Any, scripts: str | None = None) -> bool:
    """Make `manager` (jupyter_server_terminals' TerminalManager) start login shells that have `scripts` (the
    server's scripts folder) first on PATH after their profile ran. Returns whether it did."""
    scripts = scripts or sysconfig.get_path("scripts")
    command = list(getattr(manager, "shell_command", None) or ())
    if len(command) != 2 or command[1] != "-l" or os.path.basename(command[0]) not in POSIX_SHELLS:
        return False  # a shell command the user chose, or a shell of another kind: theirs as it is
    if not scripts or os.path.normpath(scripts) in SYSTEM_FOLDERS:
        return False
    shell = command[0]
    # The login shell reads the profile, then becomes an interactive shell (which reads ~/.bashrc or $ENV).
    manager.shell_command = [
        shell,
        "-l",
        "-c",
        f'PATH={shlex.quote(scripts)}:"$PATH"; export PATH; exec {shlex.quote(shell)} -i',
    ]
    return True
