"""The development stack and the demo say clearly what is missing."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from jupyter_openeo_auth.devstack import DevStackError, backend_service, free_port, provider_service

pytestmark = pytest.mark.slow


def test_taken_port_is_reported():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        service = backend_service(None, port, no_oidc=True)
        with pytest.raises(DevStackError, match=f"Port {port} on 127.0.0.1 is already taken"):
            service.start()
    assert service.created and not any(path.exists() for path in service.created)  # its log, removed


def test_missing_node_is_reported(monkeypatch):
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable))
    with pytest.raises(DevStackError, match="Node.js is not installed .* install Node.js 20 or newer"):
        provider_service(free_port())


@pytest.mark.xdist_group("demo-ports")  # it takes the demo's provider port (tests/test_demo.py)
def test_demo_without_node_says_so_in_one_sentence():
    """The one thing to say, even when the demo's own ports are taken too."""
    env = {**os.environ, "PATH": os.path.dirname(sys.executable)}
    from jupyter_openeo_auth.demo import PROVIDER_PORT

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", PROVIDER_PORT))
        taken.listen()
        done = subprocess.run(
            [sys.executable, "-m", "jupyter_openeo_auth.cli", "demo", "--no-browser", "--port", str(free_port())],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert done.stderr.strip().startswith("Cannot start the demo: Node.js is not installed")
    assert "apt-get install nodejs npm" in done.stderr


def test_a_node_too_old_for_the_provider_is_named_with_what_to_do(tmp_path):
    from jupyter_openeo_auth.devstack import DevStackError, check_node

    old = tmp_path / "node"
    old.write_text("#!/bin/sh\necho v18.19.0\n")
    old.chmod(0o755)
    with pytest.raises(DevStackError, match=r"Node.js v18.19.0 is too old .* Node.js 20 or newer"):
        check_node(str(old))
