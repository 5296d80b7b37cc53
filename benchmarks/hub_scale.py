"""A hub of many users: zero-click logins, token hand-out through the openeo-tokens service, memory.

    python benchmarks/hub_scale.py [N ...]        # default: 10 30
    python benchmarks/run.py hub_scale            # 10 and 30 users (JOA_HUB_USERS="3" for a smoke run)

A real JupyterHub (GenericOAuthenticator at the test provider, configurable-http-proxy from tests/hub, the
openeo-tokens service; tests/hub/jupyterhub_config.py) logs in N generated users through its own OAuth flow,
spawns their single-user servers with the extension (local processes), then every user's server asks for a
token at once, several rounds. Reported, for each N: device logins per spawn (0 expected), the hand-out's
p50/p95 through the token service against the hub's own `GET /hub/api/user` measured in the same run, hub API
requests per handed-out token (from the hub's log), and the memory the extension adds to one single-user server
(the same server started with and without it).
"""

from __future__ import annotations

import os
import re
import secrets
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from jupyter_openeo_auth.devstack import backend_service, free_port, jupyter_service, provider_service
from jupyter_openeo_auth.devstack.user import ProviderUser

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from hubs import hub_service  # noqa: E402  (the test hub's config lives with the tests)

ROUNDS = 5


def _ms(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def extension_memory() -> int:
    """Resident memory (kB) the extension adds to one Jupyter server: the same server with and without it, each
    after start-up and one request to its API."""
    sizes = []
    for enabled in (True, False):
        with tempfile.TemporaryDirectory() as root:
            token = secrets.token_hex(16)
            config = {"ServerApp": {"jpserver_extensions": {"jupyter_openeo_auth": enabled}}}
            server = jupyter_service(root, token, config={**config, "OpenEOAuth": {"persist": "never"}}).start()
            try:
                requests.get(f"{server.url}/api/status", headers={"Authorization": f"token {token}"}, timeout=30)
                if enabled:
                    requests.get(
                        f"{server.url}/openeo-auth/api/sessions",
                        headers={"Authorization": f"token {token}"},
                        timeout=30,
                    )
                time.sleep(1)
                sizes.append(_rss_kb(server.pid or 0))
            finally:
                server.cleanup()
    return sizes[0] - sizes[1]


class Hub:
    """The provider, a back-end, and the hub with the token service, for `users` users."""

    def __init__(self, state: Path):
        self.port, secret = free_port(), secrets.token_hex(16)
        self.provider = provider_service(
            access_token_ttl=600,
            device_interval=1,
            GENERATED_USERS="1",
            HUB_CLIENT_SECRET=secret,
            HUB_REDIRECT_URI=f"http://127.0.0.1:{self.port}/hub/oauth_callback",
        ).start()
        self.backend = backend_service(self.provider.url).start()
        service_port = free_port()
        self.hub = hub_service(
            state,
            self.port,
            secrets.token_hex(16),
            "--JupyterHub.log_level=DEBUG",
            HUB_ISSUER=self.provider.url,
            HUB_CLIENT_SECRET=secret,
            JUPYTERHUB_CRYPT_KEY=secrets.token_hex(32),
            OPENEO_BACKEND=self.backend.url,
            HUB_TOKENS="service",
            HUB_TOKEN_SERVICE_PORT=str(service_port),
        )
        self.url = f"http://127.0.0.1:{self.port}"
        self.token_service = f"http://127.0.0.1:{service_port}/services/openeo-tokens/token"
        self.admin = self.hub.headers

    def close(self) -> None:
        self.hub.cleanup()
        self.backend.cleanup()
        self.provider.cleanup()

    def sign_in_and_spawn(self, user: str) -> dict:
        """The user logs in to the hub at the provider; the hub starts their server. Returns their token header."""
        ProviderUser(user, f"{user}-password").sign_in(f"{self.url}/hub/oauth_login")
        api = f"{self.url}/hub/api/users/{user}"
        requests.post(f"{api}/server", headers=self.admin, timeout=300)
        deadline = time.time() + 300
        while not requests.get(api, headers=self.admin, timeout=30).json().get("servers", {}).get("", {}).get("ready"):
            if time.time() > deadline:
                raise RuntimeError(f"{user}'s server did not start:\n{self.hub.log_tail(30)}")
            time.sleep(0.5)
        token = requests.post(f"{api}/tokens", json={"note": "benchmark"}, headers=self.admin, timeout=30).json()
        return {"Authorization": f"token {token['token']}"}

    def hub_api_requests(self) -> int:
        return len(re.findall(r" /hub/api/", self.hub.log_path.read_text(errors="replace")))


def timed_get(url: str, headers: dict) -> float:
    started = time.perf_counter()
    resp = requests.get(url, headers=headers, timeout=60)
    assert resp.status_code == 200, (url, resp.status_code, resp.text[:200])
    return time.perf_counter() - started


def run(users: int) -> dict:
    with tempfile.TemporaryDirectory() as state:
        hub = Hub(Path(state))
        try:
            names = [f"user{i}" for i in range(users)]
            started = time.perf_counter()
            with ThreadPoolExecutor(4) as pool:  # a few people at a time, as a class starting together does
                headers = list(pool.map(hub.sign_in_and_spawn, names))
            spawn_seconds = time.perf_counter() - started
            stats = requests.get(hub.provider.url + "/_test/stats", timeout=10).json()
            servers = [f"{hub.url}/user/{name}" for name in names]
            # Every server's first token: the hub's login serves it (flow "hub"), no device login.
            for server, header in zip(servers, headers, strict=True):
                answer = requests.post(
                    f"{server}/openeo-auth/api/token", json={"backend": hub.backend.url}, headers=header, timeout=60
                )
                assert answer.status_code == 200, answer.text[:300]
            before = hub.hub_api_requests()
            ours, reference = [], []
            with ThreadPoolExecutor(min(32, users)) as pool:
                for _ in range(ROUNDS):  # every user at once, through the token service; then the hub itself
                    ours += pool.map(lambda h: timed_get(hub.token_service, h), headers)
                    reference += pool.map(lambda h: timed_get(f"{hub.url}/hub/api/user", h), headers)
            handed = ROUNDS * users
            # Each reference request is one hub API request too: count only the service's.
            service_requests = hub.hub_api_requests() - before - len(reference)
            device = stats.get("device_authorization", 0)
        finally:
            hub.close()
    p50, p95, ref50, ref95 = _ms(ours, 0.5), _ms(ours, 0.95), _ms(reference, 0.5), _ms(reference, 0.95)
    return {
        f"N={users}: device logins per spawn": device / users,
        f"N={users}: seconds to log in and spawn all": round(spawn_seconds, 1),
        f"N={users}: hand-out p50 / p95 ms (token service)": f"{p50} / {p95}",
        f"N={users}: hub GET /hub/api/user p50 / p95 ms": f"{ref50} / {ref95}",
        f"N={users}: hand-out p50 relative to the hub's own": round(p50 / ref50, 2) if ref50 else None,
        f"N={users}: hub API requests per handed-out token": round(service_requests / handed, 2),
        f"N={users}: mean hand-out ms": round(1000 * statistics.mean(ours), 1),
    }


def main(sizes: list[int] | None = None) -> dict:
    sizes = sizes or [int(n) for n in os.environ.get("JOA_HUB_USERS", "10 30").split()]
    result: dict = {}
    for users in sizes:
        result.update(run(users))
    result["resident memory the extension adds to one server (kB)"] = extension_memory()
    return result


if __name__ == "__main__":
    for key, value in main([int(n) for n in sys.argv[1:]] or None).items():
        print(f"  {key:55s} {value}")
