"""The REST handlers served with no socket: a tornado `Application` of `server.handlers` with the settings
jupyter_server gives them (its identity provider, authorizer, cookie secret, XSRF), a stub broker, and requests
handed straight to the application through an in-memory HTTP connection. Every answer is checked against
openapi.json like a real server's. It counts towards the whole suite's coverage of the document only when the
stub broker was not asked (the handlers and jupyter_server answered alone): a stub can raise what the real
broker cannot."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import openapi_check
from jupyter_server.auth import AllowAllAuthorizer, IdentityProvider
from tornado.httputil import HTTPConnection, HTTPHeaders, HTTPServerRequest, RequestStartLine, ResponseStartLine
from tornado.web import Application

from jupyter_openeo_auth.server.handlers import handlers
from jupyter_openeo_auth.wire import API_PREFIX

TOKEN = "the-servers-token"
HOST = "localhost:8888"


class Recorder(HTTPConnection):
    """What the application writes, kept in memory."""

    def __init__(self) -> None:
        self.status = 0
        self.headers = HTTPHeaders()
        self.body = b""
        self.done = asyncio.get_running_loop().create_future()
        self.context = _Context()

    def set_close_callback(self, callback: Any) -> None:
        pass

    def write_headers(self, start_line: Any, headers: HTTPHeaders, chunk: bytes | None = None) -> asyncio.Future:
        assert isinstance(start_line, ResponseStartLine)
        self.status, self.headers = start_line.code, headers
        return self.write(chunk or b"")

    def write(self, chunk: bytes) -> asyncio.Future:
        self.body += chunk
        written = asyncio.get_running_loop().create_future()
        written.set_result(None)
        return written

    def finish(self) -> None:
        if not self.done.done():
            self.done.set_result(None)


class _Context:
    remote_ip = "127.0.0.1"
    protocol = "http"


@dataclass
class Answer:
    status: int
    headers: HTTPHeaders
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Served:
    """One server's handlers: `await served.ask("GET", "settings")`."""

    broker: Any  # with a `calls` list of what it was asked
    kernel_key: Any = None
    identity_provider: IdentityProvider = field(default_factory=lambda: IdentityProvider(token=TOKEN))
    base_url: str = "/"

    def __post_init__(self) -> None:
        self.app = Application(
            handlers(self.base_url),
            base_url=self.base_url,
            identity_provider=self.identity_provider,
            authorizer=AllowAllAuthorizer(),
            cookie_secret=b"c" * 32,
            xsrf_cookies=True,
            local_hostnames=["localhost"],
            openeo_auth_broker=self.broker,
            openeo_auth_kernel_key=self.kernel_key,
        )

    async def ask(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        body: Any = None,
        headers: dict | None = None,
        token: bool = True,
    ) -> Answer:
        """`path` under the API; `body` a JSON value, or bytes sent as they are; the server's token unless
        `token` is false or `headers` carry an Authorization of their own."""
        uri = f"{self.base_url}{API_PREFIX}/{path}" + (f"?{urlencode(params)}" if params else "")
        sent = HTTPHeaders({"Host": HOST, **(headers or {})})
        if token and "Authorization" not in sent:
            sent["Authorization"] = f"token {TOKEN}"
        data = body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
        recorder = Recorder()
        request = HTTPServerRequest(
            start_line=RequestStartLine(method, uri, "HTTP/1.1"), headers=sent, body=data, connection=recorder
        )
        calls = len(self.broker.calls)
        self.app(request)
        await recorder.done
        answer = Answer(recorder.status, recorder.headers, recorder.body)
        seen = set(openapi_check.SEEN)
        try:
            openapi_check.check(method, uri, answer.status, answer.headers.get("Content-Type", ""), answer.body)
        finally:
            if len(self.broker.calls) != calls:  # the stub had its say: not an answer the real server gives
                openapi_check.SEEN.intersection_update(seen)
        return answer
