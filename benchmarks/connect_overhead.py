"""Overhead of `describe_account()` through `jupyter_openeo_auth.connect()` (a token from the server before
each request) next to an openeo connection holding a static bearer token, in one kernel, in one run.

    python benchmarks/run.py connect_overhead
"""

from __future__ import annotations

import json
import secrets
import tempfile

import requests
from jupyter_client import BlockingKernelClient
from token_latency import server_login

from jupyter_openeo_auth.devstack import DevStack, jupyter_service

KERNEL_CODE = """
import json, statistics, time, openeo
import jupyter_openeo_auth as joa
url = {url!r}
ours = joa.connect(url)
every = joa.connect(url, min_valid=3599)  # the kernel cache never suffices: one server round trip per request
token = joa.get_token(url)
static = openeo.connect(url).authenticate_oidc_access_token(token.value, provider_id=token.provider_id)
def timed(con, n):
    samples = []
    for _ in range(n):
        t = time.perf_counter(); con.describe_account(); samples.append(time.perf_counter() - t)
    return samples
timed(ours, 10); timed(static, 10); timed(every, 10)
a, b, c = [], [], []
for _ in range({rounds}):  # interleaved, so all see the same machine load
    a += timed(ours, 10); b += timed(static, 10); c += timed(every, 10)
print(json.dumps({{"ours": statistics.median(a), "static": statistics.median(b), "every": statistics.median(c)}}))
"""


def run_in_kernel(server, headers, code: str) -> str:
    kernel = requests.post(f"{server.url}/api/kernels", json={"name": "python3"}, headers=headers, timeout=60).json()
    client = BlockingKernelClient(connection_file=str(server.runtime_dir / f"kernel-{kernel['id']}.json"))
    client.load_connection_file()
    client.start_channels()
    out = []
    try:
        client.wait_for_ready(timeout=60)
        reply = client.execute_interactive(
            code,
            timeout=600,
            output_hook=lambda m: out.append(m["content"].get("text", "")) if m["msg_type"] == "stream" else None,
        )
        assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        client.stop_channels()
        requests.delete(f"{server.url}/api/kernels/{kernel['id']}", headers=headers, timeout=30)
    return "".join(out)


def main(rounds: int = 20) -> dict:
    with DevStack(access_token_ttl=3600, device_interval=1) as stack, tempfile.TemporaryDirectory() as root:
        token = secrets.token_hex(16)
        server = jupyter_service(root, token, config={"OpenEOAuth": {"persist": "never"}}).start()
        try:
            headers = {"Authorization": f"token {token}"}
            server_login(f"{server.url}/openeo-auth/api", headers, stack.backend.url)
            result = json.loads(
                run_in_kernel(server, headers, KERNEL_CODE.format(url=stack.backend.url, rounds=rounds))
            )
        finally:
            server.cleanup()
    return {
        "describe_account via connect() p50 ms": round(result["ours"] * 1000, 2),
        "describe_account static bearer p50 ms": round(result["static"] * 1000, 2),
        "describe_account via connect(min_valid=3599) p50 ms": round(result["every"] * 1000, 2),
        "overhead ratio (connect / static)": round(result["ours"] / result["static"], 2),
        "overhead ratio, token fetched every request": round(result["every"] / result["static"], 2),
    }
