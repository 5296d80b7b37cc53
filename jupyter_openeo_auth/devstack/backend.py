"""Run the openeo-driver dummy back-end on loopback, configured with one local OpenID provider.

    python -m jupyter_openeo_auth.devstack.backend --port 8081 --issuer http://127.0.0.1:8080

Options for tests: `--no-oidc` (a back-end without OpenID Connect), `--no-user-cache` (openeo-driver
caches bearer -> user for 15 minutes, which would hide the expiry and revocation of tokens) and
`--refuse-user SUB` (this back-end refuses that account, as the dummy refuses every "mark" everywhere).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile

#: The default clients the dummy back-end advertises: device flow with PKCE and refresh; password and refresh.
DEFAULT_CLIENTS = [
    {
        "id": "openeo-public",
        "grant_types": ["urn:ietf:params:oauth:grant-type:device_code+pkce", "refresh_token"],
    },
    {"id": "openeo-password", "grant_types": ["password", "refresh_token"]},
]

CONFIG_TEMPLATE = """\
from openeo_driver.config import OpenEoBackendConfig
from openeo_driver.users.oidc import OidcProvider

config = OpenEoBackendConfig(
    id="jupyter-openeo-auth-devstack",
    capabilities_title="Local dummy openEO back-end",
    enable_basic_auth=False,
    oidc_providers=[OidcProvider(**p) for p in {providers}],
)
"""


def write_config(providers: list, folder: str) -> str:
    """Write an openeo-driver config file for these providers; returns its path."""
    path = os.path.join(folder, "openeo_backend_config.py")
    with open(path, "w", encoding="utf-8") as f:
        f.write(CONFIG_TEMPLATE.format(providers=json.dumps(providers)))
    return path


def main(argv: list[str] | None = None) -> None:
    """Parse the options, configure openeo-driver through OPENEO_BACKEND_CONFIG and serve."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--issuer", default=None, help="issuer URL of the OpenID provider")
    parser.add_argument("--provider-id", default="local")
    parser.add_argument("--default-client", default=None, help="advertise this client id instead")
    parser.add_argument("--provider-title", default="Local demo provider")
    parser.add_argument("--default-clients", default=None, metavar="JSON", help="advertise these default clients")
    parser.add_argument("--second-provider", default=None, metavar="ID", help="list the same issuer again as ID")
    parser.add_argument("--no-oidc", action="store_true", help="offer no OpenID provider at all")
    parser.add_argument("--no-user-cache", action="store_true", help="check every bearer token at the provider")
    parser.add_argument(
        "--refuse-user", action="append", default=[], metavar="SUB", help="refuse this account here (GET /me: 403)"
    )
    args = parser.parse_args(argv)

    providers = []
    if not args.no_oidc:
        providers.append(
            {
                "id": args.provider_id,
                "issuer": args.issuer,
                "title": args.provider_title,
                "scopes": ["openid", "profile", "email"],
                "default_clients": json.loads(args.default_clients)
                if args.default_clients
                else [{**DEFAULT_CLIENTS[0], "id": args.default_client}]
                if args.default_client
                else DEFAULT_CLIENTS,
            }
        )
    if args.second_provider and providers:
        providers.append({**providers[0], "id": args.second_provider, "title": "Second local provider"})
    # SIGTERM ends the process through SystemExit, so the config folder below is removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with tempfile.TemporaryDirectory(prefix="joa-backend-") as folder:
        os.environ["OPENEO_BACKEND_CONFIG"] = write_config(providers, folder)
        serve(args)


def serve(args: argparse.Namespace) -> None:
    """Build the openeo-driver app and serve it until stopped."""
    from openeo_driver.dummy.dummy_backend import DummyBackendImplementation
    from openeo_driver.users.auth import HttpAuthHandler
    from openeo_driver.views import build_app
    from werkzeug.serving import make_server

    if args.no_user_cache:
        HttpAuthHandler.get_user_from_bearer_token = lambda self, request: self._get_user_from_bearer_token(
            self.get_auth_token(request, "Bearer")
        )
    from openeo_driver.errors import PermissionsInsufficientException

    class Backend(DummyBackendImplementation):
        """The dummy, which refuses every "mark"; this one also refuses the accounts named by --refuse-user, as a
        back-end of a federation may refuse a member that the others accept."""

        def user_access_validation(self, user, request):
            if user.user_id in args.refuse_user:
                raise PermissionsInsufficientException(message=f"No access for {user.user_id} at this back-end.")
            return super().user_access_validation(user, request)

    app = build_app(backend_implementation=Backend())
    server = make_server("127.0.0.1", args.port, app, threaded=True)
    print(f"openeo dummy back-end listening on http://127.0.0.1:{args.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
