"""What runs inside a notebook kernel: the server client, the openeo auth adapter, the widget, the magic.

The public names are imported when first used (PEP 562): every kernel of a server with this extension loads
the kernel side at start, and most never touch openEO."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .api import connect, get_token, login, logout
    from .auth import AccessToken
    from .widget import LoginWidget

_WHERE = {
    "AccessToken": "auth",
    "LoginWidget": "widget",
    "connect": "api",
    "get_token": "api",
    "login": "api",
    "logout": "api",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


__all__ = ["AccessToken", "LoginWidget", "connect", "get_token", "login", "logout"]
