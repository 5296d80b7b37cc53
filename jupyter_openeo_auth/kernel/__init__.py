"""What runs inside a notebook kernel: the server client, the openeo auth adapter, the widget, the magic."""

from .api import connect, get_token, login, logout
from .auth import AccessToken
from .widget import LoginWidget

__all__ = ["AccessToken", "LoginWidget", "connect", "get_token", "login", "logout"]
