"""Latency of `POST openeo-auth/api/token` with a warm session, next to the openeo client's own
`authenticate_oidc_refresh_token()` against the same local provider, measured in the same run.

    python benchmarks/run.py token_latency
"""

from __future__ import annotations

import secrets
import statistics
import tempfile
import time

import openeo
import requests

from jupyter_openeo_auth.devstack import DevStack, jupyter_service
from jupyter_openeo_auth.devstack.user import ProviderUser
from jupyter_openeo_auth.oidc import HttpClient, OidcClient, discover_backend, issuer_cache


def percentiles(samples):
    """(p50, p99) in milliseconds."""
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


def timed(fn, n: int):
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


def server_login(api: str, headers: dict, backend: str) -> None:
    login = requests.post(f"{api}/logins", json={"backend": backend}, headers=headers, timeout=10).json()
    ProviderUser("alice").approve(login["verification_uri_complete"], login["user_code"])
    while login["state"] == "pending":
        time.sleep(0.2)
        login = requests.get(f"{api}/logins/{login['id']}", headers=headers, timeout=10).json()
    assert login["state"] == "logged_in", login


def norotate_refresh_token(backend: str) -> str:
    """A refresh token of a client that does not rotate, so the reference can reuse it on every call."""
    provider = discover_backend(backend).provider()
    client = OidcClient(issuer_cache.get(provider.issuer, HttpClient()), "openeo-norotate", scopes=provider.scopes)
    auth = client.start_device_authorization()
    ProviderUser("alice").approve(auth.verification_uri_complete, auth.user_code)
    while True:
        time.sleep(auth.seconds_to_next_poll())
        tokens = auth.poll()
        if tokens:
            return tokens.refresh_token


def main(n: int = 200) -> dict:
    with DevStack(access_token_ttl=3600, device_interval=1) as stack, tempfile.TemporaryDirectory() as root:
        token = secrets.token_hex(16)
        server = jupyter_service(root, token, config={"OpenEOAuth": {"persist": "never"}}).start()
        try:
            api = f"{server.url}/openeo-auth/api"
            headers = {"Authorization": f"token {token}"}
            server_login(api, headers, stack.backend.url)
            http = requests.Session()
            body = {"backend": stack.backend.url, "min_valid": 60}

            def broker_token():
                resp = http.post(f"{api}/token", json=body, headers=headers, timeout=10)
                assert resp.status_code == 200

            refresh_token = norotate_refresh_token(stack.backend.url)

            def client_refresh():
                con = openeo.connect(stack.backend.url)
                con.authenticate_oidc_refresh_token(
                    refresh_token=refresh_token,
                    client_id="openeo-norotate",
                    provider_id="local",
                    store_refresh_token=False,
                )

            timed(broker_token, 20)  # warm-up
            timed(client_refresh, 3)
            ours = percentiles(timed(broker_token, n))
            reference = percentiles(timed(client_refresh, max(20, n // 4)))
        finally:
            server.cleanup()
    result = {
        "broker POST token p50 ms": round(ours[0], 2),
        "broker POST token p99 ms": round(ours[1], 2),
        "openeo authenticate_oidc_refresh_token p50 ms": round(reference[0], 2),
        "openeo authenticate_oidc_refresh_token p99 ms": round(reference[1], 2),
        "ratio p50 (reference / broker)": round(reference[0] / ours[0], 1),
        "ratio p99 (reference / broker)": round(reference[1] / ours[1], 1),
    }
    return result
