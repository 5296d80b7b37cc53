"""How long a connection already made in a running kernel still answers as the user after a logout on the server
(the kernel's cached token is re-checked every `RECHECK` seconds), with hour-long tokens, in one run.

    python benchmarks/run.py logout_reach
"""

from __future__ import annotations

import json
import secrets
import statistics
import tempfile
import threading
import time

import requests
from connect_overhead import run_in_kernel
from token_latency import server_login

from jupyter_openeo_auth.devstack import DevStack, jupyter_service
from jupyter_openeo_auth.kernel.auth import RECHECK

#: In the kernel: a connection answering as the user, then requests every 50 ms until one is refused.
KERNEL_CODE = """
import json, time
import jupyter_openeo_auth as joa
con = joa.connect({url!r})
con.describe_account()
print(json.dumps({{"ready": time.time()}}), flush=True)
while True:
    try:
        con.describe_account()
    except Exception as e:
        print(json.dumps({{"refused": time.time(), "why": type(e).__name__}}))
        break
    time.sleep(0.05)
"""


def one_logout(server, headers: dict, api: str, backend: str) -> tuple[float, str]:
    """(seconds from the logout to the kernel's first refused request, what it raised)."""
    server_login(api, headers, backend)
    said: list[str] = []
    runner = threading.Thread(
        target=lambda: said.append(run_in_kernel(server, headers, KERNEL_CODE.format(url=backend))), daemon=True
    )
    runner.start()
    time.sleep(8)  # the kernel starts and its connection answers as the user
    logged_out = time.time()
    requests.delete(f"{api}/sessions", params={"backend": backend}, headers=headers, timeout=30).raise_for_status()
    runner.join(120)
    lines = [json.loads(line) for line in "".join(said).splitlines() if line.startswith("{")]
    refused = next(line for line in lines if "refused" in line)
    return refused["refused"] - logged_out, refused["why"]


def main(rounds: int = 3) -> dict:
    with DevStack(access_token_ttl=3600, device_interval=1) as stack, tempfile.TemporaryDirectory() as root:
        token = secrets.token_hex(16)
        server = jupyter_service(root, token, config={"OpenEOAuth": {"persist": "never"}}).start()
        try:
            headers = {"Authorization": f"token {token}"}
            api = f"{server.url}/openeo-auth/api"
            results = [one_logout(server, headers, api, stack.backend.url) for _ in range(rounds)]
        finally:
            server.cleanup()
    delays = [delay for delay, _ in results]
    return {
        "logout to the kernel's first refusal, median (s)": f"{statistics.median(delays):.2f}",
        "logout to refusal, worst of the rounds (s)": f"{max(delays):.2f}",
        "reference: the kernel's re-check period, target <= 5 s": f"{RECHECK:.1f}",
        "what the kernel's request raised": ", ".join(sorted({why for _, why in results})),
    }
