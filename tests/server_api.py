"""The REST API as a test client sees it: `await api.post("logins", backend=...)` -> (status, json)."""

from __future__ import annotations

import asyncio
import json
import time

import openapi_check
from tornado.httpclient import HTTPClientError


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
