"""`jupyter openeo-auth demo`: a local OpenID provider, the openEO dummy back-end and JupyterLab with a demo
notebook, in one command. Ctrl-C stops all three and removes what the demo created."""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shlex
import shutil
import signal
import sys
import tempfile
import threading
import webbrowser
from pathlib import Path
from typing import Optional

import nbformat

from .devstack import DEMO_USERS, DevStack, DevStackError, check_port_free, install_provider, jupyter_service

NOTEBOOK = "openeo-login-demo.ipynb"


def demo_notebook(backend_url: str) -> nbformat.NotebookNode:
    """The notebook a newcomer runs: log in through the server, then use the connection."""
    cells = [
        nbformat.v4.new_markdown_cell(
            "# Log in to openEO once per Jupyter server\n\n"
            "Run the cells. The login widget shows a link and a code: open the link, enter the code and log in "
            "with your account at the back-end (in the local demo, the login page names its user and password). "
            "The server keeps the login and renews it; every notebook and kernel of this server reuses it."
        ),
        nbformat.v4.new_code_cell("%load_ext jupyter_openeo_auth"),
        nbformat.v4.new_code_cell(f"%openeo_login {backend_url}"),
        nbformat.v4.new_markdown_cell("Once logged in, `connection` is an authenticated `openeo.Connection`:"),
        nbformat.v4.new_code_cell("connection.describe_account()"),
        nbformat.v4.new_markdown_cell(
            "With an account at a real back-end, the same two lines log you in there:\n\n"
            "```python\n%load_ext jupyter_openeo_auth\n%openeo_login https://openeo.cloud\n```"
        ),
    ]
    kernelspec = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    return nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": kernelspec})


def run_demo(port: int, open_browser: bool) -> int:
    """Start everything, print how to log in, wait for Ctrl-C, clean up. Returns the exit status."""
    missing = [m for m in ("openeo_driver", "jupyterlab") if importlib.util.find_spec(m) is None]
    if missing:
        print(f"The demo needs {', '.join(missing)}: pip install 'jupyter-openeo-auth[demo]'", file=sys.stderr)
        return 1
    try:
        check_port_free(port)
    except DevStackError:
        print(f"Cannot start the demo: port {port} on 127.0.0.1 is taken. Choose another with --port.", file=sys.stderr)
        return 1
    try:
        stack = DevStack(access_token_ttl=300, device_interval=2, provider_folder=install_provider())
    except DevStackError as e:
        print(f"Cannot start the demo: {e}", file=sys.stderr)
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="openeo-auth-demo-"))
    lab = None
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stack.start()
        nbformat.write(demo_notebook(stack.backend.url), workdir / NOTEBOOK)
        token = secrets.token_hex(24)
        # Assigned before starting, so that a failed start still removes its config file (it holds the token).
        lab = jupyter_service(
            workdir, token, port=port, app="lab",
            config={"OpenEOAuth": {"persist": "never", "default_backend": stack.backend.url}},
        )
        lab.start(timeout=120)
        url = f"{lab.url}/lab/tree/{NOTEBOOK}?token={token}"
        user, (password, name, _) = next(iter(DEMO_USERS.items()))
        print(
            f"\nopenEO login demo is running.\n"
            f"  JupyterLab:       {url}\n"
            f"  openEO back-end:  {stack.backend.url}   (pid {stack.backend.process.pid})\n"
            f"  OpenID provider:  {stack.provider.url}   (pid {stack.provider.process.pid})\n"
            f"  JupyterLab pid:   {lab.process.pid}\n"
            f"  Notebook folder:  {workdir}\n"
            f"On the provider's login page, log in as user `{user}` with password `{password}` ({name}).\n"
            f"Press Ctrl-C to stop the demo.\n",
            flush=True,
        )
        if open_browser:
            webbrowser.open(url)
        while not stop.wait(0.5):
            if not (lab.running and stack.provider.running and stack.backend.running):
                print("A demo service stopped on its own; shutting the demo down.", file=sys.stderr)
                return 1
        return 0
    except DevStackError as e:
        print(f"Cannot start the demo: {e}", file=sys.stderr)
        return 1
    finally:
        print("Stopping the demo ...", flush=True)
        if lab is not None:
            lab.cleanup()
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        print("Demo stopped; its files are removed.", flush=True)


def start_services(base_url: Optional[str] = None) -> int:
    """`demo --services-only`: the provider and the back-end in the background, for a Jupyter server started
    afterwards at `base_url` (Binder's `start`: only that server's address reaches the browser). The provider
    serves its pages under `{base_url}proxy/absolute/PORT/`, the path at which jupyter-server-proxy forwards
    them unchanged, so the browser logs in through the Jupyter server while the server and the back-end talk to
    the provider on 127.0.0.1. The demo notebook goes into the current folder. Prints on standard output the
    shell line that gives the server its settings (`eval` it, then start the server); the rest goes to standard
    error. The services run until they are killed (the container's end, on Binder)."""
    missing = [m for m in ("openeo_driver", "jupyter_server_proxy") if importlib.util.find_spec(m) is None]
    if missing:
        print(f"The demo's services need {', '.join(missing)}: "
              "pip install 'jupyter-openeo-auth[demo]' jupyter-server-proxy", file=sys.stderr)
        return 1
    inner = (base_url or os.environ.get("JUPYTERHUB_SERVICE_PREFIX") or "").strip("/")
    base_url = f"/{inner}/" if inner else "/"
    try:
        stack = DevStack(
            access_token_ttl=300, device_interval=2, provider_folder=install_provider(),
            provider_base_path=lambda port: f"{base_url}proxy/absolute/{port}",
        ).start()
    except DevStackError as e:
        print(f"Cannot start the demo's services: {e}", file=sys.stderr)
        return 1
    nbformat.write(demo_notebook(stack.backend.url), Path.cwd() / NOTEBOOK)
    config = Path(tempfile.mkdtemp(prefix="openeo-auth-demo-config-"))
    settings = {"OpenEOAuth": {"persist": "never", "default_backend": stack.backend.url}}
    (config / "jupyter_server_config.json").write_text(json.dumps(settings))
    user, (password, name, _) = next(iter(DEMO_USERS.items()))
    print(
        f"openEO login demo services are running in the background.\n"
        f"  openEO back-end:  {stack.backend.url}   (pid {stack.backend.process.pid})\n"
        f"  OpenID provider:  {stack.provider.issuer}   (pid {stack.provider.process.pid}), for the browser at\n"
        f"                    {base_url}proxy/absolute/{stack.provider.port}/ of the Jupyter server\n"
        f"  Demo notebook:    {Path.cwd() / NOTEBOOK}\n"
        f"On the provider's login page, log in as user `{user}` with password `{password}` ({name}).",
        file=sys.stderr, flush=True,
    )
    path = os.pathsep.join(p for p in (str(config), os.environ.get("JUPYTER_CONFIG_PATH")) if p)
    print(f"export JUPYTER_CONFIG_PATH={shlex.quote(path)}", flush=True)
    return 0


def main(argv=None) -> int:
    """`jupyter openeo-auth ...` (see jupyter_openeo_auth.cli, which has the demo as one command)."""
    from .cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
