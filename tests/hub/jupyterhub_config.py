"""JupyterHub for the tests: local processes, a dummy password, configurable-http-proxy from this folder.
Everything it needs comes from the environment the test sets (all on 127.0.0.1)."""

import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 - provided by JupyterHub
here = Path(__file__).parent
state = Path(os.environ["HUB_STATE_DIR"])

c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = int(os.environ["HUB_PORT"])
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ["HUB_API_PORT"])
c.JupyterHub.db_url = f"sqlite:///{state / 'hub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "cookie_secret")
c.ConfigurableHTTPProxy.command = [str(here / "node_modules" / ".bin" / "configurable-http-proxy")]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ['HUB_PROXY_API_PORT']}"
c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")

if os.environ.get("HUB_ISSUER"):
    # The hub's own login is the openEO back-end's OpenID provider: users' servers get openEO tokens from it.
    from jupyter_openeo_auth.hub import post_auth_hook, refresh_user_hook

    issuer = os.environ["HUB_ISSUER"]
    c.JupyterHub.authenticator_class = "generic-oauth"
    c.GenericOAuthenticator.client_id = "jupyterhub"
    c.GenericOAuthenticator.client_secret = os.environ["HUB_CLIENT_SECRET"]
    c.GenericOAuthenticator.oauth_callback_url = f"http://127.0.0.1:{os.environ['HUB_PORT']}/hub/oauth_callback"
    c.GenericOAuthenticator.authorize_url = f"{issuer}/auth"
    c.GenericOAuthenticator.token_url = f"{issuer}/token"
    c.GenericOAuthenticator.userdata_url = f"{issuer}/me"
    c.GenericOAuthenticator.scope = ["openid", "profile", "email"]
    c.GenericOAuthenticator.username_claim = "sub"
    c.GenericOAuthenticator.basic_auth = True
    c.GenericOAuthenticator.enable_auth_state = True
    c.GenericOAuthenticator.post_auth_hook = post_auth_hook
    c.GenericOAuthenticator.refresh_user_hook = refresh_user_hook
    c.GenericOAuthenticator.auth_refresh_age = 2
    c.GenericOAuthenticator.allow_all = True
else:
    c.JupyterHub.authenticator_class = "dummy"
    c.DummyAuthenticator.password = "hub-password"
    c.Authenticator.allow_all = True
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = str(state / "home" / "{username}")
c.Spawner.args = ["--allow-root"] if os.geteuid() == 0 else []
if os.environ.get("JUPYTER_OPENEO_AUTH_HUB_SECRET"):
    # Users' servers seal their logins on the user's volume under a key from the hub: they survive a cull.
    from jupyter_openeo_auth.hub import store_key_hook

    c.Spawner.pre_spawn_hook = store_key_hook
elif not os.environ.get("HUB_SINGLEUSER_CMD"):  # a user's own install runs with its defaults
    c.Spawner.args.append("--OpenEOAuth.persist=never")
c.Spawner.default_url = "/lab"
spawner_env = {"OPENEO_BACKEND": os.environ["OPENEO_BACKEND"]} if os.environ.get("OPENEO_BACKEND") else {}
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120

# The test drives the hub and the users' servers with a service token.
c.JupyterHub.services = [{"name": "openeo-test", "api_token": os.environ["HUB_SERVICE_TOKEN"]}]
# How users' servers get the hub's tokens (HUB_TOKENS): "service", from the token service, which hands out
# access tokens only (the README's recommended setup); "auth_state", by reading the whole auth_state.
# A server's token never has more scopes than its owner, so the user role needs the same scope as the server.
if os.environ.get("HUB_TOKENS") == "service":
    token_service = f"http://127.0.0.1:{os.environ['HUB_TOKEN_SERVICE_PORT']}"
    c.JupyterHub.services.append(
        {"name": "openeo-tokens", "url": token_service, "command": [sys.executable, "-m", "jupyter_openeo_auth.hub"]}
    )
    spawner_env["JUPYTER_OPENEO_AUTH_HUB_SERVICE"] = f"{token_service}/services/openeo-tokens/"
    hub_tokens_scope = "access:services!service=openeo-tokens"
    extra_roles = [
        {"name": "openeo-tokens", "services": ["openeo-tokens"], "scopes": ["read:users", "admin:auth_state"]}
    ]
else:
    hub_tokens_scope, extra_roles = "admin:auth_state!user", []
c.JupyterHub.load_roles = [
    {"name": "user", "scopes": ["self", hub_tokens_scope]},
    {"name": "server", "scopes": ["users:activity!user", "access:servers!server", hub_tokens_scope]},
    {
        "name": "openeo-test",
        "services": ["openeo-test"],
        "scopes": ["admin:users", "admin:servers", "access:servers", "list:users", "read:users", "tokens"],
    },
    # Bob may open Alice's server, as a share (JupyterHub 5 sharing) would let him: her openEO logins stay hers.
    {"name": "alice-shares-with-bob", "users": ["bob"], "scopes": ["access:servers!user=alice"]},
] + extra_roles
if os.environ.get("HUB_SINGLEUSER_CMD"):
    # The users' servers run from another environment, the hub image's, which the test set up without this
    # package (a user installs it there with `pip install --user`): its bin folder first, nothing of ours kept.
    c.Spawner.cmd = [os.environ["HUB_SINGLEUSER_CMD"]]
    c.Spawner.env_keep = ["LANG", "LC_ALL"]
    spawner_env["PATH"] = os.pathsep.join([os.path.dirname(os.environ["HUB_SINGLEUSER_CMD"]), "/usr/bin", "/bin"])
c.Spawner.environment = spawner_env
