"""`%openeo_login [BACKEND] [--provider ID] [--var NAME] [--client-credentials] [--password USER]`."""

from __future__ import annotations

import getpass

from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from ..errors import OpenEOAuthError
from ..wire import Flow
from .client import server


@magics_class
class OpenEOMagics(Magics):
    def _user_ns(self) -> dict:
        """The notebook's namespace, where the connection is bound."""
        assert self.shell is not None, "a magic runs in an IPython shell"
        return self.shell.user_ns

    @magic_arguments()
    @argument("backend", nargs="?", default=None, help="back-end URL (default: the server's default back-end)")
    @argument("--provider", default=None, help="OpenID provider id (default: the back-end's first)")
    @argument("--var", default="connection", help="variable to bind the openeo.Connection to")
    @argument("--client-credentials", action="store_true", help="use the service account configured on the server")
    @argument("--password", metavar="USER", default=None, help="password login as USER (asked with getpass)")
    @argument("--client-id", default=None, help="OAuth client id, when the back-end lists no default client")
    @line_magic
    def openeo_login(self, line: str) -> None:
        """Log in to an openEO back-end through the Jupyter server and bind an authenticated connection."""
        from .api import bind_connection, connect, default_backend  # ipywidgets and openeo: when first used
        from .widget import LoginWidget

        args = parse_argstring(self.openeo_login, line)
        backend = args.backend or default_backend()

        if args.client_credentials or args.password:
            extra: dict[str, str] = {"flow": Flow.CLIENT_CREDENTIALS}
            if args.password:
                secret = getpass.getpass(f"Password of {args.password} at {backend}: ")
                extra = {"flow": Flow.PASSWORD, "username": args.password, "password": secret}
            try:  # the password goes to the server once and is kept nowhere here
                server().start_login(backend, args.provider, client_id=args.client_id, **extra)
            except OpenEOAuthError as e:
                print(f"Login failed: {e.message}")
                return None
            self._user_ns()[args.var] = connect(backend, args.provider, flow=extra["flow"])
            print(f"Logged in: `{args.var}` is an authenticated openeo.Connection to {backend}.")
            return None

        widget = LoginWidget(backend, args.provider, client_id=args.client_id)
        widget.display()  # at once; it says "asking…" until the server answers about the back-end
        bind_connection(widget, self._user_ns(), args.var)
        return None
