"""The Jupyter server extension: configuration traits and the broker's life cycle."""

from __future__ import annotations

import os
from pathlib import Path

from jupyter_events import EventLogger
from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Enum, Float, Int, List, Unicode, default

from ..broker import SessionSettings, TokenBroker, make_store
from ..broker.hub_tokens import HubTokens
from ..kernel.autoload import set_kernel_startup
from ..oidc.trust import allow_plain_http
from ..wire import EVENT_SCHEMA, STORE_KEY_ENV
from .config import EntryList, checked_urls, service_accounts
from .handlers import handlers
from .kernel_key import KernelKey
from .terminals import keep_environment_first

BROKER = "openeo_auth_broker"
#: jupyter_server's own event on starting, interrupting, restarting and shutting down kernels.
KERNEL_ACTIONS = "https://events.jupyter.org/jupyter_server/kernel_actions/v1"


def hub_tokens(http):
    """On a JupyterHub single-user server: the source of the hub's own login (used when auth_state is there);
    through the hub's token service when JUPYTER_OPENEO_AUTH_HUB_SERVICE names it."""
    env = os.environ
    if env.get("JUPYTERHUB_API_URL") and env.get("JUPYTERHUB_USER") and env.get("JUPYTERHUB_API_TOKEN"):
        return HubTokens(
            env["JUPYTERHUB_API_URL"],
            env["JUPYTERHUB_USER"],
            env["JUPYTERHUB_API_TOKEN"],
            http,
            service_url=env.get("JUPYTER_OPENEO_AUTH_HUB_SERVICE"),
        )
    return None


class OpenEOAuth(ExtensionApp):
    """Logs in to openEO back-ends once per Jupyter server and hands access tokens to kernels."""

    name = "jupyter_openeo_auth"

    default_backend = Unicode(
        help="The back-end %openeo_login uses when given none (else $OPENEO_BACKEND, else https://openeo.cloud)."
    ).tag(config=True)
    persist = Enum(
        ["auto", "always", "never"],
        default_value="auto",
        help="Keep refresh tokens in the OS keyring: auto (when a safe keyring exists), always, never.",
    ).tag(config=True)
    min_valid = Float(60.0, help="Seconds an access token handed to a kernel stays valid, at least.").tag(config=True)
    refresh_margin = Float(
        300.0, help="Renew access tokens this many seconds before they expire (at most a third of their lifetime)."
    ).tag(config=True)
    http_timeout = Float(10.0, help="Timeout in seconds of every request to a back-end or provider.").tag(config=True)
    keyring_timeout = Float(5.0, help="Timeout in seconds of every keyring call.").tag(config=True)
    client_credentials = EntryList(
        help=(
            "Service accounts: [{'backend': URL, 'provider_id'?: ID, 'issuer'?: URL, 'client_id': ID, and one of "
            "'secret_env': VAR, 'secret_file': PATH, 'secret_keyring': 'service/username'}]. Never the secret "
            "itself. Each account logs in with one provider (provider_id, else the back-end's first) and sends "
            "its secret to one issuer (issuer, else the one it first used)."
        ),
    ).tag(config=True)
    allowed_backends = List(
        Unicode(), help="When set, only these back-ends (and URLs below them) may be logged in to."
    ).tag(config=True)
    trusted_keyring = Unicode(
        help=(
            "A keyring back-end to trust with refresh tokens besides the desktop ones (Secret Service, macOS "
            "Keychain, Windows Credential Locker, KWallet), as module.Class, e.g. keyrings.cryptfile.cryptfile."
            "CryptFileKeyring. PYTHON_KEYRING_BACKEND counts as named too."
        )
    ).tag(config=True)
    insecure_http_hosts = List(
        Unicode(),
        help=(
            "For test set-ups only: hosts besides this machine whose OpenID issuers and endpoints may be reached "
            "over plain http. Refresh tokens, passwords and secrets then cross the network in clear text."
        ),
    ).tag(config=True)
    max_pending_logins = Int(
        20, help="Device logins that may wait for approval at once on this server; more get HTTP 429."
    ).tag(config=True)

    load_in_kernels = Bool(
        True,
        help=(
            "Load the kernel side (%openeo_login, and the openeo client's authenticate_oidc() using this server's "
            "login) into the IPython kernels this server starts, through their PYTHONSTARTUP. Off: kernels load "
            "it with %load_ext jupyter_openeo_auth."
        ),
    ).tag(config=True)

    @default("default_backend")
    def _default_backend(self):
        return os.environ.get("OPENEO_BACKEND") or "https://openeo.cloud"

    def initialize_settings(self):
        """Create the broker and share it with the handlers through the tornado settings."""
        self._events().register_event_schema(Path(__file__).parent / "events" / "session.yaml")
        accounts = service_accounts(self.client_credentials)  # a bad entry stops the extension, with a sentence
        allowed = checked_urls(self.allowed_backends, "allowed_backends")
        allow_plain_http(self.insecure_http_hosts)
        # The hub's key for sealed logins leaves the environment before any kernel or terminal inherits it.
        sealed_key = os.environ.pop(STORE_KEY_ENV, None)
        store = make_store(
            self.persist, self.log, timeout=self.keyring_timeout, trusted=self.trusted_keyring, sealed_key=sealed_key
        )
        for account in accounts:
            account.take_env_secret()  # before any kernel starts and inherits the environment
        self._undo_kernel_startup = (
            set_kernel_startup() if self.load_in_kernels else (lambda: None)
        )  # kernels inherit it
        self.broker = TokenBroker(
            settings=SessionSettings(min_valid=self.min_valid, refresh_margin=self.refresh_margin),
            http_timeout=self.http_timeout,
            store=store,
            service_accounts=accounts,
            allowed_backends=allowed,
            log=self.log,
            max_pending_logins=self.max_pending_logins,
            default_backend=self.default_backend,
            on_event=self._emit,
        )
        self.broker.use_hub(hub_tokens(self.broker.http))
        self.settings[BROKER] = self.broker
        assert self.serverapp is not None, "an extension is initialised by its server"
        self.kernel_key = KernelKey(self.serverapp.runtime_dir)
        self.settings["openeo_auth_kernel_key"] = self.kernel_key

    def _events(self) -> EventLogger:
        """jupyter_server's event bus."""
        logger = self.serverapp.event_logger if self.serverapp is not None else None
        assert logger is not None, "jupyter_server >= 2 has an event logger"
        return logger

    def _emit(self, event: dict) -> None:
        """Put a broker event (never a secret in it) on jupyter_server's event bus."""
        self._events().emit(schema_id=EVENT_SCHEMA, data=event)

    def initialize_handlers(self):
        """The REST API under base_url/openeo-auth/api/."""
        self.handlers.extend(handlers())

    async def _start_jupyter_server_extension(self, serverapp):
        """Tell kernels where to find this server, and restore persisted sessions, once the loop runs."""
        scheme = "https" if serverapp.certfile else "http"
        # Kernels run on this machine: loopback reaches the server whatever --ip says.
        self.kernel_key.write(
            f"{scheme}://127.0.0.1:{serverapp.port}{serverapp.base_url}",
            self.default_backend,
            os.path.abspath(serverapp.root_dir),
        )
        terminals = serverapp.web_app.settings.get("terminal_manager")
        if terminals is not None and keep_environment_first(terminals):
            self.log.debug("Terminals start with %s first on PATH.", terminals.shell_command[-1])
        self._events().add_listener(schema_id=KERNEL_ACTIONS, listener=self._kernel_action)
        await self.broker.restore()

    async def _kernel_action(self, logger: EventLogger, schema_id: str, data: dict) -> None:
        """A kernel was restarted or shut down (jupyter_server's kernel_actions event): the logins it alone
        waited for are cancelled, so the status bar stops saying "logging in…"."""
        if data.get("status") == "success" and data.get("action") in ("restart", "shutdown") and data.get("kernel_id"):
            for login in self.broker.kernel_gone(data["kernel_id"]):
                self.log.info("openEO login to %s cancelled: its kernel is gone.", login.backend_url)

    async def stop_extension(self):
        """Stop background refreshes and pending logins; kernels can no longer find the server."""
        self.kernel_key.remove()
        self._undo_kernel_startup()
        await self.broker.aclose()
