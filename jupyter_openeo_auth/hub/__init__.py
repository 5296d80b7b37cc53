"""Hub-side helpers for a JupyterHub whose own login is the openEO back-end's OpenID provider (OAuthenticator's
GenericOAuthenticator with `enable_auth_state`). Importable on a hub that has no Jupyter server extension:
nothing here imports jupyter_server, the broker or the kernel side. Three jobs, one module each:

- `auth_hooks`: keep each user's access token fresh in the hub's auth_state (the refresh token stays there):

      c.GenericOAuthenticator.post_auth_hook = "jupyter_openeo_auth.hub.post_auth_hook"   # or the function
      c.GenericOAuthenticator.refresh_user_hook = jupyter_openeo_auth.hub.refresh_user_hook
      c.GenericOAuthenticator.auth_refresh_age = 60

- `token_service`: `python -m jupyter_openeo_auth.hub`, a small hub service that hands each user's server that
  user's access token, never the refresh token, so that no user's server (nor the kernels, which can use the
  server's API token) needs the `admin:auth_state!user` scope that would show them the whole auth_state:

      c.JupyterHub.services = [{"name": "openeo-tokens", "url": "http://127.0.0.1:10101",
                                "command": [sys.executable, "-m", "jupyter_openeo_auth.hub"]}]
      c.Spawner.environment = {"JUPYTER_OPENEO_AUTH_HUB_SERVICE": "http://127.0.0.1:10101/services/openeo-tokens/"}

- `sealing`: the per-user key with which a user's server seals its logins on the user's volume
  (`c.Spawner.pre_spawn_hook = store_key_hook`).

(and the roles in the README's JupyterHub section).
"""

from __future__ import annotations

from typing import Any

from ..wire import STORE_KEY_ENV
from .auth_hooks import REFRESH_MARGIN, post_auth_hook, refresh_user_hook, stamp_expiry
from .sealing import HUB_SECRET_ENV, store_key, store_key_hook

__all__ = [
    "HUB_SECRET_ENV",
    "REFRESH_MARGIN",
    "STORE_KEY_ENV",
    "main",
    "post_auth_hook",
    "refresh_user_hook",
    "stamp_expiry",
    "store_key",
    "store_key_hook",
    "token_service_app",
]


def __getattr__(name: str) -> Any:
    # The token service needs tornado and jupyterhub.services: imported only when it is asked for.
    if name in ("main", "token_service_app", "HANDED_OUT"):
        from . import token_service

        return getattr(token_service, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
