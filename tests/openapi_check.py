"""Every answer of the REST API the tests receive is checked against the served OpenAPI document: its status
is listed for that route and method, and its JSON matches the schema (answers are closed objects, so a new
field without a schema fails). `conftest.py` checks what `requests` receives; `server_api.Api` what
`jp_fetch` receives; `ServerSide` what a test's Jupyter server sends anyone (its kernels, the CLI, a browser).
`SEEN` is the suite's coverage of the document: a full run must answer every operation with every status it
documents (`uncovered`)."""

from __future__ import annotations

import contextlib
import json
import re
import threading
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from tornado.httputil import HTTPHeaders, HTTPServerRequest
from tornado.web import OutputTransform

from jupyter_openeo_auth.server.openapi import openapi_document
from jupyter_openeo_auth.wire import API_PREFIX

DOCUMENT = openapi_document()
REGISTRY = Registry().with_resource("urn:openapi", Resource.from_contents(DOCUMENT, default_specification=DRAFT202012))
MARK = f"/{API_PREFIX}/"
#: Every answer checked so far, as (method, path template, status): the suite's coverage of the document.
SEEN: set[tuple[str, str, str]] = set()


_skip = threading.local()


@contextlib.contextmanager
def unchecked():
    """For requests to a server whose extension did not load: there is no API there to check."""
    _skip.on = True
    try:
        yield
    finally:
        _skip.on = False


class OffContract(AssertionError):
    """An answer the OpenAPI document does not describe."""


def _template(path: str) -> str | None:
    for template in DOCUMENT["paths"]:
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template.replace(".", r"\.")) + "$"
        if re.match(pattern, path):
            return template
    return None


def check(method: str, url: str, status: int, content_type: str, body: bytes | str | None) -> None:
    """Raise `OffContract` unless the document describes this answer (other URLs are not checked)."""
    path = urlsplit(url).path
    if MARK not in path or getattr(_skip, "on", False):
        return
    route = "/" + API_PREFIX + "/" + path.split(MARK, 1)[1]
    template = _template(route)
    operation = DOCUMENT["paths"].get(template or "", {}).get(method.lower())
    if template is None or operation is None:
        # Not a documented operation: the answer must be a documented error (404 no route, 405 no method).
        if status not in (404, 405):
            raise OffContract(f"{method} {route} answered {status}, but openapi.json has no such operation.")
        _validate(route, status, content_type, body, {"$ref": "#/components/schemas/Error"})
        return
    SEEN.add((method.upper(), template, str(status)))
    described = operation["responses"].get(str(status))
    if described is None:
        raise OffContract(f"{method} {template} answered {status}, which openapi.json does not list for it.")
    schema = (described.get("content") or {}).get("application/json", {}).get("schema")
    if described.get("content"):
        _validate(route, status, content_type, body, schema)


def _validate(route: str, status: int, content_type: str, body, schema: dict | None) -> None:
    if not content_type.startswith("application/json"):
        raise OffContract(f"{route} answered {status} with {content_type or 'no content type'}, not JSON.")
    try:
        data = json.loads(body or b"")
    except ValueError:
        raise OffContract(f"{route} answered {status} with a body that is not JSON: {body[:200]!r}") from None
    if schema is None:
        return
    ref = schema.get("$ref", "")
    resolved = {"$ref": "urn:openapi" + ref} if ref.startswith("#") else schema
    errors = sorted(Draft202012Validator(resolved, registry=REGISTRY).iter_errors(data), key=str)
    if errors:
        raise OffContract(f"{route} answered {status} off its schema: {errors[0].message} (at {list(errors[0].path)})")


#: What `ServerSide` found off the document (it cannot raise inside the server): the test that ran fails.
VIOLATIONS: list[str] = []


class ServerSide(OutputTransform):
    """A tornado output transform for a test's Jupyter server: every answer of the REST API it sends, to
    whichever client (a kernel's `ServerClient`, the CLI, JupyterLab), is checked like the tests' own."""

    def __init__(self, request: HTTPServerRequest):
        self.method, self.url = request.method or "GET", request.uri or ""
        self.status, self.content_type, self.body = 0, "", b""

    def transform_first_chunk(
        self, status_code: int, headers: HTTPHeaders, chunk: bytes, finishing: bool
    ) -> tuple[int, HTTPHeaders, bytes]:
        self.status, self.content_type = status_code, headers.get("Content-Type", "")
        return status_code, headers, self.transform_chunk(chunk, finishing)

    def transform_chunk(self, chunk: bytes, finishing: bool) -> bytes:
        self.body += chunk
        if finishing:
            try:
                check(self.method, self.url, self.status, self.content_type, self.body)
            except OffContract as e:
                VIOLATIONS.append(str(e))
        return chunk


def documented() -> set[tuple[str, str, str]]:
    """Every (method, path template, status) the document lists."""
    return {
        (method.upper(), template, status)
        for template, operations in DOCUMENT["paths"].items()
        for method, operation in operations.items()
        if isinstance(operation, dict) and "responses" in operation
        for status in operation["responses"]
    }


def uncovered() -> list[str]:
    """What the document lists that no test received."""
    return [" ".join(answer) for answer in sorted(documented() - SEEN)]
