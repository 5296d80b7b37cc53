"""A small real HTTP server in front of the test provider that limits logins the way a Keycloak realm does:
a refresh token lapses when unused for `idle` seconds, a login ends `max_life` seconds after it began however
often it is renewed, and every token answer says `refresh_expires_in` (what is left, capped by both). Everything
else is passed through; its discovery document names it as the issuer and its token endpoint."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from jupyter_openeo_auth.devstack import backend_service, free_port, provider_service


class _Server(ThreadingHTTPServer):
    request_queue_size = 64
    daemon_threads = True


class SessionLimits:
    def __init__(self, provider_url: str, idle: float, max_life: float):
        self.provider_url, self.idle, self.max_life = provider_url.rstrip("/"), idle, max_life
        #: refresh token -> (when its login began, when it was issued or last used), monotonic
        self.logins: dict[str, tuple[float, float]] = {}
        self.refreshes = 0  # refresh grants that reached the provider
        self.refused = 0  # refresh grants refused here (lapsed or ended)
        self.lock = threading.Lock()
        limits = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                limits._forward(self, b"")

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.split("?")[0] == "/token":
                    limits._token(self, body)
                else:
                    limits._forward(self, body)

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> SessionLimits:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _send(self, handler, status: int, body: bytes, ctype: str = "application/json") -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", ctype)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def _upstream(self, handler, body: bytes) -> tuple[int, bytes, str]:
        headers = {k: v for k, v in handler.headers.items() if k.lower() in ("authorization", "content-type", "accept")}
        request = urllib.request.Request(
            self.provider_url + handler.path, data=body or None, headers=headers, method=handler.command
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                return resp.status, resp.read(), resp.headers.get("Content-Type", "application/json")
        except urllib.error.HTTPError as e:
            return e.code, e.read(), e.headers.get("Content-Type", "application/json")

    def _forward(self, handler, body: bytes) -> None:
        status, answer, ctype = self._upstream(handler, body)
        if handler.path.startswith("/.well-known/") and status == 200:
            doc = json.loads(answer)
            doc["issuer"], doc["token_endpoint"] = self.url, self.url + "/token"
            answer = json.dumps(doc).encode()
        self._send(handler, status, answer, ctype)

    def _token(self, handler, body: bytes) -> None:
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        now = time.monotonic()
        began = now
        if form.get("grant_type") == "refresh_token":
            with self.lock:
                known = self.logins.get(form.get("refresh_token", ""))
            if known is not None:
                began, last = known
                if now - last > self.idle or now - began > self.max_life:
                    self.refused += 1
                    said = {"error": "invalid_grant", "error_description": "Session not active"}
                    return self._send(handler, 400, json.dumps(said).encode())
            self.refreshes += 1
        status, answer, ctype = self._upstream(handler, body)
        if status == 200:
            tokens = json.loads(answer)
            if tokens.get("refresh_token"):
                with self.lock:
                    self.logins[tokens["refresh_token"]] = (began, now)
                tokens["refresh_expires_in"] = int(min(self.idle, self.max_life - (now - began)))
            answer = json.dumps(tokens).encode()
        self._send(handler, status, answer, ctype)


@contextlib.contextmanager
def limited_backend(access: float, idle: float, max_life: float):
    """(back-end, limits): a test provider with `access` s tokens behind these limits, and a real back-end that
    trusts it; all stopped afterwards."""
    provider = provider_service(free_port(), access_token_ttl=access, device_interval=1).start()
    try:
        with SessionLimits(provider.url, idle=idle, max_life=max_life) as limits:
            backend = backend_service(limits.url, no_user_cache=True).start()
            try:
                yield backend, limits
            finally:
                backend.cleanup()
    finally:
        provider.cleanup()
