"""What every kernel pays for the extension, openEO or not: first cell, modules and peak RSS at start.

Measured on a Jupyter server with the extension next to the same server without it, in one run.

    python benchmarks/run.py kernel_start
"""

from __future__ import annotations

import secrets
import statistics
import tempfile
import time

import requests
from jupyter_client import BlockingKernelClient

from jupyter_openeo_auth.devstack import jupyter_service

FIRST_CELL = (
    "import sys, resource; print(len(sys.modules), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
    "'requests' in sys.modules, 'httpx' in sys.modules)"
)


def first_cell(server, headers) -> tuple[float, str]:
    """(seconds from asking the server for a kernel to its first cell's answer, what the cell printed)."""
    started = time.perf_counter()
    kernel = requests.post(f"{server.url}/api/kernels", json={"name": "python3"}, headers=headers, timeout=60).json()
    client = BlockingKernelClient(connection_file=str(server.runtime_dir / f"kernel-{kernel['id']}.json"))
    client.load_connection_file()
    client.start_channels()
    out: list[str] = []
    try:
        client.wait_for_ready(timeout=60)
        client.execute_interactive(
            FIRST_CELL,
            timeout=60,
            output_hook=lambda m: out.append(m["content"].get("text", "")) if m["msg_type"] == "stream" else None,
        )
        return time.perf_counter() - started, "".join(out).strip()
    finally:
        client.stop_channels()
        requests.delete(f"{server.url}/api/kernels/{kernel['id']}", headers=headers, timeout=30)


def main(kernels: int = 6) -> dict:
    token = secrets.token_hex(16)
    headers = {"Authorization": f"token {token}"}
    with tempfile.TemporaryDirectory() as folder:
        plain = jupyter_service(
            folder, token, argv=["--ServerApp.jpserver_extensions={'jupyter_openeo_auth': False}"]
        ).start()
        ours = jupyter_service(folder, token, config={"OpenEOAuth": {"persist": "never"}}).start()
        try:
            times: dict[str, list[float]] = {"plain": [], "ours": []}
            said: dict[str, str] = {}
            first_cell(plain, headers), first_cell(ours, headers)  # warm the disk cache
            for _ in range(kernels):  # interleaved, so both see the same machine load
                for name, server in (("plain", plain), ("ours", ours)):
                    seconds, said[name] = first_cell(server, headers)
                    times[name].append(seconds)
        finally:
            plain.cleanup()
            ours.cleanup()
    modules = {name: int(text.split()[0]) for name, text in said.items()}
    rss = {name: int(text.split()[1]) / 1024 for name, text in said.items()}  # ru_maxrss: KiB on Linux
    plain_s, ours_s = statistics.median(times["plain"]), statistics.median(times["ours"])
    return {
        "first cell, without the extension (median, s)": f"{plain_s:.2f}",
        "first cell, with the extension (median, s)": f"{ours_s:.2f}",
        "ratio (target <= 1.05)": f"{ours_s / plain_s:.2f}x",
        "modules at start, without / with": f"{modules['plain']} / {modules['ours']}",
        "modules more at start (target <= 30)": modules["ours"] - modules["plain"],
        "kernel peak RSS after the first cell, without / with (MiB)": f"{rss['plain']:.1f} / {rss['ours']:.1f}",
        "requests, httpx loaded at start (with)": " ".join(said["ours"].split()[2:]),
    }
