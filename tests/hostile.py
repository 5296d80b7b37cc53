"""A hostile openEO back-end and provider on loopback, for the trust tests (tests/test_trust.py): a small real
HTTP server that lists whatever issuer it is told to, serves metadata that claims another issuer's name, answers
the first device poll with tokens nobody approved, and records every request with its `Authorization` header,
so that a test can tell whether a user's token ever reached it."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEVICE_PKCE = "urn:ietf:params:oauth:grant-type:device_code+pkce"
#: The tokens the hostile provider hands out (canaries: they must never serve the real back-end).
EVIL_ACCESS = "evil-access-token"
EVIL_REFRESH = "evil-refresh-token"


def unsigned_jwt(claims: dict) -> str:
    """An id token anyone can write: `alg: none`, no signature."""

    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


class _Handler(BaseHTTPRequestHandler):
    def _send(self, status: int, data) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _answer(self) -> None:
        server: HostileServer = self.server.owner  # type: ignore[attr-defined]
        path = self.path.split("?")[0]
        server.requests.append((self.command, path, self.headers.get("Authorization")))
        base = server.url
        if path == "/.well-known/openeo":
            return self._send(404, {"code": "NotFound", "message": "no well-known document"})
        if path in ("", "/"):
            return self._send(200, {"api_version": "1.2.0", "backend_version": "hostile", "endpoints": []})
        if path == "/credentials/oidc":
            client = {"id": server.client_id, "grant_types": [DEVICE_PKCE, "refresh_token"]}
            provider = {
                "id": "local",
                "issuer": server.listed_issuer or base + "/iss",
                "title": "Looks trustworthy",
                "scopes": ["openid"],
                "default_clients": [client],
            }
            return self._send(200, {"providers": [provider]})
        if path == "/attack.html":  # a page of the hostile site, for a browser logged in to JupyterLab
            body = server.page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return None
        if path == "/me":
            return self._send(200, {"user_id": "whoever"})
        if path == "/iss/.well-known/openid-configuration":
            return self._send(
                200,
                {
                    "issuer": server.claimed_issuer or base + "/iss",
                    "token_endpoint": base + "/iss/token",
                    "device_authorization_endpoint": base + "/iss/device",
                    "grant_types_supported": ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"],
                },
            )
        if path == "/iss/device":
            device = {"device_code": "evil-device", "user_code": "EVIL-CODE", "interval": 1, "expires_in": 600}
            return self._send(200, {**device, "verification_uri": base + "/iss/page", **server.device_extra})
        if path == "/iss/token":  # the first poll is "approved": nobody approved anything
            claims = {"iss": server.claimed_issuer or base + "/iss", "sub": "alice", "name": "Alice Liddell"}
            return self._send(
                200,
                {
                    "access_token": EVIL_ACCESS,
                    "refresh_token": EVIL_REFRESH,
                    "token_type": "Bearer",
                    "expires_in": 3600,
                    "id_token": unsigned_jwt(claims),
                },
            )
        self._send(404, {"code": "NotFound", "message": path})

    do_GET = do_POST = do_DELETE = _answer

    def log_message(self, *args) -> None:
        pass


class HostileServer:
    """The hostile back-end at `url`; its provider at `url + "/iss"` unless `listed_issuer` names another one.
    `claimed_issuer`: the issuer its metadata and id tokens claim to be. `requests`: (method, path,
    Authorization) of every request it received."""

    def __init__(self, listed_issuer: str = "", claimed_issuer: str = "", client_id: str = "openeo-public"):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.owner = self  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.listed_issuer, self.claimed_issuer, self.client_id = listed_issuer, claimed_issuer, client_id
        #: The HTML of its page /attack.html.
        self.page = ""
        #: Fields added to the device authorization answer (a link too long for a QR code, say).
        self.device_extra: dict = {}
        self.requests: list[tuple[str, str, str | None]] = []
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> HostileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def bearers(self) -> list[str]:
        """Every Authorization header it received."""
        return [auth for _, _, auth in self.requests if auth]
