"""What runs inside a notebook kernel: the server client, the openeo auth adapter, the widget, the magic.

The public names are imported when first used (PEP 562): every kernel of a server with this extension loads
the kernel side at start, and most never touch openEO."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import names_from

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


__getattr__ = names_from(__name__, _WHERE)


__all__ = ["AccessToken", "LoginWidget", "connect", "get_token", "login", "logout"]
