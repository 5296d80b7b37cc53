"""A scripted user at the local provider's pages: enters the user code, logs in, allows or denies.

It speaks plain HTTP with cookies, the way a browser submits the same forms; tests and benchmarks use it
in place of a person."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

import requests

from . import DEMO_USERS


class _Forms(HTMLParser):
    """Collects the forms of a page: action, id and the values of their inputs."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"id": a.get("id"), "action": a.get("action", ""), "fields": {}})
        elif tag == "input" and self.forms and a.get("name"):
            self.forms[-1]["fields"][a["name"]] = a.get("value") or ""


def _form(resp: requests.Response, action_part: str = "") -> dict:
    parser = _Forms()
    parser.feed(resp.text)
    for form in parser.forms:
        if action_part in form["action"]:
            form["action"] = urljoin(resp.url, form["action"])
            return form
    raise AssertionError(f"No form {action_part!r} on {resp.url} (HTTP {resp.status_code}):\n{resp.text[:500]}")


class ProviderUser:
    """One person with one browser (a cookie jar) at the local OpenID provider."""

    def __init__(self, login: str = "alice", password: str | None = None, timeout: float = 10.0):
        self.login = login
        self.password = password if password is not None else DEMO_USERS[login][0]
        self.http = requests.Session()
        self.timeout = timeout

    def _post(self, form: dict, **extra: Any) -> requests.Response:
        resp = self.http.post(form["action"], data={**form["fields"], **extra}, timeout=self.timeout)
        resp.raise_for_status()
        return resp

    def enter_code(self, verification_uri: str, user_code: str, *, abort: bool = False) -> requests.Response:
        """Open the device page, type the code and confirm (or abort) it; returns the next page."""
        page = self.http.get(verification_uri, timeout=self.timeout)
        page = self._post(_form(page), user_code=user_code)
        return self._post(_form(page), **({"abort": "yes"} if abort else {}))

    def approve(self, verification_uri: str, user_code: str) -> str:
        """Enter the code, log in and allow access; returns the final page's text."""
        page = self.enter_code(verification_uri, user_code)
        if "/login" in page.text:
            page = self._post(_form(page, "/login"), login=self.login, password=self.password)
        if "/confirm" in page.text:
            page = self._post(_form(page, "/confirm"))
        if "Signed in" not in page.text:
            raise AssertionError(f"Approval did not finish at {page.url}:\n{page.text[:500]}")
        return page.text

    def sign_in(self, start_url: str) -> requests.Response:
        """Log in to a web application whose login is this provider (a JupyterHub with OAuthenticator): open
        `start_url`, log in and allow access at the provider, and follow the redirects back; returns the last
        page, at the application."""
        page = self.http.get(start_url, timeout=self.timeout)
        if "/login" in page.text and "/interaction/" in page.url:
            page = self._post(_form(page, "/login"), login=self.login, password=self.password)
        if "/confirm" in page.text:
            page = self._post(_form(page, "/confirm"))
        return page

    def deny(self, verification_uri: str, user_code: str) -> str:
        """Enter the code, log in, then press Deny on the consent page; returns the final page's text."""
        page = self.enter_code(verification_uri, user_code)
        if "/login" in page.text:
            page = self._post(_form(page, "/login"), login=self.login, password=self.password)
        return self._post(_form(page, "/abort")).text
