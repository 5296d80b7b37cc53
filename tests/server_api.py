"""The REST API as a test client sees it: `await api.post("logins", backend=...)` -> (status, json)."""

from __future__ import annotations

import asyncio
import json
import re
import time

import openapi_check
from tornado.httpclient import HTTPClientError

#: Every route of the REST API (method, path).
ROUTES = [
    ("GET", "providers"),
    ("GET", "settings"),
    ("GET", "logins"),
    ("POST", "logins"),
    ("GET", "logins/abc"),
    ("DELETE", "logins/abc"),
    ("GET", "sessions"),
    ("DELETE", "sessions"),
    ("POST", "token"),
    ("GET", "openapi.json"),
]


class Api:
    def __init__(self, jp_fetch):
        self.fetch = jp_fetch

    async def call(self, method: str, path: str, body=None, params=None, headers=None, raw_body=None):
        kwargs = {"method": method, "headers": headers or {}}
        if raw_body is not None:
            kwargs["body"] = raw_body
        elif body is not None:
            kwargs["body"] = json.dumps(body)
        elif method == "POST":
            kwargs["body"] = "{}"
        if params:
            kwargs["params"] = params
        try:
            resp = await self.fetch("openeo-auth", "api", *path.split("/"), **kwargs)
        except HTTPClientError as e:
            resp = e.response
        openapi_check.check(method, resp.effective_url, resp.code, resp.headers.get("Content-Type", ""), resp.body)
        text = resp.body.decode() if resp.body else ""
        try:
            data = json.loads(text) if text else None
        except ValueError:
            data = text
        return resp.code, data, resp.headers

    async def get(self, path, **params):
        code, data, _ = await self.call("GET", path, params=params or None)
        return code, data

    async def post(self, path, **body):
        code, data, _ = await self.call("POST", path, body=body)
        return code, data

    async def post_raw(self, path, text: str):
        """POST a body exactly as given (malformed-input tests)."""
        code, data, _ = await self.call("POST", path, raw_body=text)
        return code, data

    async def delete(self, path, **params):
        code, data, _ = await self.call("DELETE", path, params=params or None)
        return code, data

    async def wait_login(
        self, login_id: str, until=("logged_in", "denied", "expired", "failed", "cancelled"), timeout=30
    ):
        """Poll GET logins/ID until its state is one of `until`."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            code, data = await self.get(f"logins/{login_id}")
            assert code == 200, data
            if data["state"] in until:
                return data
            await asyncio.sleep(0.2)
        raise AssertionError(f"login {login_id} still {data['state']} after {timeout} s")

    async def login(self, backend: str, user, **body) -> dict:
        """A whole device login, the user approving in a thread like a person in another window."""
        code, data = await self.post("logins", backend=backend, **body)
        assert code in (200, 202), data
        if data["state"] == "pending":
            await asyncio.to_thread(user.approve, data["verification_uri_complete"], data["user_code"])
            data = await self.wait_login(data["id"])
        assert data["state"] == "logged_in", data
        return data

    async def password_login(self, backend: str, username: str, password: str) -> tuple[int, dict]:
        """A password-flow login with the test provider's password client."""
        body = {"flow": "password", "client_id": "openeo-password", "username": username, "password": password}
        return await self.post("logins", backend=backend, **body)


class Browser:
    """A browser logged in to JupyterLab (its login and _xsrf cookies), sending them with every request."""

    def __init__(self, serverapp, client, base_url):
        self.serverapp, self.client, self.base_url = serverapp, client, base_url
        self.cookies, self.xsrf = "", ""

    async def log_in(self) -> None:
        token = self.serverapp.identity_provider.token
        page = await self.client.fetch(f"{self.base_url}login", raise_error=False)
        self.xsrf = re.search(r"_xsrf=([^;]+)", page.headers.get("Set-Cookie", "")).group(1)
        resp = await self.client.fetch(
            f"{self.base_url}login",
            method="POST",
            body=f"password={token}&_xsrf={self.xsrf}",
            headers={"Cookie": f"_xsrf={self.xsrf}"},
            follow_redirects=False,
            raise_error=False,
        )
        self.cookies = "; ".join(c.split(";")[0] for c in resp.headers.get_list("Set-Cookie")) + f"; _xsrf={self.xsrf}"

    async def __call__(self, method: str, path: str, headers: dict | None = None, body: str | None = None):
        if not self.cookies:
            await self.log_in()
        if body is None and method == "POST":
            body = "{}"
        resp = await self.client.fetch(
            f"{self.base_url}openeo-auth/api/{path}",
            method=method,
            body=body,
            headers={"Cookie": self.cookies, **(headers or {})},
            raise_error=False,
            follow_redirects=False,
        )
        return resp.code, json.loads(resp.body or b"null")
