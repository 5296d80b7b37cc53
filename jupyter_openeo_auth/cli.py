"""`jupyter openeo-auth`: the running Jupyter server's openEO login from a JupyterLab terminal or any shell of
the same user. It talks to the server's REST API with the kernel key, like a kernel; it never sees a
refresh token, and prints an access token only when asked (and not to a terminal unless forced).

    jupyter openeo-auth status
    jupyter openeo-auth login [BACKEND] [--provider ID] [--client-credentials] [--password USER]
    jupyter openeo-auth logout [BACKEND]
    curl -H "Authorization: Bearer $(jupyter openeo-auth token --bearer)" BACKEND/me
    jupyter openeo-auth demo

Exit codes: 0 ok, 1 other error, 2 not logged in, 3 log in again, 4 no server found.
"""

from __future__ import annotations

import argparse
import getpass
import os
import re
import sys
import time
from datetime import datetime
from typing import Any, NoReturn

from .errors import LoginRequired, NotLoggedIn, OpenEOAuthError
from .kernel.client import REMOTE_SERVER_ENV, NoServer, ServerClient, SeveralServers, login_link
from .kernel.describe import session_line, who
from .kernel.models import Login
from .wire import Flow, LoginState

OK, FAILED, NOT_LOGGED_IN, LOG_IN_AGAIN, NO_SERVER, SEVERAL_SERVERS = 0, 1, 2, 3, 4, 5


#: What a terminal would act on rather than show: C0 and C1 control characters (escape sequences, carriage
#: returns), and the bidirectional overrides that reorder a line. A newline stays.
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def plain(text: object) -> str:
    """Text from a provider, a back-end or the server as a terminal may show it: no control characters."""
    return _CONTROL.sub("", str(text))


def _print(text: str = "", **kwargs: Any) -> None:
    print(plain(text), **kwargs)


def _say(text: str) -> None:
    _print(text, file=sys.stderr)


def _backend(client: ServerClient, args: argparse.Namespace) -> str:
    """The back-end named on the command line, else the server's default one."""
    return args.backend or client.default_backend or "https://openeo.cloud"


def status(client: ServerClient, args: argparse.Namespace) -> int:
    """The server and its sessions; never a token."""
    _print(f"Jupyter server: {client.api.rsplit('/openeo-auth/', 1)[0]}")
    sessions = client.sessions()
    for session in sessions:
        _print(session_line(session))
    for login in client.pending_logins():
        _print(f"{login['backend']} ({login['provider_id']}): waiting for approval — {_where_to_approve(login)}")
    if not sessions:
        _print("Not logged in to openEO.")
    return OK if sessions else NOT_LOGGED_IN


def _where_to_approve(login: Login) -> str:
    """Where the user approves a pending login (a notebook may be waiting for it), and by when."""
    link = login_link(login)
    where = "open the provider's login page"
    if link:
        where = f"open {link}" + (" at the address of this JupyterLab" if link.startswith("/") else "")
    by = f" by {datetime.fromtimestamp(login['expires_at']):%H:%M}" if login.get("expires_at") else ""
    return f"{where}, log in, and enter the code {login.get('user_code', '')}{by}"


def login(client: ServerClient, args: argparse.Namespace) -> int:
    """Log in on the server; for the device flow print the link, the code and a QR code, then wait."""
    backend = _backend(client, args)
    extra: dict[str, str] = {}
    if args.client_credentials:
        extra["flow"] = Flow.CLIENT_CREDENTIALS
    elif args.password:
        extra.update(
            flow=Flow.PASSWORD,
            username=args.password,
            password=getpass.getpass(f"Password of {args.password} at {backend}: "),
        )
    login = client.start_login(backend, args.provider, **extra)
    if login["state"] == LoginState.PENDING:
        login = _follow(client, login)
    if login["state"] != LoginState.LOGGED_IN:
        _say(login.get("message") or f"The login ended: {login['state']}.")
        return FAILED
    _print(f"Logged in to {login.get('backend', backend)} as {who(login.get('user'))}.")
    if login.get("message"):
        _say(login["message"])
    return OK


def _follow(client: ServerClient, login: Login) -> Login:
    import segno

    link = login_link(login)
    if link is None:
        client.cancel(login["id"])
        return {
            "id": login["id"],
            "state": LoginState.FAILED,
            "message": "The provider sent a login link that is not a web address. Start a new login.",
        }
    if link.startswith("/"):  # through the server's proxy: the browser's address of this server, then the path
        _print(f"Open {link} at the address of this JupyterLab (where you opened this terminal),")
    else:
        _print(f"Open {link}")
    _print(f"log in, and enter the code:  {login['user_code']}\n")
    if not link.startswith("/"):  # a phone cannot follow a path
        segno.make(link, error="m").terminal(compact=True)
    countdown = sys.stdout.isatty()  # a pipe or a log file gets the line once, not once a second

    def waiting(login: Login) -> None:
        left = max(0, int(login["expires_at"] - time.time()))
        again = "\r" if countdown else ""
        print(f"{again}Waiting for the login; the code expires in {left // 60}:{left % 60:02d}. ", end="", flush=True)

    waiting(login)
    try:
        login = client.follow(login, 1.0, waiting if countdown else None)
    except KeyboardInterrupt:
        _print()
        return client.cancel(login["id"])
    _print()
    return login


def logout(client: ServerClient, args: argparse.Namespace) -> int:
    """Log out on the server: it forgets and revokes the login."""
    backend = _backend(client, args)
    result = client.logout(backend, args.provider)
    if not result.get("logged_out"):
        _print(f"Not logged in to {backend}.")
        return NOT_LOGGED_IN
    _print(result.get("message") or f"Logged out of {backend}.")
    return OK


def token(client: ServerClient, args: argparse.Namespace) -> int:
    """Print an access token (or openEO's bearer string) for $(…) and pipes; not to a terminal unless forced."""
    if sys.stdout.isatty() and not args.force:
        _say(
            "Not printing a token to a terminal, where it would stay in the scrollback. Use it as "
            "$(jupyter openeo-auth token) or in a pipe, or pass --force."
        )
        return FAILED
    answer = client.token(_backend(client, args), args.provider, args.min_valid)
    print(answer["bearer"] if args.bearer else answer["access_token"])
    return OK


class _Parser(argparse.ArgumentParser):
    """argparse's parser, except that a wrong command line exits with FAILED: its usual 2 means "not logged in"
    here, and a script must not mistake a typo for that."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(FAILED, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="jupyter openeo-auth",
        description="The running Jupyter server's openEO login, from a terminal.",
        epilog=f"Exit codes: {OK} ok, {NOT_LOGGED_IN} not logged in, {LOG_IN_AGAIN} log in again, {NO_SERVER} no "
        f"server found, {SEVERAL_SERVERS} several servers (name one), {FAILED} any other failure.",
    )
    parser.add_argument(
        "--remote",
        action="store_true",
        help="let the server's token (JUPYTER_TOKEN) go to JUPYTER_OPENEO_AUTH_SERVER on another machine, over "
        "https only",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("status", help="the server and its openEO sessions")
    p = commands.add_parser("login", help="log in on the server (device code: link, code, QR code)")
    p.add_argument("backend", nargs="?", help="the openEO back-end (default: the server's default back-end)")
    p.add_argument("--provider", help="the OpenID provider's id at the back-end")
    p.add_argument("--client-credentials", action="store_true", help="the service account configured on the server")
    p.add_argument("--password", metavar="USER", help="log in as USER with a password (asked, never echoed)")
    p = commands.add_parser("logout", help="log out on the server (forget and revoke)")
    p.add_argument("backend", nargs="?")
    p.add_argument("--provider")
    p = commands.add_parser("token", help="print an access token, for $(…) and pipes")
    p.add_argument("backend", nargs="?")
    p.add_argument("--provider")
    p.add_argument("--min-valid", type=float, default=60, help="seconds the token stays valid, at least")
    p.add_argument("--bearer", action="store_true", help="print openEO's bearer string oidc/PROVIDER/TOKEN")
    p.add_argument("--force", action="store_true", help="print to a terminal too")
    p = commands.add_parser("demo", help="JupyterLab with a local OpenID provider and openEO back-end")
    p.add_argument(
        "--port", type=int, default=None, help="JupyterLab's port (default 8888, or the next free one after it)"
    )
    p.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    p.add_argument(
        "--services-only",
        action="store_true",
        help="start only the provider and the back-end, in the background, for a Jupyter server started next "
        "(Binder's start script): the provider's pages are served through that server's jupyter-server-proxy; "
        "the demo notebook goes into the current folder; prints the shell line that gives the server its "
        "settings",
    )
    p.add_argument(
        "--base-url",
        default=None,
        help="with --services-only: the Jupyter server's base URL (default: $JUPYTERHUB_SERVICE_PREFIX or /)",
    )
    return parser


#: The exit code of an error a script can test for; any other error is FAILED.
EXIT_CODES = (
    (SeveralServers, SEVERAL_SERVERS),
    (NoServer, NO_SERVER),
    (NotLoggedIn, NOT_LOGGED_IN),
    (LoginRequired, LOG_IN_AGAIN),
    (OpenEOAuthError, FAILED),
)

COMMANDS = {"status": status, "login": login, "logout": logout, "token": token}


def main(argv: list[str] | None = None) -> int:
    """`jupyter openeo-auth COMMAND`; returns the exit code."""
    args = _parser().parse_args(argv)
    if args.remote:
        os.environ[REMOTE_SERVER_ENV] = "1"
    if args.command == "demo":
        from .demo import run_demo, start_services

        if args.services_only:
            return start_services(args.base_url)
        return run_demo(args.port, open_browser=not args.no_browser)
    try:
        return COMMANDS[args.command](ServerClient(), args)
    except NotLoggedIn as e:  # the server's sentence names the notebook's ways: a terminal has its own
        backend = getattr(args, "backend", None) or ""
        _say(f"{e.message.split(' Log in first:')[0]} Log in: jupyter openeo-auth login {backend}".rstrip())
        return NOT_LOGGED_IN
    except OpenEOAuthError as e:
        _say(e.message)
        return next(code for kind, code in EXIT_CODES if isinstance(e, kind))


if __name__ == "__main__":
    sys.exit(main())
