"""The token route under load, each figure next to a reference measured in the same run on the same server:
latency and throughput against `GET /api/status`, provider requests for many token reads, refreshes for
many concurrent stale requests, and token latency while 100 logins poll a provider that never answers.

    python benchmarks/run.py server_load
"""

from __future__ import annotations

import asyncio
import json
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import requests
from token_latency import server_login

from jupyter_openeo_auth.devstack import DevStack, jupyter_service

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from faults import FaultServer  # noqa: E402 - the tests' loopback fault server: a provider that hangs

REFRESH = "refresh_token"


def p50(samples) -> float:
    return statistics.median(samples) * 1000


def p95(samples) -> float:
    ordered = sorted(samples)
    return ordered[int(len(ordered) * 0.95)] * 1000


async def latencies(client: httpx.AsyncClient, method: str, url: str, n: int, **kwargs) -> list:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        resp = await client.request(method, url, **kwargs)
        samples.append(time.perf_counter() - started)
        assert resp.status_code == 200, resp.text
    return samples


async def throughput(client: httpx.AsyncClient, method: str, url: str, seconds: float, workers: int, **kwargs) -> float:
    """Requests per second answered with 200 by `workers` concurrent clients."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker():
        nonlocal done
        while time.perf_counter() < deadline:
            resp = await client.request(method, url, **kwargs)
            assert resp.status_code == 200
            done += 1

    await asyncio.gather(*(worker() for _ in range(workers)))
    return done / seconds


def stats(stack) -> dict:
    return requests.get(stack.provider.url + "/_test/stats", timeout=5).json()


async def measure(stack, server, token: str, runtime_dir: Path) -> dict:
    api = f"{server.url}/openeo-auth/api"
    user = {"Authorization": f"token {token}"}
    [key_file] = runtime_dir.glob("jupyter-openeo-auth-*.json")
    kernel = {"Authorization": f"openeo-kernel {json.loads(key_file.read_text())['key']}"}
    body = {"backend": stack.backend.url, "min_valid": 60}
    out = {}
    limits = httpx.Limits(max_connections=300)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        await latencies(client, "POST", f"{api}/token", 20, json=body, headers=user)  # warm-up
        status = await latencies(client, "GET", f"{server.url}/api/status", 300, headers=user)
        ours = await latencies(client, "POST", f"{api}/token", 300, json=body, headers=user)
        quiet = await latencies(client, "POST", f"{api}/token", 500, json=body, headers=user)  # nothing pending
        out["POST token p50 ms / GET api/status p50 ms"] = (
            f"{p50(ours):.2f} / {p50(status):.2f} = {p50(ours) / p50(status):.2f}x"
        )

        status_rps = await throughput(client, "GET", f"{server.url}/api/status", 3, 16, headers=user)
        token_rps = await throughput(client, "POST", f"{api}/token", 3, 16, json=body, headers=user)
        out["16 clients: POST token req/s / api/status req/s"] = (
            f"{token_rps:.0f} / {status_rps:.0f} = {token_rps / status_rps:.2f}x"
        )

        before = sum(stats(stack).values())

        async def kernel_reads():
            for _ in range(5):
                resp = await client.post(f"{api}/token", json=body, headers=kernel)
                assert resp.status_code == 200

        await asyncio.gather(*(kernel_reads() for _ in range(20)))
        out["provider requests for 100 token reads from 20 kernels"] = sum(stats(stack).values()) - before

        # Tokens live 3600 s; min_valid 3595 asks for one at most 10 s old (the freshest-token rule).
        await asyncio.sleep(10.5)
        before = stats(stack).get(REFRESH, 0)
        stale = {"backend": stack.backend.url, "min_valid": 3595}
        answers = await asyncio.gather(*(client.post(f"{api}/token", json=stale, headers=kernel) for _ in range(200)))
        assert all(a.status_code == 200 for a in answers)
        out["refreshes for 200 concurrent stale requests"] = stats(stack).get(REFRESH, 0) - before

        with FaultServer(hang_seconds=120) as slow:
            pending = await asyncio.gather(
                *(
                    client.post(f"{api}/logins", json={"backend": f"{slow.url}/be/{i}"}, headers=user)
                    for i in range(100)
                )
            )
            assert all(p.status_code == 202 for p in pending), [p.text for p in pending if p.status_code != 202][:1]
            while slow.hits["/hang-token"] < 32:
                await asyncio.sleep(0.1)
            busy = await latencies(client, "POST", f"{api}/token", 500, json=body, headers=user)
            started = time.perf_counter()
            resp = await client.get(
                f"{api}/providers", params={"backend": stack.backend.url + "/openeo/1.2"}, headers=user
            )
            discovery = time.perf_counter() - started
            assert resp.status_code == 200, resp.text
            out["POST token p95 ms, 100 logins hanging / none pending"] = (
                f"{p95(busy):.2f} / {p95(quiet):.2f} = {p95(busy) / p95(quiet):.2f}x"
            )
            out["discovery of a new back-end meanwhile, ms"] = f"{discovery * 1000:.0f}"
            for p in pending:
                await client.delete(f"{api}/logins/{p.json()['id']}", headers=user)
    return out


def main() -> dict:
    with DevStack(access_token_ttl=3600, device_interval=1) as stack, tempfile.TemporaryDirectory() as root:
        token = secrets.token_hex(16)
        config = {"OpenEOAuth": {"persist": "never", "max_pending_logins": 150, "http_timeout": 5}}
        server = jupyter_service(root, token, config=config).start()
        try:
            server_login(f"{server.url}/openeo-auth/api", {"Authorization": f"token {token}"}, stack.backend.url)
            return asyncio.run(measure(stack, server, token, server.runtime_dir))
        finally:
            server.cleanup()
