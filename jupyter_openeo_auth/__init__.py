"""jupyter-openeo-auth: the Jupyter server logs in to openEO back-ends and hands access tokens to kernels.

In a notebook of a Jupyter server with the extension (nothing to load)::

    %openeo_login https://openeo.cloud

    import jupyter_openeo_auth as joa
    con = joa.connect("https://openeo.cloud")
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._version import __version__
from .lazy import names_from

if TYPE_CHECKING:
    import openeo
    from IPython.core.interactiveshell import InteractiveShell

    from .errors import LoginRequired, NotLoggedIn, OpenEOAuthError
    from .kernel.auth import AccessToken
    from .kernel.models import Logout
    from .kernel.widget import LoginWidget

#: Imported when first used: the hub imports `jupyter_openeo_auth.hub` with nothing of the rest installed.
__getattr__ = names_from(__name__, {name: "errors" for name in ("LoginRequired", "NotLoggedIn", "OpenEOAuthError")})


def _jupyter_server_extension_points():
    from .server.app import OpenEOAuth

    return [{"module": "jupyter_openeo_auth", "app": OpenEOAuth}]


def _jupyter_labextension_paths():
    """The prebuilt JupyterLab extension (for `jupyter labextension develop`; pip installs it to
    share/jupyter/labextensions)."""
    return [{"src": "labextension", "dest": "jupyter-openeo-auth"}]


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """`%load_ext jupyter_openeo_auth`: registers `%openeo_login`, and lets the openeo client's own
    `authenticate_oidc()` and friends use the server's login (see `kernel.openeo_client`)."""
    from .kernel.autoload import load

    load(ipython)


def unload_ipython_extension(ipython: InteractiveShell) -> None:
    """`%unload_ext jupyter_openeo_auth`: the openeo client logs in on its own again."""
    from .kernel.autoload import unload

    unload(ipython)


def login(backend: str | None = None, provider_id: str | None = None, var: str | None = "connection") -> LoginWidget:
    """A LoginWidget for `backend`; displayed, it logs in and binds `var` to an openeo.Connection at once, as
    %openeo_login does. See `jupyter_openeo_auth.kernel.login`."""
    from .kernel import login as _login

    return _login(backend, provider_id, var)


def connect(
    backend: str, provider_id: str | None = None, min_valid: float = 60, flow: str | None = None
) -> openeo.Connection:
    """An openeo.Connection kept authenticated by the server (by a login of `flow`, when named: "device",
    "client_credentials", "password", "hub"). Raises NotLoggedIn when not logged in."""
    from .kernel import connect as _connect

    return _connect(backend, provider_id, min_valid, flow)


def logout(backend: str, provider_id: str | None = None) -> Logout:
    """Log out of `backend` on the server: the next authenticate_oidc() or login() makes a fresh login."""
    from .kernel import logout as _logout

    return _logout(backend, provider_id)


def get_token(backend: str, provider_id: str | None = None, min_valid: float = 60) -> AccessToken:
    """An AccessToken valid for at least `min_valid` seconds; its repr never shows the token."""
    from .kernel import get_token as _get_token

    return _get_token(backend, provider_id, min_valid)


__all__ = [
    "LoginRequired",
    "NotLoggedIn",
    "OpenEOAuthError",
    "connect",
    "get_token",
    "login",
    "logout",
    "load_ipython_extension",
    "__version__",
]
