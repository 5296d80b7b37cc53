"""`jupyter openeo-auth demo`: a local OpenID provider, the openEO dummy back-end and JupyterLab with a demo
notebook, in one command. Ctrl-C stops all three and removes what the demo created for itself; the notebooks
stay, in ./openeo-auth-demo."""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import webbrowser
from pathlib import Path

import nbformat

from .devstack import (
    DEMO_USERS,
    DevStack,
    DevStackError,
    Service,
    check_port_free,
    free_port,
    install_provider,
    jupyter_service,
)

NOTEBOOK = "openeo-login-demo.ipynb"


def demo_notebook(backend_url: str | None) -> nbformat.NotebookNode:
    """The notebook a newcomer runs: log in through the server, then use the connection. Without a back-end URL,
    `%openeo_login` uses the server's default back-end (the demo's, whatever port it has this time)."""
    cells = [
        nbformat.v4.new_markdown_cell(
            "# Log in to openEO once per Jupyter server\n\n"
            "Run the cells. The login widget shows a link and a code: open the link, enter the code and log in "
            "with your account at the back-end (in the local demo, the login page names its user and password). "
            "The server keeps the login and renews it; every notebook and kernel of this server reuses it."
        ),
        nbformat.v4.new_code_cell(f"%openeo_login {backend_url}" if backend_url else "%openeo_login"),
        nbformat.v4.new_markdown_cell("Once logged in, `connection` is an authenticated `openeo.Connection`:"),
        nbformat.v4.new_code_cell("connection.describe_account()"),
        nbformat.v4.new_markdown_cell(
            "With an account at a real back-end, the same line logs you in there (the Jupyter server loads "
            "`%openeo_login` into every kernel it starts):\n\n```python\n%openeo_login https://openeo.cloud\n```"
        ),
    ]
    kernelspec = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    return nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": kernelspec})


#: The folder of the current directory where the demo keeps its notebooks; kept when the demo stops.
WORKDIR = "openeo-auth-demo"


class _Output:
    """The demo's printing: a closed pipe (`demo | tee log`, then Ctrl-C ends tee) must not stop the clean-up."""

    def __init__(self):
        self.broken = False

    def say(self, text: str, err: bool = False) -> None:
        if self.broken:
            return
        try:
            print(text, file=sys.stderr if err else sys.stdout, flush=True)
        except OSError:  # BrokenPipeError, or a closed terminal (SIGHUP)
            self.broken = True
            devnull = os.open(os.devnull, os.O_WRONLY)
            for stream in (sys.stdout, sys.stderr):  # so that the interpreter's last flush does not fail either
                try:
                    os.dup2(devnull, stream.fileno())
                except (OSError, ValueError):
                    pass


class _JupyterState:
    """Jupyter's own files for the demo's JupyterLab and kernels (settings, workspaces, the kernels' IPython
    profile and history, notebook signatures, the cookie secret) in a temporary folder, removed at the end:
    the user's next JupyterLab sees nothing of the demo. The runtime folder stays the user's, so that
    `jupyter openeo-auth` in any shell finds the demo's server; folders the server had to create for it are
    removed again when empty."""

    def __init__(self):
        from jupyter_core.paths import jupyter_runtime_dir

        self.folder = Path(tempfile.mkdtemp(prefix="openeo-auth-demo-jupyter-"))
        self.runtime = Path(jupyter_runtime_dir())
        self.made = [p for p in (self.runtime, *self.runtime.parents) if not p.exists()]
        # No "get notified about official Jupyter news?" pop-up over the demo (the news are not the demo's).
        news = self.folder / "lab-settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
        news.parent.mkdir(parents=True)
        news.write_text('{"fetchNews": "false"}')

    def env(self) -> dict:
        names = {
            "JUPYTERLAB_SETTINGS_DIR": "lab-settings",
            "JUPYTERLAB_WORKSPACES_DIR": "lab-workspaces",
            "JUPYTER_DATA_DIR": "data",
            "IPYTHONDIR": "ipython",
        }
        return {**{k: str(self.folder / v) for k, v in names.items()}, "JUPYTER_RUNTIME_DIR": str(self.runtime)}

    def config(self) -> dict:
        # jupyter-lsp asks `npm prefix -g` at start, and npm leaves a log in ~/.npm: the demo needs no LSP.
        return {
            "ServerApp": {
                "cookie_secret_file": str(self.folder / "cookie_secret"),
                "jpserver_extensions": {"jupyter_lsp": False},
            }
        }

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        for folder in self.made:  # innermost first
            try:
                folder.rmdir()
            except OSError:
                break


def _notebook_folder() -> Path:
    """./openeo-auth-demo with the demo notebook; a notebook there already (the user's, maybe changed) is kept."""
    folder = Path.cwd() / WORKDIR
    folder.mkdir(exist_ok=True)
    if not (folder / NOTEBOOK).exists():
        nbformat.write(demo_notebook(None), folder / NOTEBOOK)
    return folder


#: The demo's addresses stay the same from one run to the next (a kept notebook names its back-end), when free.
#: Outside Jupyter's own range (8888 and the 50 ports it tries after it).
PROVIDER_PORT, BACKEND_PORT, LAB_PORT = 8780, 8781, 8888
#: How many ports after LAB_PORT the demo tries when it is taken and none was asked for (as Jupyter does).
LAB_PORT_TRIES = 20


def _port(preferred: int, what: str, out: _Output) -> int:
    """`preferred` when free, else any free port, said aloud (a notebook naming the usual URL needs the new one)."""
    try:
        check_port_free(preferred)
        return preferred
    except DevStackError:
        port = free_port()
        out.say(f"Port {preferred} is taken: the demo's {what} is on port {port} this time.", err=True)
        return port


def _lab_port(asked: int | None, out: _Output) -> int | None:
    """JupyterLab's port: the one asked for (None when it is taken), else 8888 or the next free one after it."""
    for port in [asked] if asked is not None else range(LAB_PORT, LAB_PORT + LAB_PORT_TRIES):
        try:
            check_port_free(port)
        except DevStackError:
            continue
        if asked is None and port != LAB_PORT:
            out.say(f"Port {LAB_PORT} is taken (another JupyterLab?): the demo's JupyterLab is on {port}.", err=True)
        return port
    return None


def run_demo(port: int | None, open_browser: bool) -> int:
    """Start everything, print how to log in, wait for Ctrl-C (or SIGTERM, SIGHUP), clean up. Returns the exit
    status. Every child ends with the demo, even when the demo is killed. `port`: JupyterLab's, when asked for."""
    out = _Output()
    chosen = _lab_port(port, out)
    if chosen is None:
        asked = (
            f"port {port} on 127.0.0.1 is"
            if port is not None
            else f"ports {LAB_PORT}-{LAB_PORT + LAB_PORT_TRIES - 1} are"
        )
        out.say(f"Cannot start the demo: {asked} taken. Choose another with --port.", err=True)
        return 1
    port = chosen
    stack = _prepare(out, port)
    if stack is None:
        return 1
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop.set())
    state, lab = _JupyterState(), None
    try:
        workdir = _notebook_folder()
        for service in (stack.provider, stack.backend):
            service.die_with_parent = True
        stack.start()
        token = secrets.token_hex(24)
        # Assigned before starting, so that a failed start still removes its config file (it holds the token).
        lab = jupyter_service(
            workdir,
            token,
            port=port,
            app="lab",
            env=state.env(),
            config={"OpenEOAuth": {"persist": "never", "default_backend": stack.backend.url}, **state.config()},
        )
        lab.die_with_parent = True
        lab.start(timeout=120)
        url = f"{lab.url}/lab/tree/{NOTEBOOK}?token={token}"
        out.say(_banner(url, stack, lab, workdir))
        if open_browser:
            webbrowser.open(url)
        while not stop.wait(0.5):
            if not (lab.running and stack.provider.running and stack.backend.running):
                out.say("A demo service stopped on its own; shutting the demo down.", err=True)
                return 1
        return 0
    except DevStackError as e:
        out.say(f"Cannot start the demo: {e}", err=True)
        return 1
    finally:
        out.say("Stopping the demo ...")
        if lab is not None:
            lab.cleanup()
        stack.stop()
        state.remove()
        out.say(f"Demo stopped. Your notebooks are kept in {Path.cwd() / WORKDIR}.")


def _prepare(out: _Output, port: int) -> DevStack | None:
    """The demo's stack, not started yet; None, after saying why, when the demo cannot run here."""
    missing = [m for m in ("openeo_driver", "jupyterlab") if importlib.util.find_spec(m) is None]
    if missing:
        out.say(f"The demo needs {', '.join(missing)}: pip install 'jupyter-openeo-auth[demo]'", err=True)
        return None
    try:
        folder = install_provider()  # first: without Node.js, that is the one thing to say
        return DevStack(
            provider_port=_port(PROVIDER_PORT, "OpenID provider", out),
            backend_port=_port(BACKEND_PORT, "openEO back-end", out),
            access_token_ttl=300,
            device_interval=2,
            provider_folder=folder,
        )
    except DevStackError as e:
        out.say(f"Cannot start the demo: {e}", err=True)
        return None


def _banner(url: str, stack: DevStack, lab: Service, workdir: Path) -> str:
    user, (password, name, _) = next(iter(DEMO_USERS.items()))
    return (
        f"\nopenEO login demo is running.\n"
        f"  JupyterLab:       {url}\n"
        f"  openEO back-end:  {stack.backend.url}   (pid {stack.backend.pid})\n"
        f"  OpenID provider:  {stack.provider.url}   (pid {stack.provider.pid})\n"
        f"  JupyterLab pid:   {lab.pid}\n"
        f"  Notebook folder:  {workdir}   (yours: kept when the demo stops)\n"
        f"On the provider's login page, log in as user `{user}` with password `{password}` ({name}).\n"
        f"`jupyter openeo-auth status` in any shell of yours finds this server.\n"
        f"Press Ctrl-C to stop the demo; it removes the provider, the back-end and JupyterLab's settings.\n"
    )


#: Run in a process of its own: wait until the processes (argv[1], comma-separated pids) are gone, then remove
#: the paths (argv[2:]): the logs and the config folder of `demo --services-only`, whose services outlive it.
_REAPER = """
import os, shutil, sys, time
pids = [int(p) for p in sys.argv[1].split(",") if p]
def alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True
while any(alive(p) for p in pids):
    time.sleep(1)
for path in sys.argv[2:]:
    shutil.rmtree(path, ignore_errors=True) if os.path.isdir(path) else os.path.exists(path) and os.unlink(path)
"""


def _remove_when_gone(pids: list, paths: list) -> None:
    """Remove these paths once these processes ended (in a detached process: the caller returns at once)."""
    subprocess.Popen(
        [sys.executable, "-c", _REAPER, ",".join(str(p) for p in pids if p), *(str(p) for p in paths)],
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def start_services(base_url: str | None = None) -> int:
    """`demo --services-only`: the provider and the back-end in the background, for a Jupyter server started
    afterwards at `base_url` (Binder's `start`: only that server's address reaches the browser). The provider
    serves its pages under `{base_url}proxy/absolute/PORT/`, the path at which jupyter-server-proxy forwards
    them unchanged, so the browser logs in through the Jupyter server while the server and the back-end talk to
    the provider on 127.0.0.1. The demo notebook goes into the current folder. Prints on standard output the
    shell line that gives the server its settings (`eval` it, then start the server); the rest goes to standard
    error. The services run until they are killed (the container's end, on Binder)."""
    missing = [m for m in ("openeo_driver", "jupyter_server_proxy") if importlib.util.find_spec(m) is None]
    if missing:
        print(
            f"The demo's services need {', '.join(missing)}: "
            "pip install 'jupyter-openeo-auth[demo]' jupyter-server-proxy",
            file=sys.stderr,
        )
        return 1
    inner = (base_url or os.environ.get("JUPYTERHUB_SERVICE_PREFIX") or "").strip("/")
    base_url = f"/{inner}/" if inner else "/"
    try:
        out = _Output()
        folder = install_provider()  # first: without Node.js, that is the one thing to say
        stack = DevStack(
            provider_port=_port(PROVIDER_PORT, "OpenID provider", out),
            backend_port=_port(BACKEND_PORT, "openEO back-end", out),
            access_token_ttl=300,
            device_interval=2,
            provider_folder=folder,
            provider_base_path=lambda port: f"{base_url}proxy/absolute/{port}",
        ).start()
    except DevStackError as e:
        print(f"Cannot start the demo's services: {e}", file=sys.stderr)
        return 1
    if not (Path.cwd() / NOTEBOOK).exists():  # a notebook there already (the user's, maybe changed) is kept
        nbformat.write(demo_notebook(None), Path.cwd() / NOTEBOOK)  # the server's default back-end: the demo's
    config = Path(tempfile.mkdtemp(prefix="openeo-auth-demo-config-"))
    settings = {"OpenEOAuth": {"persist": "never", "default_backend": stack.backend.url}}
    (config / "jupyter_server_config.json").write_text(json.dumps(settings))
    services = (stack.provider, stack.backend)
    _remove_when_gone([s.pid for s in services], [config, *(p for s in services for p in s.created)])
    user, (password, name, _) = next(iter(DEMO_USERS.items()))
    print(
        f"openEO login demo services are running in the background.\n"
        f"  openEO back-end:  {stack.backend.url}   (pid {stack.backend.pid})\n"
        f"  OpenID provider:  {stack.provider.issuer}   (pid {stack.provider.pid}), for the browser at\n"
        f"                    {base_url}proxy/absolute/{stack.provider.port}/ of the Jupyter server\n"
        f"  Demo notebook:    {Path.cwd() / NOTEBOOK}\n"
        f"On the provider's login page, log in as user `{user}` with password `{password}` ({name}).",
        file=sys.stderr,
        flush=True,
    )
    path = os.pathsep.join(p for p in (str(config), os.environ.get("JUPYTER_CONFIG_PATH")) if p)
    print(f"export JUPYTER_CONFIG_PATH={shlex.quote(path)}", flush=True)
    return 0
