"""HTTP for the OIDC core, with a synchronous and an asynchronous face.

The protocol code (discovery, grants) is written once, as generators that yield an `HttpRequest` and get
back `(status, body)`; `HttpClient.run()` drives one with blocking I/O (scripts, tests), `AsyncHttpClient.run()`
with non-blocking I/O on the event loop (the Jupyter server), where a hanging provider costs a socket, not
a thread. Both enforce the same bounds: a total deadline per request (not only per read), at most
`MAX_BODY` bytes per answer, no redirect followed on a POST (POSTs carry refresh tokens, secrets, passwords).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Generic, TypeVar, cast
from urllib.parse import urlsplit

import httpx

from ..errors import BadResponse, OpenEOAuthError, ProviderUnavailable, ServiceUnavailable

DEFAULT_TIMEOUT = 10.0
#: No answer from a back-end or provider needs more than this (discovery documents are a few kB).
MAX_BODY = 1_000_000
#: Concurrent requests per host from one async client: a hanging host fills its own lane only.
PER_HOST = 32
MAX_LANES = 1024

T = TypeVar("T")


def where(url: str) -> str:
    """The URL without query string: query strings may carry codes, and the path is what the user needs."""
    parts = urlsplit(str(url))
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


@dataclass(frozen=True, repr=False)
class HttpRequest:
    """One request of a protocol exchange. GET answers must be JSON objects; POSTs are OAuth form posts."""

    method: str
    url: str
    form: dict[str, str] | None = None
    auth: tuple[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    unavailable: type[ServiceUnavailable] = ProviderUnavailable

    def __repr__(self) -> str:  # never the form: it may hold a refresh token or a password
        return f"<HttpRequest {self.method} {where(self.url)}>"


#: A protocol exchange: yields requests, receives (status, JSON body), returns its result.
Exchange = Generator[HttpRequest, tuple[int, dict], T]


def get(
    url: str, headers: dict | None = None, unavailable: type[ServiceUnavailable] = ProviderUnavailable
) -> HttpRequest:
    """A GET of a JSON document."""
    return HttpRequest("GET", url, headers={"Accept": "application/json", **(headers or {})}, unavailable=unavailable)


def post_form(url: str, form: dict, auth: tuple[str, str] | None = None) -> HttpRequest:
    """A form POST to an OAuth endpoint."""
    return HttpRequest("POST", url, form=form, auth=auth, headers={"Accept": "application/json"})


def retry_after(headers: Any) -> float | None:
    """Seconds from a `Retry-After` header (delta or HTTP date), None when absent or unreadable."""
    value = headers.get("Retry-After") if headers is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class ResponseTooLarge(BadResponse):
    """An answer over MAX_BODY: a bad response like any other (its reason is BadResponse's)."""


def _too_large(url: str) -> ResponseTooLarge:
    return ResponseTooLarge(
        f"{where(url)} sent an answer larger than {MAX_BODY // 1_000_000} MB, which no openEO back-end or OpenID "
        "provider should send. Check the URL.",
        status=502,
    )


def _interpret(request: HttpRequest, resp: httpx.Response, content: bytes) -> tuple[int, dict]:
    """(status, body) of an answer, or the error that says what was wrong with it."""
    url, status = str(resp.url), resp.status_code
    try:
        data = json.loads(content) if content else None
    except ValueError:
        data = None
    body = data if isinstance(data, dict) else None
    kind = resp.headers.get("Content-Type", "no content type").split(";")[0]
    if request.method == "POST" and 300 <= status < 400:
        raise BadResponse(
            f"{where(request.url)} answered with a redirect (HTTP {status}); it is not followed, because this "
            "request carries credentials. Check the provider's endpoints.",
            status=status,
        )
    if status >= 500 or status in (408, 429):  # passing trouble, whatever the body says (a proxy's HTML page)
        error = request.unavailable(
            f"The {request.unavailable.service} at {where(url)} answered HTTP {status}; it may be busy or under "
            "maintenance. Try again later."
        )
        error.retry_after = retry_after(resp.headers)
        raise error
    if request.method == "POST":
        if body is None:
            if status < 300 and not content:
                return status, {}
            raise BadResponse(f"{where(url)} answered HTTP {status} with {kind} instead of JSON.", status=status)
        return status, body
    if body is None and status < 400 and kind == "text/html":
        raise BadResponse(
            f"{where(url)} answered with a web page, not the JSON of an openEO back-end or OpenID provider: "
            "it is not one (a JupyterLab or a portal, perhaps). Check the URL.",
            status=status,
        )
    if body is None:
        raise BadResponse(f"{where(url)} answered HTTP {status} with {kind} instead of JSON.", status=status)
    return status, body


def _unavailable(request: HttpRequest, error: Exception, timeout: float) -> OpenEOAuthError:
    url = where(request.url)
    if isinstance(error, (httpx.TimeoutException, asyncio.TimeoutError, TimeoutError)):
        return request.unavailable(f"{url} did not answer within {timeout:g} s. Try again later.")
    if isinstance(error, httpx.ConnectError):
        return request.unavailable(
            f"Cannot connect to {url}: the service is down or the address is wrong. "
            "Check the URL and your network, then try again."
        )
    return request.unavailable(f"Request to {url} failed ({type(error).__name__}). Try again later.")


def _not_a_url(request: HttpRequest) -> BadResponse:
    return BadResponse(
        f"{where(request.url)} is not a URL that can be requested; check the address it came from.", status=0
    )


def _options(request: HttpRequest) -> dict:
    return dict(data=request.form, auth=request.auth, headers=request.headers, follow_redirects=request.method == "GET")


def _announced_too_large(resp: httpx.Response) -> bool:
    length = resp.headers.get("Content-Length", "")
    return length.isdigit() and int(length) > MAX_BODY


class _Step(Generic[T]):
    """Where a protocol exchange stands: the request it waits on, or its result once it has ended."""

    def __init__(self, exchange: Exchange[T]):
        self.exchange, self.done = exchange, False
        self._result: T | None = None
        self._request: HttpRequest | None = None
        self._advance(lambda: next(exchange))

    @property
    def request(self) -> HttpRequest:
        """The request the exchange waits on (while it has not ended)."""
        assert self._request is not None, "the exchange has ended"
        return self._request

    @property
    def result(self) -> T:
        """What the exchange returned (once it has ended)."""
        return cast(T, self._result)

    def _advance(self, resume: Callable[[], HttpRequest]) -> None:
        try:
            self._request = resume()
        except StopIteration as stop:
            self.done, self._result = True, stop.value

    def reply(self, answer: tuple[int, dict]) -> None:
        """Give the exchange the answer to its request."""
        self._advance(lambda: self.exchange.send(answer))

    def fail(self, error: OpenEOAuthError) -> None:
        """Raise a request's error inside the exchange (it may handle it)."""
        self._advance(lambda: self.exchange.throw(error))


class HttpClient:
    """Blocking face: `run(exchange)` returns the exchange's result."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT):
        self.timeout = timeout
        self._client = httpx.Client(timeout=timeout)

    def __repr__(self) -> str:
        return f"HttpClient(timeout={self.timeout})"

    def send(self, request: HttpRequest) -> tuple[int, dict]:
        """One request, within `timeout` seconds in all (checked between reads)."""
        deadline = time.monotonic() + self.timeout
        try:
            with self._client.stream(request.method, request.url, **_options(request)) as resp:
                if _announced_too_large(resp):
                    raise _too_large(request.url)
                content = bytearray()
                for chunk in resp.iter_bytes():
                    content += chunk
                    if len(content) > MAX_BODY:
                        raise _too_large(request.url)
                    if time.monotonic() > deadline:
                        raise httpx.ReadTimeout("deadline")
        except httpx.InvalidURL:
            raise _not_a_url(request) from None
        except httpx.HTTPError as e:
            raise _unavailable(request, e, self.timeout) from None
        return _interpret(request, resp, bytes(content))

    def run(self, exchange: Exchange[T]) -> T:
        """Drive a protocol exchange to its end; errors of a request are raised inside the exchange."""
        step: _Step[T] = _Step(exchange)
        while not step.done:
            try:
                step.reply(self.send(step.request))
            except OpenEOAuthError as e:
                step.fail(e)
        return step.result


class AsyncHttpClient:
    """Non-blocking face for the event loop: `await run(exchange)`. Each request has a total deadline;
    each host gets at most `PER_HOST` concurrent requests, so one hanging provider cannot use up the
    connections everyone else needs."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT, transport: httpx.AsyncBaseTransport | None = None):
        self.timeout = timeout
        #: Where requests go: the network, or canned answers (`httpx.MockTransport`, the unit tests).
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._lanes: dict[str, asyncio.Semaphore] = {}
        self._users: dict[str, int] = {}  # requests per host, waiting or in flight

    def __repr__(self) -> str:
        return f"AsyncHttpClient(timeout={self.timeout})"

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:  # created on first use, inside the running loop
            limits = httpx.Limits(max_connections=None, max_keepalive_connections=64)
            self._client = httpx.AsyncClient(timeout=self.timeout, limits=limits, transport=self._transport)
        return self._client

    async def _exchange(self, request: HttpRequest) -> tuple[int, dict]:
        host = urlsplit(request.url).netloc
        if host not in self._lanes and len(self._lanes) >= MAX_LANES:  # forget the lanes nobody is in
            self._lanes = {h: lane for h, lane in self._lanes.items() if self._users.get(h)}
        lane = self._lanes.setdefault(host, asyncio.Semaphore(PER_HOST))
        self._users[host] = self._users.get(host, 0) + 1
        try:
            async with lane:
                return await self._read(request)
        finally:
            self._users[host] -= 1
            if not self._users[host]:
                del self._users[host]

    async def _read(self, request: HttpRequest) -> tuple[int, dict]:
        async with self._http().stream(request.method, request.url, **_options(request)) as resp:
            if _announced_too_large(resp):
                raise _too_large(request.url)
            content = bytearray()
            async for chunk in resp.aiter_bytes():
                content += chunk
                if len(content) > MAX_BODY:
                    raise _too_large(request.url)
        return _interpret(request, resp, bytes(content))

    async def send(self, request: HttpRequest) -> tuple[int, dict]:
        """One request, within `timeout` seconds in all, waiting for its host's lane included."""
        try:
            return await asyncio.wait_for(self._exchange(request), self.timeout)
        except httpx.InvalidURL:
            raise _not_a_url(request) from None
        except (httpx.HTTPError, asyncio.TimeoutError) as e:
            raise _unavailable(request, e, self.timeout) from None

    async def run(self, exchange: Exchange[T]) -> T:
        """Drive a protocol exchange to its end; errors of a request are raised inside the exchange."""
        step: _Step[T] = _Step(exchange)
        while not step.done:
            try:
                step.reply(await self.send(step.request))
            except OpenEOAuthError as e:
                step.fail(e)
        return step.result

    async def aclose(self) -> None:
        """Close the connections (server shutdown)."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None
