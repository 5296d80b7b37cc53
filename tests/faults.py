"""A small real HTTP server on loopback for faults the real parts cannot produce: an HTML error page,
a malformed JSON body, an answer that never comes or dribbles, one too large, a redirect on a token POST,
odd device answers, metadata only in RFC 8414 documents, a provider that hangs behind 100 back-ends, one that
is down behind `/be/deadprov`, and a proxy to the real provider's token endpoint that can delay or spoil its
answers."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEVICE_PKCE = "urn:ietf:params:oauth:grant-type:device_code+pkce"


def _json(data) -> tuple:
    return 200, "application/json", json.dumps(data).encode()


def device_answer(**fields) -> tuple:
    """A device authorization answer with these `interval` / `expires_in` values (None: left out)."""
    body = {
        "device_code": "fault-device-code",
        "user_code": "FAUL-TCOD",
        "verification_uri": "http://127.0.0.1:9/device",
    }
    body.update({k: v for k, v in fields.items() if v is not None})
    return _json(body)


def dynamic(server, path: str):
    """Answers that depend on the server's own URL: (status, content type, body), or None."""
    base = server.url
    if path == "/.well-known/openeo":
        return 404, "application/json", b'{"code": "NotFound"}'
    # 100+ back-ends ("/be/N") that all list the provider at /slowprov, whose token endpoint hangs.
    if path.startswith("/be/") and path.endswith("/credentials/oidc"):
        client = {"id": "fault-client", "grant_types": [DEVICE_PKCE, "refresh_token"]}
        issuer = base + ("/nodevice" if "nodevice" in path else "/slowprov")
        if "deadprov" in path:  # a provider that is down: nothing listens at its address
            issuer = "http://127.0.0.1:9/dead"
        return _json(
            {
                "providers": [
                    {"id": "slow", "issuer": issuer, "title": "Slow", "scopes": ["openid"], "default_clients": [client]}
                ]
            }
        )
    if path.startswith("/be/"):
        return _json({"api_version": "1.2.0", "backend_version": "fault", "endpoints": []})
    if path == "/slowprov/.well-known/openid-configuration":
        return _json(
            {
                "issuer": base + "/slowprov",
                "token_endpoint": base + "/hang-token",
                "device_authorization_endpoint": base + "/slowprov/device",
            }
        )
    if path == "/slowprov/device":
        return device_answer(interval=1, expires_in=600)
    if path == "/nodevice/.well-known/openid-configuration":
        return _json(
            {
                "issuer": base + "/nodevice",
                "token_endpoint": base + "/html502",
                "grant_types_supported": ["refresh_token", "client_credentials"],
            }
        )
    # Endpoints only in RFC 8414 metadata: inserted before the issuer's path (/split), or appended (/split2).
    if path in ("/split/.well-known/openid-configuration", "/split2/.well-known/openid-configuration"):
        return _json({"issuer": base + path.split("/.well")[0], "token_endpoint": base + "/html502"})
    if path in ("/.well-known/oauth-authorization-server/split", "/split2/.well-known/oauth-authorization-server"):
        return _json(
            {
                "issuer": base + ("/split2" if path.startswith("/split2") else "/split"),
                "token_endpoint": base + "/html502",
                "device_authorization_endpoint": base + "/device-no-interval",
                "revocation_endpoint": base + "/revoke-refuses",
            }
        )
    return None


#: path -> (status, content type, body)
PAGES = {
    "/html502": (502, "text/html", b"<html><body><h1>502 Bad Gateway</h1></body></html>"),
    "/maintenance": (200, "text/html", b"<html><body>Down for maintenance</body></html>"),
    "/badjson": (200, "application/json", b'{"providers": [,'),
    # RFC 8628 makes `interval` optional: the client must then poll every 5 s.
    "/device-no-interval": device_answer(expires_in=600),
    "/device-interval-zero": device_answer(interval=0, expires_in=600),
    "/device-interval-negative": device_answer(interval=-3, expires_in=600),
    "/device-interval-absurd": device_answer(interval=86400, expires_in=10**9),
    "/device-interval-text": device_answer(interval="soon", expires_in="later"),
    "/token-bad-expiry": _json({"access_token": "fault-access", "token_type": "Bearer", "expires_in": "soon"}),
    "/busy": (503, "text/html", b"<html>busy</html>"),
    "/rate-limited": (429, "application/json", b'{"error": "too_many_requests"}'),
    "/refuses-client": (401, "application/json", b'{"error": "invalid_client", "error_description": "unknown client"}'),
    "/revoke-refuses": (400, "application/json", b'{"error": "unsupported_token_type"}'),
    "/echo": _json({"echo": True}),
}


class _Handler(BaseHTTPRequestHandler):
    def _send(self, status, ctype, body, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _answer(self):
        path = self.path.split("?")[0]
        self.server.hits[path] += 1
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if path.startswith("/hang"):
            self.server.release.wait(self.server.hang_seconds)
            return
        if path in ("/busy", "/rate-limited"):
            return self._send(*PAGES[path], headers=[("Retry-After", "120")])
        if path == "/redirect":
            return self._send(307, "text/plain", b"", headers=[("Location", self.server.url + "/echo")])
        if path.rstrip("/") == "/huge":  # announced by Content-Length
            return self._send(200, "application/json", b'{"x": "' + b"a" * 2_000_000 + b'"}')
        if path.rstrip("/") == "/huge-chunked":  # no Content-Length: only counting the bytes finds out
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            for _ in range(300):
                self.wfile.write(b"a" * 10_000)
            return
        if path == "/dribble":  # headers at once, then one byte every half second: no read ever times out
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100")
            self.end_headers()
            for _ in range(100):
                if self.server.release.wait(0.5):
                    return
                self.wfile.write(b" ")
                self.wfile.flush()
            return
        if path == "/proxy-token":
            return self._proxy(body)
        answer = dynamic(self.server, path)
        if answer is None:
            answer = next((page for prefix, page in PAGES.items() if path.startswith(prefix)), None)
        if answer is None:
            return self.send_error(404)
        self._send(*answer)

    def _proxy(self, body: bytes):
        """Forward a token request to the real provider; delay its answer, or spoil `expires_in`, as the test asks."""
        server = self.server
        headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "authorization", "accept")}
        request = urllib.request.Request(server.proxy_target, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                status, answer = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, answer = e.code, e.read()
        time.sleep(server.proxy_delay)
        if server.spoil_expiry and status == 200:
            data = json.loads(answer)
            data["expires_in"] = "soon"
            answer = json.dumps(data).encode()
        self._send(status, "application/json", answer)

    def _answer_unless_gone(self):
        try:
            self._answer()
        except (BrokenPipeError, ConnectionResetError):  # the client gave up first, as it should
            pass

    do_GET = do_POST = _answer_unless_gone

    def log_message(self, *args):
        pass


class _Server(ThreadingHTTPServer):
    # socketserver listens with a backlog of 5: a hundred connections at once (the isolation test) then wait
    # for SYN retransmits (1 s, 3 s, ...) and, on a loaded machine, overrun the client's timeout.
    request_queue_size = 256
    daemon_threads = True


class FaultServer:
    """Serves PAGES and /hang on 127.0.0.1 from a thread."""

    def __init__(self, hang_seconds: float = 5.0):
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.hang_seconds = hang_seconds
        #: set at exit: hanging and dribbling answers end
        self.httpd.release = threading.Event()
        #: path -> number of requests, so tests can tell whether a client asked at all
        self.hits = self.httpd.hits = Counter()
        self.url = self.httpd.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        #: /proxy-token forwards here, after `proxy_delay` s, spoiling expires_in when `spoil_expiry`
        self.httpd.proxy_target, self.httpd.proxy_delay, self.httpd.spoil_expiry = "", 0.0, False
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def proxy(self, target: str, delay: float = 0.0, spoil_expiry: bool = False) -> str:
        """Set up /proxy-token to forward to `target`; returns its URL."""
        self.httpd.proxy_target, self.httpd.proxy_delay, self.httpd.spoil_expiry = target, delay, spoil_expiry
        return self.url + "/proxy-token"

    def __exit__(self, *exc):
        self.httpd.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
