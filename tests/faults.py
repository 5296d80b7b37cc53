"""A small real HTTP server on loopback for faults the real parts cannot produce: an HTML error page,
a malformed JSON body, an answer that never comes, a device login answer without an `interval`."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

#: path -> (status, content type, body)
PAGES = {
    "/html502": (502, "text/html", b"<html><body><h1>502 Bad Gateway</h1></body></html>"),
    "/maintenance": (200, "text/html", b"<html><body>Down for maintenance</body></html>"),
    "/badjson": (200, "application/json", b'{"providers": [,'),
    # RFC 8628 makes `interval` optional: the client must then poll every 5 s.
    "/device-no-interval": (200, "application/json", json.dumps({
        "device_code": "fault-device-code", "user_code": "FAUL-TCOD", "expires_in": 600,
        "verification_uri": "http://127.0.0.1:9/device",
    }).encode()),
}


class _Handler(BaseHTTPRequestHandler):
    def _answer(self):
        path = self.path.split("?")[0]
        self.server.hits[path] += 1
        if path.startswith("/hang"):
            time.sleep(self.server.hang_seconds)
            return
        for prefix, (status, ctype, body) in PAGES.items():
            if path.startswith(prefix):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
        self.send_error(404)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


class FaultServer:
    """Serves PAGES and /hang on 127.0.0.1 from a thread."""

    def __init__(self, hang_seconds: float = 5.0):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.hang_seconds = hang_seconds
        #: path -> number of requests, so tests can tell whether a client asked at all
        self.hits = self.httpd.hits = Counter()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
